#!/usr/bin/env bash
# start-cluster.sh DIR — start a one-node SLURM cluster on this machine, for
# testing 'h2arnn reproduce -executor slurm' against a real scheduler.
#
# Needs root and Debian's packages slurm-wlm and munge
# (apt-get install slurm-wlm munge). It
#   * creates the munge key if there is none, the runtime directory /run/munge
#     (owned by the munge user) and starts munged unless it already runs;
#   * writes DIR/slurm.conf naming this host with the CPUs and memory that
#     'slurmd -C' detects, proctrack/linuxproc, task/none, select/cons_tres
#     (cores and memory as consumable resources), no accounting, and state,
#     spool, log and pid files under DIR;
#   * starts slurmctld and slurmd and waits until sinfo shows the node idle.
# Then it prints the line to source in the shell that submits:
#     export SLURM_CONF=DIR/slurm.conf
# Stop it with stop-cluster.sh DIR (it kills the daemons by their pid files).
set -euo pipefail

dir=${1:?usage: start-cluster.sh DIR  (state, spool, logs and slurm.conf go there)}
if [ "$(id -u)" != 0 ]; then
	echo "start-cluster.sh: needs root (it starts munged, slurmctld and slurmd)" >&2
	exit 2
fi
for c in munged slurmctld slurmd sinfo; do
	if ! command -v "$c" >/dev/null; then
		echo "start-cluster.sh: $c not found; install the packages: apt-get install slurm-wlm munge" >&2
		exit 2
	fi
done
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
host=$(hostname -s)

# munge: key, runtime directory, daemon (as the munge user).
if [ ! -s /etc/munge/munge.key ]; then
	install -d -o munge -g munge -m 0700 /etc/munge
	if command -v mungekey >/dev/null; then
		mungekey --create --keyfile=/etc/munge/munge.key
	else
		dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
	fi
	chown munge:munge /etc/munge/munge.key
	chmod 0400 /etc/munge/munge.key
fi
install -d -o munge -g munge -m 0755 /run/munge
install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
if [ -s /run/munge/munged.pid ] && kill -0 "$(cat /run/munge/munged.pid)" 2>/dev/null; then
	echo "munged already runs (pid $(cat /run/munge/munged.pid))"
else
	runuser -u munge -- munged
	touch "$dir/munged.ours" # stop-cluster.sh stops only a munged started here
fi

# slurm.conf: this host with what slurmd detects (CPUs, sockets, cores,
# threads, RealMemory), everything else under DIR.
node=$(slurmd -C | head -n 1)
mkdir -p "$dir/state" "$dir/spool"
cat >"$dir/slurm.conf" <<CONF
ClusterName=h2arnn-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
KillWait=30
$node State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"

slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 1 120); do
	state=$(sinfo -h -n "$host" -o %T 2>/dev/null || true)
	if [ "$state" = idle ]; then
		echo "export SLURM_CONF=$SLURM_CONF"
		exit 0
	fi
	sleep 0.5
done
echo "start-cluster.sh: the node is not idle after 60 s (sinfo: ${state:-no answer}); see $dir/slurmctld.log and $dir/slurmd.log" >&2
exit 1
