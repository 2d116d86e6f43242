#!/usr/bin/env bash
# Stop the throw-away SLURM cluster started by tests/cluster/slurm_up.sh.
# Daemons are stopped through their pid files (never by process name), one
# after the other, each waited for; safe to call twice or when nothing runs.
# SLURM_TEST_WAIT (default 30) bounds the wait per daemon before SIGKILL.
set -uo pipefail

WAIT=${SLURM_TEST_WAIT:-30}
status=0

log() { echo "slurm_down: $*"; }

# stop PIDFILE EXPECTED_COMM: SIGTERM the pid in PIDFILE if it is alive and
# really is EXPECTED_COMM (guards against a stale file and a reused pid), wait
# for it to exit, SIGKILL after $WAIT s.
stop() {
    local pidfile=$1 comm=$2 pid i
    [[ -s $pidfile ]] || return 0
    pid=$(<"$pidfile")
    if [[ ! $pid =~ ^[0-9]+$ ]] || ! kill -0 "$pid" 2>/dev/null; then
        rm -f "$pidfile"
        return 0
    fi
    if [[ $(cat "/proc/$pid/comm" 2>/dev/null) != "$comm" ]]; then
        log "$pidfile names pid $pid, which is not $comm: left alone"
        rm -f "$pidfile"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < WAIT * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "$comm (pid $pid) still running after ${WAIT} s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null
        sleep 0.5
        kill -0 "$pid" 2>/dev/null && { log "$comm (pid $pid) survived SIGKILL"; status=1; }
    fi
    rm -f "$pidfile"
    log "stopped $comm (pid $pid)"
}

# Cancel what is still queued or running on the test cluster (an interrupted
# test), by job id, so that no job step outlives slurmd.
if [[ -s /run/slurmctld.pid ]] && kill -0 "$(<"/run/slurmctld.pid")" 2>/dev/null; then
    jobs=$(squeue -h -o %A 2>/dev/null | tr '\n' ' ')
    if [[ -n ${jobs// /} ]]; then
        log "cancelling jobs still in the queue: $jobs"
        # shellcheck disable=SC2086
        scancel $jobs 2>/dev/null
        for ((i = 0; i < 20; i++)); do
            [[ -z $(squeue -h -t running,completing -o %A 2>/dev/null) ]] && break
            sleep 0.5
        done
    fi
fi

stop /run/slurmd.pid slurmd
stop /run/slurmctld.pid slurmctld
stop /run/slurmdbd.pid slurmdbd
stop /run/mysqld/mysqld.pid mariadbd
stop /run/munge/munged.pid munged
exit $status
