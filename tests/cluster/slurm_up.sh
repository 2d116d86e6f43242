#!/usr/bin/env bash
# Start a throw-away single-node SLURM cluster on this machine, for the
# cluster integration test (tests/cluster/run_cluster_test.sh).
#
#   sudo bash tests/cluster/slurm_up.sh      # root is required
#   bash tests/cluster/slurm_down.sh         # stops everything again
#
# What it does:
#   * installs SLURM 22.05 (+ munge) from Debian's packages if missing, and,
#     with accounting on (the default), slurmdbd + MariaDB so that `sacct`
#     works as on a real cluster; the SLURM executor plugin checks job status
#     with `sacct` whenever that command exists;
#   * writes /etc/slurm/slurm.conf, gres.conf (stand-in GPUs: /dev/null, /dev/zero)
#     and slurmdbd.conf; an existing slurm.conf not written by this script is
#     never overwritten;
#   * starts munged, mariadbd + slurmdbd, slurmctld (with a cleared job state)
#     and slurmd, then waits until the node is idle.
#
# Environment:
#   SLURM_TEST_ACCOUNTING=1   0: no slurmdbd/MariaDB; `sacct` then fails, so
#                             the workflow must be run with
#                             --slurm-status-command squeue
#   SLURM_TEST_WAIT=30        seconds to wait for each daemon / the idle node
#   SLURM_TEST_GPUS=2         stand-in GPUs on the node (2: two training jobs
#                             at a time, one per core of a 2-core machine)
#   SLURM_TEST_MIN_CPUS=4xGPUS  the node advertises max(nproc, this) CPUs and
#   SLURM_TEST_MIN_MEM_MB=16000xGPUS+4000  max(available memory, this) MB, so the
#                             profile's train request (4 CPUs per GPU,
#                             16000 MB) schedules on a small machine; nothing
#                             is enforced (task/none), so this is harmless.
set -euo pipefail

ACCOUNTING=${SLURM_TEST_ACCOUNTING:-1}
WAIT=${SLURM_TEST_WAIT:-30}
GPUS=${SLURM_TEST_GPUS:-2}
MIN_CPUS=${SLURM_TEST_MIN_CPUS:-$((4 * GPUS))}
MIN_MEM=${SLURM_TEST_MIN_MEM_MB:-$((16000 * GPUS + 4000))}
CLUSTER=snaketest
MARKER="# Written by tests/cluster/slurm_up.sh (throw-away test cluster)."
DB_PASS=slurm-test-only   # MariaDB listens on its unix socket only
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

log() { echo "slurm_up: $*"; }
die() {
    echo "slurm_up: ERROR: $*" >&2
    for f in /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log \
        /var/log/slurm/slurmdbd.log /var/log/slurm/mariadb.log; do
        [[ -s $f ]] && { echo "--- last lines of $f" >&2; tail -n 15 "$f" >&2; }
    done
    exit 1
}

# wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND every 0.5 s
wait_for() {
    local secs=$1 what=$2 i
    shift 2
    for ((i = 0; i < secs * 2; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.5
    done
    die "$what not ready after ${secs} s"
}

pid_alive() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

[[ $(id -u) -eq 0 ]] || die "must run as root (it installs packages and starts daemons)"

# --- 1. packages --------------------------------------------------------------
pkgs=(slurmctld slurmd slurm-client munge)
bins=(/usr/sbin/slurmctld /usr/sbin/slurmd /usr/bin/sinfo /usr/sbin/munged)
if [[ $ACCOUNTING == 1 ]]; then
    pkgs+=(slurmdbd mariadb-server)
    bins+=(/usr/sbin/slurmdbd /usr/sbin/mariadbd)
fi
missing=0
for b in "${bins[@]}"; do [[ -x $b ]] || missing=1; done
if [[ $missing == 1 ]]; then
    log "installing ${pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # `apt-get update` only when the package lists do not know the packages
    if ! apt-cache show "${pkgs[@]}" >/dev/null 2>&1; then
        apt-get update -qq || die "apt-get update failed"
    fi
    apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null ||
        die "apt-get install ${pkgs[*]} failed"
fi

# --- 2. host name -> 127.0.0.1 ------------------------------------------------
NODE=$(hostname -s)
if ! getent ahostsv4 "$NODE" | awk '{print $1}' | grep -qx 127.0.0.1; then
    if getent hosts "$NODE" >/dev/null; then
        log "note: $NODE resolves to $(getent hosts "$NODE" | awk '{print $1; exit}'), not 127.0.0.1; the node address is set to 127.0.0.1 explicitly"
    else
        log "adding '127.0.0.1 $NODE' to /etc/hosts"
        echo "127.0.0.1 $NODE" >>/etc/hosts
    fi
fi

# --- 3. configuration ---------------------------------------------------------
if [[ -e /etc/slurm/slurm.conf ]] && ! grep -qF "$MARKER" /etc/slurm/slurm.conf; then
    die "/etc/slurm/slurm.conf exists and was not written by this script; refusing to replace a real SLURM configuration"
fi
if pid_alive /run/slurmctld.pid || pid_alive /run/slurmd.pid || pid_alive /run/munge/munged.pid ||
    pid_alive /run/slurmdbd.pid || pid_alive /run/mysqld/mysqld.pid; then
    log "daemons from an earlier start are running: stopping them first"
    bash "$HERE/slurm_down.sh"
fi

CPUS=$(nproc)
((CPUS < MIN_CPUS)) && CPUS=$MIN_CPUS
MEM=$(awk '/^MemAvailable:/ {printf "%d", $2 / 1024 * 0.9}' /proc/meminfo)
((MEM < MIN_MEM)) && MEM=$MIN_MEM

install -d -o slurm -g slurm /var/log/slurm /var/lib/slurm/slurmctld /var/lib/slurm/slurmd
install -d /etc/slurm

if [[ $ACCOUNTING == 1 ]]; then
    ACCT_CONF="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStorageTRES=gres/gpu
AccountingStoreFlags=job_comment"
else
    ACCT_CONF="AccountingStorageType=accounting_storage/none"
fi

cat >/etc/slurm/slurm.conf <<EOF
$MARKER
# Single node '$NODE' with $GPUS stand-in GPUs (gres.conf: /dev/null, /dev/zero, ...).
ClusterName=$CLUSTER
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
$ACCT_CONF
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# A job without --mem gets 1000 MB per CPU, not the whole node.
DefMemPerCPU=1000
GresTypes=gpu
# Keep finished jobs visible to squeue/scontrol for 5 minutes.
MinJobAge=300
ReturnToService=2
# The node may advertise more CPUs/memory than the machine has (see header).
SlurmdParameters=config_overrides
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM Gres=gpu:$GPUS State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF

# Each stand-in GPU needs a device file of its own; harmless character devices serve.
STAND_INS=(/dev/null /dev/zero /dev/full /dev/urandom)
((GPUS >= 1 && GPUS <= ${#STAND_INS[@]})) || { log "SLURM_TEST_GPUS must be 1..${#STAND_INS[@]}"; exit 1; }
{
    echo "$MARKER"
    echo "AutoDetect=off"
    for ((i = 0; i < GPUS; i++)); do
        echo "NodeName=$NODE Name=gpu File=${STAND_INS[i]}"
    done
} >/etc/slurm/gres.conf

# --- 4. munge -----------------------------------------------------------------
if [[ ! -s /etc/munge/munge.key ]]; then
    log "creating the munge key"
    runuser -u munge -- /usr/sbin/mungekey --create
fi
install -d -o munge -g munge -m 0755 /run/munge
runuser -u munge -- /usr/sbin/munged || die "munged did not start"
wait_for "$WAIT" munged bash -c 'munge -n | unmunge'

# --- 5. accounting: MariaDB + slurmdbd -------------------------------------------
if [[ $ACCOUNTING == 1 ]]; then
    install -d -o mysql -g mysql /run/mysqld
    if [[ ! -d /var/lib/mysql/mysql ]]; then
        log "initialising the MariaDB data directory"
        mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null ||
            die "mariadb-install-db failed"
    fi
    # mariadbd does not daemonize itself: detach it; it writes its own pid file.
    setsid /usr/sbin/mariadbd --user=mysql --skip-networking \
        --socket=/run/mysqld/mysqld.sock --pid-file=/run/mysqld/mysqld.pid \
        </dev/null >>/var/log/slurm/mariadb.log 2>&1 &
    wait_for "$WAIT" MariaDB mariadb-admin --socket=/run/mysqld/mysqld.sock ping
    mariadb --socket=/run/mysqld/mysqld.sock <<EOF || die "could not create the slurm database user"
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
EOF
    install -m 0600 -o slurm -g slurm /dev/null /etc/slurm/slurmdbd.conf
    cat >/etc/slurm/slurmdbd.conf <<EOF
$MARKER
AuthType=auth/munge
DbdHost=localhost
SlurmUser=slurm
PidFile=/run/slurmdbd.pid
LogFile=/var/log/slurm/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db
EOF
    /usr/sbin/slurmdbd || die "slurmdbd did not start"
    wait_for "$WAIT" slurmdbd sacctmgr -n list cluster
    if ! sacctmgr -n -P list cluster format=cluster | grep -qx "$CLUSTER"; then
        sacctmgr -i add cluster "$CLUSTER" >/dev/null || die "sacctmgr add cluster failed"
    fi
fi

# --- 6. slurmctld + slurmd ----------------------------------------------------
# -c: start with an empty job state, so that jobs left over from an
# interrupted earlier run are not resumed.
/usr/sbin/slurmctld -c || die "slurmctld did not start"
/usr/sbin/slurmd || die "slurmd did not start"

node_idle() { [[ $(sinfo -h -n "$NODE" -o %T 2>/dev/null) == idle ]]; }
wait_for "$WAIT" "node $NODE (idle in sinfo)" node_idle
log "SLURM is up: node $NODE idle, $CPUS CPUs, ${MEM} MB, $GPUS stand-in GPU(s), partition debug," \
    "accounting $([[ $ACCOUNTING == 1 ]] && echo 'on (sacct works)' || echo 'off (use squeue)')"
