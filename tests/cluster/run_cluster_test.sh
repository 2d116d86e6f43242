#!/usr/bin/env bash
# Integration test of cluster execution: runs the demo workflow through
# profiles/slurm and the SLURM executor plugin on a throw-away single-node
# SLURM (one stand-in GPU) started on this machine. Needs root and Debian 12.
#
#   sudo bash tests/cluster/run_cluster_test.sh [WORKFLOW_DIR]
#
# WORKFLOW_DIR (default: the repository root) is copied to a scratch folder
# (without .venv, .git, .snakemake, results, resources, logs, benchmarks) and
# run there with
#
#   SNAKEMAKE_SLURM_PARTITION=debug timeout -k 10 -s INT 1500 \
#     $REPO/.venv/bin/snakemake --workflow-profile $REPO/profiles/slurm \
#     --configfile config/demo.yaml --slurm-init-seconds-before-status-checks 5
#
# Checks: the run succeeds; every expected output exists; every job of rule
# `train` went through SLURM asking for one GPU (read back from SLURM's
# accounting: sacct ReqTRES contains gres/gpu=1), as many as Snakemake ran;
# a second run (tests/cluster/failing/Snakefile, one job that exits 1) exits
# non-zero and SLURM records its job FAILED. Ends with a PASS/FAIL line.
# SLURM is always stopped at the end (also on failure or Ctrl-C).
#
# Environment (all optional):
#   EXPECTED_OUTPUTS  space-separated paths/globs relative to the workflow
#                     (default: the report, fig{1..7}_*.png and dln_*.png)
#   TRAIN_RULE=train  rule whose jobs must request a GPU
#   CPU_JOBS=^rule_train_dln_  SLURM comment (regex) of the jobs that must
#                     not request a GPU: the deep linear network's (empty: no check)
#   CONFIGFILE=config/demo.yaml   RUN_TIMEOUT=1500   FAIL_TIMEOUT=150
#   FAIL_RETRIES=0    --retries for the failing run; empty: the profile's (2),
#                     3 failing SLURM jobs, 84-127 s instead of ~48 s
#   SNAKEMAKE, PROFILE  default: the repository's .venv/bin/snakemake, profiles/slurm
#   SLURM_TEST_ACCOUNTING=1  0: no slurmdbd/MariaDB; job status via squeue and
#                     the SLURM records via `scontrol show job` (kept 300 s only)
#   KEEP_SCRATCH=1    keep the scratch folder (it is always kept on FAIL)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
WORKFLOW_DIR=$(cd "${1:-$REPO}" && pwd)
SNAKEMAKE=${SNAKEMAKE:-$REPO/.venv/bin/snakemake}
PROFILE=${PROFILE:-$REPO/profiles/slurm}
CONFIGFILE=${CONFIGFILE:-config/demo.yaml}
EXPECTED_OUTPUTS=${EXPECTED_OUTPUTS:-results/report.html $(printf 'results/figures/fig%d_*.png ' 1 2 3 4 5 6 7)results/figures/dln_*.png}
TRAIN_RULE=${TRAIN_RULE:-train}
CPU_JOBS=${CPU_JOBS-^rule_train_dln_}
FAIL_RULE=fail_in_slurm
# 208 s on a 2-core AVX-512 machine (2026-12-01); an AVX2-only one is about 2.5x slower.
RUN_TIMEOUT=${RUN_TIMEOUT:-1500}
FAIL_TIMEOUT=${FAIL_TIMEOUT:-150}
FAIL_RETRIES=${FAIL_RETRIES-0}
export SLURM_TEST_ACCOUNTING=${SLURM_TEST_ACCOUNTING:-1}

# What a site sets: the partition (read by the profile), and how often to poll
# job status (the plugin's default first poll after 40 s, growing by 10 s per
# poll, would add minutes of idle waiting to the chain of short demo jobs).
export SNAKEMAKE_SLURM_PARTITION=debug
SITE_ARGS=(--slurm-init-seconds-before-status-checks 5)
if [[ $SLURM_TEST_ACCOUNTING != 1 ]]; then
    # without accounting `sacct` fails: status from squeue (MinJobAge=300)
    SITE_ARGS+=(--slurm-status-command squeue)
