#!/usr/bin/env bash
# One run on a GPU machine: the op and layer tables on CUDA against PyTorch on CUDA, then the
# demos on CUDA. Usage: tools/gpu_check.sh LOGDIR   (from the repository root; needs CuPy,
# PyTorch with CUDA, pytest and hypothesis importable by `python`).
set -u
out=${1:?usage: tools/gpu_check.sh LOGDIR}
mkdir -p "$out"
export PYTHONPATH=.
nvidia-smi > "$out/nvidia-smi.txt" 2>&1
python - > "$out/versions.txt" 2>&1 <<'PY'
import cupy, numpy, torch, ember
print('cupy', cupy.__version__, 'numpy', numpy.__version__, 'torch', torch.__version__)
print('ember.cuda.is_available()', ember.cuda.is_available(), ember.cuda.device_count())
PY
EMBER_TEST_DEVICE=cuda timeout 420 python -m pytest -q -x --maxfail=50 -p no:cacheprovider \
    -o addopts='' tests/ops tests/nn/test_functional.py > "$out/tests_cuda.txt" 2>&1
echo "tests exit $?" >> "$out/tests_cuda.txt"
timeout 120 python -m ember demo all --device cuda --out "$out/runs" > "$out/demo_cuda.txt" 2>&1
echo "demo exit $?" >> "$out/demo_cuda.txt"
tail -3 "$out/tests_cuda.txt" "$out/demo_cuda.txt"
