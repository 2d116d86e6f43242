#!/usr/bin/env bash
# The GPU measurements of issue 15, as one prepared script for a GPU machine (the device
# tool's H200: Python with torch there, Snakemake carried as wheels in .whl/), within about
# 8 minutes; everything it measures is written under $OUT:
#   bench.txt/.json  python -m bnopt.bench: fp32/tf32/bf16 step time at width 1 and batch 128,
#                    MFU, probe overhead at cadence 100 with the default probes (and with
#                    curvature), evaluation time, peak memory, the probes' noise floor
#   dag-1.txt        the paper config's whole DAG through Snakemake on synthetic data of
#                    CIFAR-10 size, one training job at a time on the GPU (wall time)
#   dag-4.txt        the same DAG with four training jobs sharing the GPU
#                    (train.runs_per_gpu=4, --resources gpu=4)
# `--cpu` runs the same steps at a tiny scale on the CPU, to check the script itself.
# Usage: OUT=/some/folder bash tests/device/measure_gpu.sh [--cpu]
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:?set OUT to the folder for the results}
mkdir -p "$OUT"
CPU=0
[[ ${1:-} == --cpu ]] && CPU=1
if [[ -d .whl ]] && ! python3 -c "import snakemake" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD/workflow/scripts:${PYTHONPATH:-} PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
SNAKEMAKE=("$PY" -m snakemake)
log() { echo "== measure_gpu: $*" | tee -a "$OUT/summary.txt"; }
log "started $(date -u +%FT%TZ) on $(hostname); cpu mode $CPU"
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')" | tee -a "$OUT/summary.txt"
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv 2>/dev/null | tee -a "$OUT/summary.txt"

if [[ $CPU == 1 ]]; then
    BENCH=(--device cpu --widths 0.125 --norms none batch --steps 20 --repeats 1)
    BASE=config/demo.yaml
    OVERRIDE='{"train": {"steps": 30, "eval_every": 30}, "dln": {"steps": 30}}'
    CORES=2
else
    BENCH=(--device cuda --precisions fp32 tf32 bf16 --widths 1 --norms none batch)
    BASE=config/config.yaml
    OVERRIDE='{"data": {"dataset": "synthetic", "synthetic": {"n_train": 50000, "n_test": 10000, "seed": 0}}, "train": {"device": "cuda"}}'
    CORES=16
fi

started=$(date +%s)
timeout 200 "$PY" -m bnopt.bench "${BENCH[@]}" --json "$OUT/bench.json" 2>&1 | tee "$OUT/bench.txt"
log "bench: exit ${PIPESTATUS[0]} after $(( $(date +%s) - started )) s"

run_dag() {  # name, runs per GPU, time limit in s
    local name=$1 share=$2 limit=$3 dir
    dir=$(mktemp -d)
    cp -r Snakefile config workflow profiles environment.yml "$dir"/
    # the run's config: BASE with OVERRIDE and train.runs_per_gpu merged in, as one file
    "$PY" - "$BASE" "$OVERRIDE" "$share" "$dir/run.yaml" <<'PYEOF'
import json, sys, yaml
base, override, share, out = sys.argv[1:]
config = yaml.safe_load(open(base))
for section, values in json.loads(override).items():
    config.setdefault(section, {}).update(values)
config["train"]["runs_per_gpu"] = int(share)
yaml.safe_dump(config, open(out, "w"), sort_keys=False)
PYEOF
    local t0
    t0=$(date +%s)
    # the copy imports its own package, as the Snakefile requires
    (cd "$dir" && PYTHONPATH="$dir/workflow/scripts:${PYTHONPATH#*:}" timeout "$limit" "${SNAKEMAKE[@]}" --cores "$CORES" --resources gpu="$share" \
        --configfile run.yaml >"$OUT/$name.log" 2>&1)
    local rc=$?
    local wall=$(( $(date +%s) - t0 ))
    local done_jobs
    done_jobs=$(grep -c "Finished jobid" "$OUT/$name.log")
    grep -h "steps/s" "$dir"/logs/train/*.log 2>/dev/null | tail -n 40 >"$OUT/$name-progress.txt"
    cp "$dir"/benchmarks/train/*.tsv "$OUT/" 2>/dev/null
    echo "exit $rc, wall $wall s, jobs finished $done_jobs" | tee "$OUT/$name.txt"
    log "$name: exit $rc after $wall s ($done_jobs jobs finished; limit $limit s)"
}
# Both DAGs share the time left; each reports how far it got if it runs out.
if [[ $CPU == 1 ]]; then
    run_dag dag-1 1 300
    run_dag dag-2 2 300
else
    run_dag dag-1 1 150
    run_dag dag-4 4 150
fi
log "finished $(date -u +%FT%TZ)"