fi

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/cluster-test.XXXXXX")
failures=()
T0=$SECONDS

say() { echo "== cluster test: $*"; }
fail() {
    failures+=("$1")
    echo "== cluster test: CHECK FAILED: $1" >&2
}

RUN_PID=
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $RUN_PID ]] && kill -0 "$RUN_PID" 2>/dev/null; then
        # interrupted while Snakemake runs: SIGINT makes it cancel its SLURM
        # jobs (it ignores SIGTERM); `timeout -k 10` SIGKILLs it 10 s later
        say "interrupting Snakemake (pid $RUN_PID)"
        kill -INT "$RUN_PID" 2>/dev/null || true
        wait "$RUN_PID" 2>/dev/null || true
    fi
    say "stopping SLURM"
    bash "$HERE/slurm_down.sh" || true
    if [[ $rc -eq 0 && ${KEEP_SCRATCH:-0} != 1 ]]; then
        rm -rf "$SCRATCH"
    else
        say "scratch folder kept: $SCRATCH"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'echo "== cluster test: interrupted" >&2; exit 130' INT TERM

[[ -x $SNAKEMAKE ]] || { echo "no snakemake at $SNAKEMAKE (set SNAKEMAKE)" >&2; exit 2; }
[[ -f $PROFILE/config.yaml ]] || { echo "no profile at $PROFILE" >&2; exit 2; }

# slurm_jobs FILE: one line per SLURM job since the cluster started,
# "jobid|comment|requested TRES|state". The plugin names each job after the
# run's uuid and puts "rule_<rule>[_wildcards_<values>]" in its comment.
slurm_jobs() {
    if [[ $SLURM_TEST_ACCOUNTING == 1 ]]; then
        sacct -X -n -P -S "$SLURM_START" -E now \
            -o JobIDRaw,Comment%200,ReqTRES%200,State >"$1"
    else
        scontrol show job -o 2>/dev/null | awk '{
            id = ""; c = ""; t = ""; s = ""
            for (i = 1; i <= NF; i++) {
                if ($i ~ /^JobId=/) id = substr($i, 7)
                else if ($i ~ /^Comment=/) c = substr($i, 9)
                else if ($i ~ /^TRES=/) t = substr($i, 6) t
                else if ($i ~ /^JobState=/) s = substr($i, 10)
                else if ($i ~ /^TresPer(Job|Node|Task|Socket)=gres:/) {
                    # --gpus=1 shows as TresPerJob=gres:gpu:1 -> gres/gpu=1
                    v = substr($i, index($i, "=") + 1)
                    sub(/^gres:/, "gres/", v)
                    if (match(v, /:[0-9]+$/)) v = substr(v, 1, RSTART - 1) "=" substr(v, RSTART + 1)
                    t = t "," v
                }
            }
            print id "|" c "|" t "|" s
        }' >"$1"
    fi
}

# run_snakemake LOG TIMEOUT ARGS...: run from the current folder, output to
# LOG and (indented) to the terminal; sets $run_rc. Run in the background and
# waited for, so that an INT/TERM trap fires at once (see cleanup).
run_snakemake() {
    local log=$1 limit=$2 tail_pid
    shift 2
    local cmd=(timeout -k 10 -s INT "$limit" "$SNAKEMAKE" "$@")
    say "running in $PWD:"
    echo "   SNAKEMAKE_SLURM_PARTITION=$SNAKEMAKE_SLURM_PARTITION ${cmd[*]}"
    : >"$log"
    "${cmd[@]}" >"$log" 2>&1 </dev/null &
    RUN_PID=$!
    tail -n +1 -s 0.5 -f --pid="$RUN_PID" "$log" | sed -u 's/^/   | /' &
    tail_pid=$!
    run_rc=0
    wait "$RUN_PID" || run_rc=$?
    RUN_PID=
    wait "$tail_pid" || true
}

