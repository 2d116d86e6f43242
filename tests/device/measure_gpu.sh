#!/usr/bin/env bash
# The GPU measurements, as one prepared script for a GPU machine (the device tool's H200:
# Python 3.12 with torch, no Snakemake, no network), within 8 minutes including the install
# of Snakemake from the wheels in .whl/ (make wheels). Every result is written under $OUT
# the moment it is measured, in at most 6 files:
#   summary.txt         every step's outcome, the machine, the DAGs' wall times and rates
#   bench.txt/.json     python -m bnopt.bench: fp32/tf32/bf16 ms/step at width 1 and batch
#                       128, MFU, probe overhead at the paper's cadence, evaluation time, peak
#                       memory, the probes' noise floor (the JSON rewritten after each row)
#   dag.json            per DAG: exit status, wall time, jobs finished, each run's steps/s
#   dag-1.tar.gz, dag-4.tar.gz   the DAGs' logs and benchmarks
# The DAGs are the paper's config (synthetic data of CIFAR-10's size) with $DAG_STEPS steps
# per run, one training job per GPU and then four sharing it (train.runs_per_gpu 4); the
# summary extrapolates each to 15,000 steps from the measured rates.
# Nothing can hang: each step runs under `timeout -k` (SIGKILL 15 s after SIGTERM).
# `--cpu` rehearses the same steps at a tiny scale on the CPU (tests/device/test_measure_gpu.py).
# Usage: OUT=/some/folder bash tests/device/measure_gpu.sh [--cpu]
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:?set OUT to the folder for the results}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
CPU=0
[[ ${1:-} == --cpu ]] && CPU=1
SUMMARY=$OUT/summary.txt
log() { echo "== measure_gpu: $*" | tee -a "$SUMMARY"; }
log "started $(date -u +%FT%TZ) on $(hostname); cpu rehearsal $CPU"

