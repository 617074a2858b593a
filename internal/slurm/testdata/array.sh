#!/bin/bash
# h2arnn reproduce fig5 -scale smoke: two runs.
#
#SBATCH --job-name=h2arnn-fig5
#SBATCH --array=0-1%4
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=2
#SBATCH --mem=192M
#SBATCH --time=0-01:35:00
#SBATCH --output="/scratch/my repro/logs/slurm_%A_%a.out"
#SBATCH --partition=short
#SBATCH --account=phys

set -u
bin=/opt/h2arnn/bin/h2arnn
runs='/scratch/my repro/runs'
logs='/scratch/my repro/logs'
workers=2

# run ID COMMAND FLAGS...: skip the run if DIR/runs/ID is complete, resume it
# if it holds a checkpoint (train's checkpoint.h2arnn, fit's and mcmc's
# checkpoint.json), else start it with 'h2arnn COMMAND FLAGS'; its
# output is appended to logs/ID.out and logs/ID.err.
run() {
	id=$1
	cmd=$2
	shift 2
	dir="$runs/$id"
	if grep -qs '"status": "complete"' "$dir/summary.json"; then
		echo "$id: already complete"
		exit 0
	fi
	mkdir -p "$logs"
	echo "$id: task $SLURM_ARRAY_TASK_ID of job $SLURM_ARRAY_JOB_ID on $(hostname)"
	if [ -f "$dir/checkpoint.h2arnn" ] || [ -f "$dir/checkpoint.json" ]; then
		exec "$bin" "$cmd" -resume "$dir" -workers "$workers" -quiet >>"$logs/$id.out" 2>>"$logs/$id.err"
	fi
	exec "$bin" "$cmd" "$@" -out "$dir" -workers "$workers" -quiet >>"$logs/$id.out" 2>>"$logs/$id.err"
}

case "$SLURM_ARRAY_TASK_ID" in
0) run fig5_n008_i01_sk_rs train -model sk -n 8 -seed 1 -arch sk_rs ;;
1) run fig5_n008_i01_made_23 train -model sk -arch made -label 'it'\''s' ;;
2) run fit fit -data "$runs"/'mc mc' -arch plm ;;
*) echo "no grid row $SLURM_ARRAY_TASK_ID in this script" >&2; exit 2 ;;
esac
