#!/usr/bin/env bash
# Distributed training with torchrun: tools/dist_train.sh CONFIG NUM_PROCS [train.py args ...]
# NUM_PROCS is the number of processes (GPUs) on THIS node. DDP by default; FSDP2 when the config
# includes configs/_base_/strategies/fsdp2.py (same command).
#
# Several nodes, static rendezvous: run the same command on every node with
#   NNODES=<nodes> NODE_RANK=<0..nodes-1> MASTER_ADDR=<address of node 0> [PORT=29500]
# e.g. 2 nodes x 8 GPUs: node 0: NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 tools/dist_train.sh CFG 8
#                        node 1: NNODES=2 NODE_RANK=1 MASTER_ADDR=10.0.0.1 tools/dist_train.sh CFG 8
# Elastic (c10d) rendezvous instead: set RDZV_ENDPOINT=<host:port> (and RDZV_ID, default
# "videoar"); NODE_RANK and MASTER_ADDR are then ignored. NCCL settings (NCCL_SOCKET_IFNAME,
# NCCL_IB_HCA, ...) come from the environment as usual.
#
# Preemption: SIGTERM sent to this script goes to torchrun, which forwards it to every worker;
# SIGUSR1 goes to the workers directly (torchrun itself would die of it); Ctrl-C reaches every
# process of the terminal's group by itself (the script only outlives it to report). The ranks
# agree at the next iteration, rank 0 saves the checkpoint and the workers exit with code 75.
# torchrun reports any worker failure as 1, so the workers record their code in a file
# ($VIDEOAR_EXIT_CODE_FILE) and this script exits with it: 75 means "checkpoint saved, rerun
# with --resume".
CONFIG=$1
NPROC=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
if [ -n "${RDZV_ENDPOINT:-}" ]; then
    RENDEZVOUS=(--rdzv-backend=c10d --rdzv-endpoint="$RDZV_ENDPOINT" --rdzv-id="${RDZV_ID:-videoar}")
else
    RENDEZVOUS=(--node-rank="$NODE_RANK" --master-addr="$MASTER_ADDR" --master-port="$PORT")
fi
EXIT_CODE_FILE=$(mktemp "${TMPDIR:-/tmp}/videoar-exit.XXXXXX")
trap 'rm -f "$EXIT_CODE_FILE"' EXIT
: > "$EXIT_CODE_FILE"

VIDEOAR_EXIT_CODE_FILE="$EXIT_CODE_FILE" PYTHONPATH="$(dirname "$0")/..":${PYTHONPATH:-} \
python -m torch.distributed.run \
    --nnodes="$NNODES" "${RENDEZVOUS[@]}" --nproc-per-node="$NPROC" \
    "$(dirname "$0")/train.py" "$CONFIG" --launcher pytorch "${@:3}" &
LAUNCHER=$!
trap 'kill -TERM "$LAUNCHER" 2>/dev/null' TERM
trap ':' INT
trap 'pkill -USR1 -P "$LAUNCHER"' USR1
wait "$LAUNCHER"
STATUS=$?
while kill -0 "$LAUNCHER" 2>/dev/null; do  # a trapped signal interrupted wait: wait again
    wait "$LAUNCHER"
    STATUS=$?
done
if [ -s "$EXIT_CODE_FILE" ]; then
    STATUS=$(cat "$EXIT_CODE_FILE")
fi
exit "$STATUS"
