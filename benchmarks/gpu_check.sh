#!/usr/bin/env bash
# The GPU checks of issue 17, in one run of under 10 minutes on one CUDA device:
#   1. parity on CUDA: rnnkit's layers on the GPU against torch.nn on the CPU, a run trained on
#      the GPU against the same run on the CPU (sampled and scored on either), fp16 / bf16
#      autocast with the scaler in the checkpoint (tests/training/test_cuda.py), Recurrent
#      stacks of standard cells flattened for cuDNN (tests/nn/test_flatten.py), the CRF tagger
#      layer decoding on the GPU (tests/nn/test_crf.py), and the CPU
#      layer parity tests as they are;
#   2. `rnnkit bench layers --device cuda`: the same table as on the CPU;
#   3. the quick preset's shape (2x256 LSTM, batch 32 x 100 steps) trained on CUDA for a fixed
#      number of steps: rnnkit's Trainer step against a raw torch.nn.LSTM step, tokens/s side
#      by side, in fp32, bf16 and fp16 (benchmarks/bench_charlm_throughput.py);
#   4. the cells without a fused kernel (issue 18): the LSTM route's compiled CPU loops built
#      against this machine's torch and tested against the readable loop, then the custom
#      cells' training step on CUDA (Python route; mingru's scan) against torch.nn's.
# Without CUDA it says so and exits 0. Run from anywhere:
#   bash benchmarks/gpu_check.sh            (PYTHON=... picks the interpreter; default python3)
#   SECTIONS="1 4" bash benchmarks/gpu_check.sh   runs only those sections
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"

if ! "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "gpu_check: skipped: no CUDA device here (torch.cuda.is_available() is False)"
    exit 0
fi
"$PYTHON" -c 'import torch; print("gpu_check:", torch.cuda.get_device_name(0), "| torch",
    torch.__version__, "| CUDA", torch.version.cuda, "| bf16:", torch.cuda.is_bf16_supported())'

SECTIONS="${SECTIONS:-1 2 3 4}"
wanted() { [[ " $SECTIONS " == *" $1 "* ]]; }

if wanted 1; then
echo "== 1. parity on CUDA"
timeout 240 "$PYTHON" -m pytest -q -x -p no:cacheprovider tests/training/test_cuda.py \
    tests/nn/test_layers_parity.py tests/nn/test_flatten.py tests/nn/test_crf.py

fi
if wanted 2; then
echo "== 2. rnnkit bench layers --device cuda"
timeout 120 "$PYTHON" -m rnnkit bench layers --device cuda --repeats 5

fi
if wanted 3; then
echo "== 3. quick preset on CUDA: rnnkit's step against a raw torch.nn.LSTM step"
timeout 180 "$PYTHON" benchmarks/bench_charlm_throughput.py --device cuda --batch-size 32 \
    --rounds 3 --steps 20 --precisions fp32,bf16,fp16
fi
if wanted 4; then
echo "== 4. cells without a fused kernel: compiled CPU loops, then CUDA training steps"
timeout 240 "$PYTHON" -m pytest -q -x -p no:cacheprovider -n 0 tests/nn/test_native.py \
    tests/nn/test_lstm_bptt.py
timeout 180 "$PYTHON" -m rnnkit bench layers --device cuda --cells peephole,lnlstm,mingru \
    --shape 100,32,64,256,1 --shape 512,32,64,256,1 --shape 2048,8,64,256,1 --repeats 5
fi
echo "gpu_check: done"
