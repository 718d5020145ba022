#!/usr/bin/env bash
# SLURM: tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args ...]
#
# One task per GPU: GPUS (total, default 8) tasks, GPUS_PER_NODE (default 8) per node, so
# GPUS=32 GPUS_PER_NODE=8 runs on 4 nodes. mmengine's slurm launcher reads SLURM_PROCID,
# SLURM_NTASKS, SLURM_LOCALID and takes the first node of SLURM_NODELIST as the master
# (MASTER_PORT, default 29500: set another one when two jobs share a node). DDP by default;
# FSDP2 when the config includes configs/_base_/strategies/fsdp2.py; its sharded checkpoints
# (iter_N.dcp/) must be on a file system every node sees (WORK_DIR), and resume at any GPUS.
#
# Preemption-safe: srun asks SLURM to send SIGUSR1 to every task SIGNAL_LEAD seconds (default 120)
# before the time limit; on SIGUSR1 or SIGTERM (preemption) tools/train.py saves a checkpoint at
# the next iteration and exits with code 75. The run always passes --resume, so rerunning this
# script (or a requeued job) continues from the newest loadable checkpoint of WORK_DIR, and an
# empty WORK_DIR starts fresh. Inside an sbatch allocation, exit code 75 requeues the job
# (scontrol requeue) unless REQUEUE=0. A --resume CKPT among the extra args takes precedence.
set -x
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SIGNAL_LEAD=${SIGNAL_LEAD:-120}
REQUEUE=${REQUEUE:-1}
SRUN_ARGS=${SRUN_ARGS:-""}
PREEMPTED=75  # videoar.engine.hooks.PREEMPTED_EXIT_CODE
export MASTER_PORT=${MASTER_PORT:-29500}

PYTHONPATH="$(dirname "$0")/..":${PYTHONPATH:-} \
srun -p "$PARTITION" --job-name="$JOB_NAME" --gres=gpu:"$GPUS_PER_NODE" --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" --cpus-per-task="$CPUS_PER_TASK" --kill-on-bad-exit=1 \
    --signal=USR1@"$SIGNAL_LEAD" \
    $SRUN_ARGS python -u tools/train.py "$CONFIG" --work-dir="$WORK_DIR" --launcher slurm \
    --resume "${@:5}"
STATUS=$?
if [ "$STATUS" -eq "$PREEMPTED" ]; then
    if [ "$REQUEUE" = "1" ] && [ -n "${SLURM_JOB_ID:-}" ]; then
        scontrol requeue "$SLURM_JOB_ID"
    else
        echo "preempted: checkpoint saved in $WORK_DIR; run the same command again to resume." >&2
    fi
fi
exit "$STATUS"
