#!/usr/bin/env bash
# One run on a GPU machine, logs into LOGDIR:
#   probe  what CuPy there supports of what ember uses (tools/gpu_probe.py)
#   tests  the op, layer, optimizer and autocast tests on CUDA against PyTorch on CUDA
#   demo   the two demos with --device cuda
#   bench  the benchmark workloads on the GPU, float32 and bf16 autocast
# Usage: tools/gpu_check.sh LOGDIR [PART...]   (from the repository root; default: all parts;
# needs CuPy, PyTorch with CUDA, pytest and hypothesis importable by `python3`).
# TESTS="tests/ops/test_conv.py ..." narrows the tests; *_TIMEOUT variables bound each part.
# CuPy compiles each kernel once and caches it: a cache archive from an earlier run given as
# CUPY_CACHE_TGZ is unpacked first, and the cache is packed into LOGDIR/cupy_cache.tgz after.
set -u
out=${1:?usage: tools/gpu_check.sh LOGDIR [probe tests demo bench]}
shift
parts=${*:-probe tests demo bench}
mkdir -p "$out"
export PYTHONPATH=. PYTHONUNBUFFERED=1
export CUPY_CACHE_DIR=${CUPY_CACHE_DIR:-/tmp/cupy_cache}
mkdir -p "$CUPY_CACHE_DIR"
if [ -n "${CUPY_CACHE_TGZ:-}" ] && [ -f "$CUPY_CACHE_TGZ" ]; then
    tar xzf "$CUPY_CACHE_TGZ" -C "$CUPY_CACHE_DIR"
fi
py=python3
for part in $parts; do
    start=$(date +%s)
    case $part in
    probe)
        { nvidia-smi; timeout "${PROBE_TIMEOUT:-90}" $py tools/gpu_probe.py; } \
            > "$out/probe.txt" 2>&1 ;;
    tests)
        EMBER_TEST_DEVICE=cuda timeout "${TESTS_TIMEOUT:-300}" $py -m pytest \
            ${TESTS:-tests/ops tests/nn tests/optim tests/test_amp.py} \
            -n "${TEST_WORKERS:-8}" -p no:cacheprovider -o addopts='' -q --tb=short -rf \
            --maxfail=400 \
            > "$out/tests_cuda.txt" 2>&1 ;;
    demo)
        timeout "${DEMO_TIMEOUT:-120}" $py -m ember demo all --device cuda --out /tmp/runs \
            > "$out/demo_cuda.txt" 2>&1 ;;
    bench)
        { timeout "${BENCH_TIMEOUT:-200}" $py -m bench --device cuda \
              ${BENCH_ARGS:---steps 20 --repeats 2} --out "$out/bench"
          echo "bench exit $?"
          timeout "${BENCH_AMP_TIMEOUT:-90}" $py -m bench --device cuda --amp bf16 \
              ${BENCH_AMP_ARGS:---only W5,W9 --steps 20 --repeats 2} --out "$out/bench_bf16"
          echo "bench bf16 exit $?"
        } > "$out/bench_cuda.txt" 2>&1 ;;
    esac
    echo "== $part: exit $? in $(( $(date +%s) - start )) s" | tee -a "$out/summary.txt"
done
rm -f "$out"/bench*/bench.png   # at most 8 files come back from the GPU machine
tar czf "$out/cupy_cache.tgz" -C "$CUPY_CACHE_DIR" . 2>/dev/null
for f in probe.txt tests_cuda.txt demo_cuda.txt bench_cuda.txt; do
    [ -f "$out/$f" ] && { echo "---- $f"; tail -n 25 "$out/$f"; }
done
