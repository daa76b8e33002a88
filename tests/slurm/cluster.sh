#!/usr/bin/env bash
# A real single-node Slurm for the tests: Debian's slurmctld + slurmd + munge, with fake GPUs.
#
#   tests/slurm/cluster.sh start   install (if missing) and start the cluster
#   tests/slurm/cluster.sh stop    stop exactly the daemons that `start` started, remove its config
#
# State and logs live in $XTINYUNET_SLURM_DIR (default /tmp/xtinyunet-slurm). The config goes to
# /etc/slurm/, where every Slurm command finds it (the executor plugin clears SLURM_* variables
# inside jobs, SLURM_CONF included); `start` refuses to overwrite a config it did not write, and
# creates a munge key only when the machine has none. The node advertises more CPUs,
# memory and GPUs than the machine has (config_overrides), so the profile's real-cluster requests
# fit; the GPUs are character devices standing in for /dev/nvidia*, which is how Slurm accepts
# GPU GRES on a machine without one.
set -euo pipefail

STATE=${XTINYUNET_SLURM_DIR:-/tmp/xtinyunet-slurm}
CONF_DIR=/etc/slurm
MARK="# written by xtinyunet tests/slurm/cluster.sh"
HOST=$(hostname -s)
PACKAGES=(slurmctld slurmd slurm-client munge)

install_packages() {
    command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null \
        && command -v munged >/dev/null && return
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
}

write_config() {
    mkdir -p "$STATE"/{ctld,spool,fakegpu}
    local devices=(/dev/null /dev/zero /dev/full /dev/urandom)
    for i in 0 1 2 3; do ln -sfn "${devices[$i]}" "$STATE/fakegpu/gpu$i"; done
    if [[ -e $CONF_DIR/slurm.conf ]] && ! grep -qxF "$MARK" "$CONF_DIR/slurm.conf"; then
        echo "$CONF_DIR/slurm.conf exists and is not ours: refusing to replace it" >&2
        exit 1
    fi
    mkdir -p "$CONF_DIR"
    cat >"$CONF_DIR/slurm.conf" <<CONF
$MARK
ClusterName=xtinyunet-test
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/jobcomp.log
DefMemPerCPU=1024
MinJobAge=600
ReturnToService=2
GresTypes=gpu
SlurmdParameters=config_overrides
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=32 RealMemory=256000 Gres=gpu:4 State=UNKNOWN
PartitionName=gpu Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
    printf '%s\nNodeName=%s Name=gpu File=%s/fakegpu/gpu[0-3]\n' "$MARK" "$HOST" "$STATE" \
        >"$CONF_DIR/gres.conf"
}

munge_answers() {
    munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1
}

start_munge() {
    if munge_answers; then return; fi
    if [[ ! -s /etc/munge/munge.key ]]; then
        mkdir -p /etc/munge
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
        chown munge:munge /etc/munge/munge.key
        chmod 400 /etc/munge/munge.key
    fi
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    runuser -u munge -- munged --force
    for _ in $(seq 20); do
        if munge_answers; then
            cp /run/munge/munged.pid "$STATE/munged.started"
            return
        fi
        sleep 0.25
    done
    echo "munged did not start" >&2
    exit 1
}

start() {
    install_packages
    if [[ -s "$STATE/slurmctld.pid" ]] && kill -0 "$(cat "$STATE/slurmctld.pid")" 2>/dev/null; then
        return
    fi
    rm -rf "$STATE"
    write_config
    start_munge
    slurmctld
    slurmd -N "$HOST"
    for _ in $(seq 60); do
        if sinfo -h -o %T 2>/dev/null | grep -qx idle; then
            return
        fi
        sleep 0.5
    done
    echo "Slurm did not come up; see $STATE/slurmctld.log and $STATE/slurmd.log" >&2
    sinfo -R >&2 || true
    stop
    exit 1
}

stop() {
    for pidfile in "$STATE/slurmd.pid" "$STATE/slurmctld.pid" "$STATE/munged.started"; do
        [[ -s "$pidfile" ]] || continue
        for pid in $(cat "$pidfile"); do
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        done
        rm -f "$pidfile"
    done
    for conf in "$CONF_DIR/slurm.conf" "$CONF_DIR/gres.conf"; do
        if [[ -e $conf ]] && grep -qxF "$MARK" "$conf"; then rm -f "$conf"; fi
    done
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
