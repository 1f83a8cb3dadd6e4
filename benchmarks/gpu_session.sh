#!/usr/bin/env bash
# One prepared GPU session (the device tool's H100/H200): the `gpu` test suite, then every
# benchmark at the GPU sizes of ../shared/docs/benchmarks.md, results under $OUT.
#
# Prepare here (both folders are git-ignored and travel with `carry`):
#   pip download thinc==8.3.14 blis murmurhash cymem preshed wasabi srsly catalogue confection \
#       pydantic pydantic-core annotated-types typing-inspection hypothesis sortedcontainers attrs \
#       --python-version 3.12 --only-binary=:all: --no-deps -d .whl
#   mkdir -p .ewt && cp ../shared/data/ud-english-ewt/*.conllu .ewt/    # read there, never committed
# Run:  device run  carry=[".whl", ".ewt"]  command="bash benchmarks/gpu_session.sh"  timeout_s=580
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu_out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TORCHLAYERS_EWT="$PWD/.ewt"
python -m pip install -q --no-index --find-links .whl --no-deps .whl/*.whl 2>&1 | tail -2
python -m pip install -q --no-deps --no-build-isolation -e . 2>&1 | tail -2
nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$OUT/gpu.txt"
python -c "import torch, triton, thinc; print(torch.__version__, triton.__version__, thinc.__version__)" | tee -a "$OUT/gpu.txt"

# 1. correctness on the GPU (kernels vs references, dtypes, determinism, int32 overflow)
timeout 200 python -m pytest -q -p no:cacheprovider -m "gpu and not slow" tests/kernels 2>&1 | tee "$OUT/gpu_tests.log" | tail -5

# 2. kernels vs thinc CupyOps, torch-native and torch.compile(naive), fp32 and bf16
timeout 90 python -m benchmarks.bench_hash_embed --sizes train,infer,big,acc,stress --out "$OUT/hash_embed_cuda.json" 2>&1 | tail -12
timeout 60 python -m benchmarks.bench_sparse_linear --sizes train,infer,big,stress --out "$OUT/sparse_linear_cuda.json" 2>&1 | tail -8
timeout 60 python -m benchmarks.bench_ragged_reduce --sizes train,infer,big,stress,skew --out "$OUT/ragged_reduce_cuda.json" 2>&1 | tail -12

# 3. end to end: the tagger's words/s vs thinc CupyOps (eager, compile, bf16, CUDA graphs)
timeout 120 python -m benchmarks.bench_tagger --sizes 1000 16000 128000 --steps 5 --warmup 3 \
    --impls thinc tl-eager tl-compile tl-compile-bf16 tl-compile-cudagraphs 2>&1 | grep -v "it/s" | tail -20
cp benchmarks/results/tagger_cuda.json "$OUT/" 2>/dev/null
ls -la "$OUT"