# Snakemake from the carried wheels when this Python cannot import it.
if ! "$PY" -c "import snakemake" 2>/dev/null; then
    SITE=$(mktemp -d)
    if ! ls .whl/*.whl >/dev/null 2>&1; then
        log "no Snakemake here and no wheels in .whl/: run make wheels where pip works"; exit 1
    fi
    t0=$(date +%s)
    timeout -k 15 120 "$PY" -m pip install -q --no-index --no-deps --no-compile \
        --no-cache-dir --upgrade --target "$SITE" .whl/*.whl >>"$SUMMARY" 2>&1 \
        || { log "installing the wheels failed"; exit 1; }
    export PYTHONPATH=$SITE
    log "installed $(ls .whl/*.whl | wc -l) wheels into $SITE in $(( $(date +%s) - t0 )) s"
fi
export PYTHONPATH=$PWD/workflow/scripts:${PYTHONPATH:-} PYTHONUNBUFFERED=1
"$PY" - <<'PYEOF' 2>&1 | tee -a "$SUMMARY"
import platform, snakemake, torch
gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
print(f"python {platform.python_version()}; torch {torch.__version__}; {gpu}; "
      f"snakemake {snakemake.__version__} from {snakemake.__file__}")
PYEOF
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv 2>/dev/null >>"$SUMMARY"

if [[ $CPU == 1 ]]; then  # the demo's sizes, one seed, the paper's experiments: the script, not speed
    BENCH=(--device cpu --widths 0.125 --norms none batch --steps 10 --repeats 1)
    BENCH_LIMIT=240 DAG_1_LIMIT=300 DAG_4_LIMIT=300 DAG_STEPS=20 CORES=2 BASE=config/demo.yaml
    OVERRIDE='{"experiments": {"landscape": {"normalizations": ["none", "batch"], "lrs": [0.1]},
                               "dln": {"model": "dln", "normalizations": ["none", "batch"],
                                       "lrs": [1e-6]}},
               "train": {"seeds": [0]}, "models": {"dln": {"seeds": [0]}}}'
else
    BENCH=(--device cuda --precisions fp32 tf32 bf16 --widths 1 --norms none batch --repeats 2)
    BENCH_LIMIT=150 DAG_1_LIMIT=150 DAG_4_LIMIT=100 DAG_STEPS=100 CORES=16 BASE=config/config.yaml
    OVERRIDE='{"data": {"dataset": "synthetic",
                        "synthetic": {"n_train": 50000, "n_test": 10000, "seed": 0}}}'
fi

t0=$(date +%s)
timeout -k 15 "$BENCH_LIMIT" "$PY" -m bnopt.bench "${BENCH[@]}" --json "$OUT/bench.json" \
    >"$OUT/bench.txt" 2>&1
log "bench: exit $? after $(( $(date +%s) - t0 )) s (limit $BENCH_LIMIT s); $(grep -c '"precision"' "$OUT/bench.json" 2>/dev/null || echo 0) rows in bench.json"

run_dag() {  # name, training jobs per GPU, time limit in s
    local name=$1 share=$2 limit=$3 dir t0 rc
    dir=$(mktemp -d)
    cp -r Snakefile config workflow profiles environment.yml "$dir"/
    "$PY" - "$BASE" "$OVERRIDE" "$DAG_STEPS" "$share" "$dir/run.yaml" <<'PYEOF'
import json, sys, yaml
from bnopt.config import merge_into, merged_files
base, override, steps, share, out = sys.argv[1:]
config = merged_files(["config/config.yaml", base])  # as --configfile $BASE: demo.yaml is a diff
for section, values in json.loads(override).items():
    if section == "experiments":
        config[section] = values
    else:
        merge_into(config.setdefault(section, {}), values)
steps = int(steps)
config["train"].update(steps=steps, eval_every=steps, checkpoint_every=0, runs_per_gpu=int(share))
config["train"]["device"] = "cpu" if config["train"]["device"] == "cpu" else "cuda"
config["models"]["dln"]["steps"] = steps
yaml.safe_dump(config, open(out, "w"), sort_keys=False)
PYEOF
    t0=$(date +%s)
    # run.yaml is the whole config: it replaces config/config.yaml instead of being merged
    # over it, or experiments it leaves out (resnet_landscape) would come back from that file.
    (cd "$dir" && PYTHONPATH="$dir/workflow/scripts:${PYTHONPATH#*:}" timeout -k 15 "$limit" \
        "$PY" -m snakemake --cores "$CORES" --resources gpu="$share" --configfile run.yaml \
        --replace-workflow-config >"$dir/snakemake.log" 2>&1)
    rc=$?
    "$PY" - "$dir" "$name" "$rc" "$(( $(date +%s) - t0 ))" "$DAG_STEPS" "$OUT/dag.json" <<'PYEOF' | tee -a "$SUMMARY"
import json, sys
from pathlib import Path
folder, name, rc, wall, steps, out = sys.argv[1:]
folder = Path(folder)
runs = {}
for meta in sorted(folder.glob("results/runs/*/meta.json")):
    m = json.loads(meta.read_text())
    runs[meta.parent.name] = {"steps_per_second": m.get("steps_per_second"),
                              "wall_time_s": m.get("wall_time_s"), "device": m.get("device")}
log = (folder / "snakemake.log").read_text(errors="replace")
result = {"dag": name, "exit": int(rc), "wall_s": int(wall), "steps_per_run": int(steps),
          "jobs_finished": log.count("Finished jobid"), "runs": runs}
image = [r["steps_per_second"] for n, r in runs.items() if not n.startswith("dln_") and r["steps_per_second"]]
if image:
    # one job at a time per GPU share: the training time of the paper's 15,000 steps per run
    hours = sum(15000 / rate for rate in image) / 3600
    result["image_runs_15000_steps_gpu_hours_sequential"] = round(hours, 2)
done = json.loads(Path(out).read_text()) if Path(out).exists() else []
Path(out).write_text(json.dumps([*done, result], indent=2))
print(f"{name}: exit {rc}, wall {wall} s, {result['jobs_finished']} jobs finished, "
      f"{len(runs)} runs; image runs' steps/s {sorted(round(r, 1) for r in image)}"
      + (f"; 15,000 steps each, one after another: {result['image_runs_15000_steps_gpu_hours_sequential']} h" if image else ""))
PYEOF
    tar -czf "$OUT/$name.tar.gz" -C "$dir" snakemake.log logs benchmarks 2>/dev/null
    log "$name: exit $rc (limit $limit s)"
}
run_dag dag-1 1 "$DAG_1_LIMIT"
run_dag dag-4 4 "$DAG_4_LIMIT"
log "finished $(date -u +%FT%TZ)"
