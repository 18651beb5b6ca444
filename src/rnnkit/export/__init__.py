"""Trained runs as files other programs run: ONNX (for ONNX Runtime) and torch.export
(``.pt2``), with the recurrent state as explicit inputs and outputs (``rnnkit export``).
"""
