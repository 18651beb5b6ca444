"""rnnkit: recurrent neural networks as the lectures teach them.

Subpackages:
    rnnkit.nn         cells and layers (torch), equal to torch.nn and as fast for standard cells
    rnnkit.reference  the lectures' forward pass and hand-derived BPTT in NumPy
"""

__version__ = "0.1.0"
