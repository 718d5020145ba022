#!/usr/bin/env bash
# Distributed training with torchrun: tools/dist_train.sh CONFIG NUM_PROCS [train.py args ...]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR (and PORT) on every node.
# SIGTERM / SIGINT sent to torchrun reach every worker (torchrun forwards them and waits up to
# 30 s): the ranks agree at the next iteration, rank 0 saves the checkpoint and the workers exit
# with code 75. torchrun itself then exits with 1 (its SignalException), not 75; the checkpoint
# is there all the same: rerun with --resume.
CONFIG=$1
NPROC=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}

PYTHONPATH="$(dirname "$0")/..":${PYTHONPATH:-} \
exec python -m torch.distributed.run \
    --nnodes="$NNODES" --node-rank="$NODE_RANK" --master-addr="$MASTER_ADDR" \
    --nproc-per-node="$NPROC" --master-port="$PORT" \
    "$(dirname "$0")/train.py" "$CONFIG" --launcher pytorch "${@:3}"
