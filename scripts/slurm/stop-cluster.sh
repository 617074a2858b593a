#!/usr/bin/env bash
# stop-cluster.sh DIR — stop the cluster that start-cluster.sh DIR started:
# slurmd, slurmctld and (if start-cluster.sh started it) munged, each by its
# pid file, waiting until each has exited.
set -uo pipefail

dir=${1:?usage: stop-cluster.sh DIR}
stop() { # stop NAME PIDFILE
	local pid
	[ -s "$2" ] || return 0
	pid=$(cat "$2")
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	echo "stop-cluster.sh: $1 (pid $pid) still runs after 10 s; sending SIGKILL" >&2
	kill -9 "$pid" 2>/dev/null
}
stop slurmd "$dir/slurmd.pid"
stop slurmctld "$dir/slurmctld.pid"
if [ -e "$dir/munged.ours" ]; then
	stop munged /run/munge/munged.pid
	rm -f "$dir/munged.ours"
fi