# --- SLURM ------------------------------------------------------------------
say "starting SLURM (accounting: $SLURM_TEST_ACCOUNTING)"
t=$SECONDS
bash "$HERE/slurm_up.sh"
SLURM_START=$(date +%Y-%m-%dT%H:%M:%S)
say "SLURM up in $((SECONDS - t)) s"

# --- 1. the workflow ----------------------------------------------------------
mkdir -p "$SCRATCH/wf" "$SCRATCH/failing"
# the demo makes its own (synthetic) data: start from an empty resources/
tar -C "$WORKFLOW_DIR" --exclude=./.venv --exclude=./.git --exclude=./.snakemake \
    --exclude=./results --exclude=./resources --exclude=./logs --exclude=./benchmarks \
    --exclude=./.pytest_cache --exclude=./.ruff_cache --exclude=__pycache__ \
    -cf - . | tar -C "$SCRATCH/wf" -xf -
cd "$SCRATCH/wf"
# The copy imports its own package (the venv's editable install is the repository's).
export PYTHONPATH="$SCRATCH/wf/workflow/scripts${PYTHONPATH:+:$PYTHONPATH}"
t=$SECONDS
run_snakemake "$SCRATCH/run.log" "$RUN_TIMEOUT" \
    --workflow-profile "$PROFILE" --configfile "$CONFIGFILE" "${SITE_ARGS[@]}"
RUN_S=$((SECONDS - t))
say "workflow run: exit $run_rc after $RUN_S s"
if [[ $run_rc -ne 0 ]]; then
    fail "the workflow run exited $run_rc$([[ $run_rc -eq 124 ]] && echo " (timed out after $RUN_TIMEOUT s)")"
    # the plugin keeps the SLURM logs of failed jobs only
    find .snakemake/slurm_logs -name '*.log' 2>/dev/null | while read -r f; do
        echo "--- $f"
        tail -n 20 "$f"
    done
fi

missing=()
for pattern in $EXPECTED_OUTPUTS; do
    found=0
    for f in $pattern; do [[ -s $f ]] && found=1; done
    [[ $found == 1 ]] || missing+=("$pattern")
done
if ((${#missing[@]})); then
    fail "expected outputs missing or empty: ${missing[*]}"
else
    say "all expected outputs exist: $EXPECTED_OUTPUTS"
fi

slurm_jobs "$SCRATCH/jobs.txt"
say "SLURM jobs of the run (jobid|comment|requested TRES|state):"
sed 's/^/   /' "$SCRATCH/jobs.txt"
train_re="^rule_${TRAIN_RULE}(_wildcards_.*)?$"
# the GPU jobs of the train rule: all but the CPU ones (the deep linear network's)
gpu_jobs() { awk -F'|' -v re="$train_re" -v cpu="${CPU_JOBS:-^$}" '$2 ~ re && $2 !~ cpu' "$SCRATCH/jobs.txt"; }
n_train=$(gpu_jobs | wc -l)
n_train_gpu=$(gpu_jobs | awk -F'|' '$3 ~ /(^|,)gres\/gpu=1(,|$)/' | wc -l)
n_train_ok=$(awk -F'|' -v re="$train_re" '$2 ~ re && $4 == "COMPLETED"' "$SCRATCH/jobs.txt" | wc -l)
# how many train jobs Snakemake planned: its "Job stats" table
n_planned=$(awk -v r="$TRAIN_RULE" '$1 == r && $2 ~ /^[0-9]+$/ {print $2; exit}' "$SCRATCH/run.log")
say "train jobs: planned by Snakemake ${n_planned:-?}, in SLURM $n_train, asking gres/gpu=1 $n_train_gpu, COMPLETED $n_train_ok"
if ((n_train == 0)); then
    fail "no SLURM job of rule '$TRAIN_RULE' found"
elif ((n_train_gpu != n_train)); then
    fail "$((n_train - n_train_gpu)) of $n_train '$TRAIN_RULE' jobs did not request gres/gpu=1"
fi
if [[ -n $n_planned && $n_train_ok -ne $n_planned ]]; then
    fail "Snakemake planned $n_planned '$TRAIN_RULE' jobs but SLURM completed $n_train_ok"
fi
if [[ -n $CPU_JOBS ]]; then
    n_cpu=$(awk -F'|' -v re="$CPU_JOBS" '$2 ~ re' "$SCRATCH/jobs.txt" | wc -l)
    n_cpu_gpu=$(awk -F'|' -v re="$CPU_JOBS" '$2 ~ re && $3 ~ /gres\/gpu/' "$SCRATCH/jobs.txt" | wc -l)
    say "CPU-only jobs ($CPU_JOBS): in SLURM $n_cpu, asking for a GPU $n_cpu_gpu"
    if ((n_cpu == 0)); then
        fail "no SLURM job matching '$CPU_JOBS' found"
    elif ((n_cpu_gpu > 0)); then
        fail "$n_cpu_gpu of $n_cpu CPU-only jobs ('$CPU_JOBS') requested a GPU"
    fi
fi

# --- 2. a run whose job fails inside SLURM ----------------------------------
# 1 + retries SLURM jobs, all FAILED. By default without retries: the plugin
# polls less and less often (+10 s per poll) until a job succeeds, so the
# profile's 2 retries take 84-127 s here instead of ~48 s (FAIL_RETRIES= to
# use them anyway).
FAIL_S=0
FAIL_ARGS=()
if [[ -n $FAIL_RETRIES ]]; then
    FAIL_ARGS=(--retries "$FAIL_RETRIES")
    retries=$FAIL_RETRIES
else
    retries=$(awk '$1 == "retries:" {print $2; exit}' "$PROFILE/config.yaml")
fi
if [[ $run_rc -eq 124 || $run_rc -eq 137 ]]; then
    say "skipping the failing run: the workflow run was stopped (timeout or interrupt)"
else
    cd "$SCRATCH/failing"
    t=$SECONDS
    run_snakemake "$SCRATCH/failing.log" "$FAIL_TIMEOUT" \
        --snakefile "$HERE/failing/Snakefile" --workflow-profile "$PROFILE" "${SITE_ARGS[@]}" \
        "${FAIL_ARGS[@]}"
    FAIL_S=$((SECONDS - t))
    say "failing run: exit $run_rc after $FAIL_S s"
    if [[ $run_rc -eq 0 ]]; then
        fail "the failing workflow exited 0"
    elif [[ $run_rc -eq 124 || $run_rc -eq 137 ]]; then
        fail "the failing workflow did not finish within $FAIL_TIMEOUT s"
    fi
    slurm_jobs "$SCRATCH/jobs.txt"
    n_failed=$(awk -F'|' -v c="rule_$FAIL_RULE" '$2 == c && $4 == "FAILED"' "$SCRATCH/jobs.txt" | wc -l)
    n_fail_jobs=$(awk -F'|' -v c="rule_$FAIL_RULE" '$2 == c' "$SCRATCH/jobs.txt" | wc -l)
    say "failing rule: $n_fail_jobs SLURM job(s), $n_failed recorded FAILED (retries: ${retries:-?})"
    if ((n_failed == 0)); then
        fail "SLURM recorded no FAILED job of rule '$FAIL_RULE'"
    elif [[ $retries =~ ^[0-9]+$ ]] && ((n_failed != retries + 1)); then
        fail "expected 1 + $retries FAILED SLURM jobs of rule '$FAIL_RULE' (retries), found $n_failed"
    fi
fi

# --- summary -----------------------------------------------------------------
TOTAL_S=$((SECONDS - T0))
if ((${#failures[@]} == 0)); then
    say "PASS: workflow ${RUN_S} s, failing run ${FAIL_S} s, ${n_train} '$TRAIN_RULE' job(s) with --gpus=1, total ${TOTAL_S} s"
    exit 0
fi
say "FAIL (${#failures[@]} check(s), total ${TOTAL_S} s):"
printf '   - %s\n' "${failures[@]}"
exit 1
