#!/usr/bin/env bash
# A real multi-node Ray cluster on one machine: a head node and N worker nodes, each its own raylet with its
# own resources, started from the project's venv. `down` stops only what `up` started (found by this cluster's
# temp dir and GCS address, never `ray stop`, which would stop every Ray on the machine).
#
#   cluster/local.sh up            # head + SPPE_CLUSTER_WORKERS worker nodes; prints the addresses
#   cluster/local.sh status        # ray status of this cluster
#   cluster/local.sh kill-worker   # SIGKILL the first worker node's raylet (fault drills)
#   cluster/local.sh restart-worker  # start that worker node again
#   cluster/local.sh down          # stop this cluster's processes
#
# Settings (environment): SPPE_CLUSTER_DIR (default .sppe/cluster), SPPE_CLUSTER_PORT (GCS, 6390),
# SPPE_CLUSTER_DASHBOARD_PORT (8290), SPPE_CLUSTER_CLIENT_PORT (10090), SPPE_CLUSTER_WORKERS (1),
# SPPE_CLUSTER_HEAD_CPUS (1), SPPE_CLUSTER_WORKER_CPUS (1), SPPE_CLUSTER_WORKER_GPUS (0: a number above 0 gives
# the worker nodes a GPU resource Ray schedules by, without a device: the placement drills use it). Token authentication follows Ray's own settings
# (RAY_AUTH_MODE and friends are passed through unchanged). Submit jobs with:
#   ray job submit --address "$(cat .sppe/cluster/dashboard)" --working-dir . -- python jobs/eval.py
set -euo pipefail
cd "$(dirname "$0")/.."

RAY=".venv/bin/ray"
# The venv first on PATH: job entrypoints (`-- python jobs/eval.py`) and workers then run the project's Python.
export VIRTUAL_ENV="$PWD/.venv" PATH="$PWD/.venv/bin:$PATH"
DIR="$(mkdir -p "${SPPE_CLUSTER_DIR:-.sppe/cluster}" && cd "${SPPE_CLUSTER_DIR:-.sppe/cluster}" && pwd)"
PORT="${SPPE_CLUSTER_PORT:-6390}"
DASH="${SPPE_CLUSTER_DASHBOARD_PORT:-8290}"
CLIENT="${SPPE_CLUSTER_CLIENT_PORT:-10090}"
WORKERS="${SPPE_CLUSTER_WORKERS:-1}"
HEAD_CPUS="${SPPE_CLUSTER_HEAD_CPUS:-1}"
WORKER_CPUS="${SPPE_CLUSTER_WORKER_CPUS:-1}"
WORKER_GPUS="${SPPE_CLUSTER_WORKER_GPUS:-0}"
TEMP="$DIR/ray"

[ -x "$RAY" ] || { echo "local.sh: $RAY not found; run bash cluster/install.sh first" >&2; exit 2; }

# Free ports for each node's agents: Ray's fixed defaults (agent 52365, ...) collide with any other Ray on the
# machine, and a head whose dashboard agent cannot bind accepts no job ("No available agent").
agent_ports() {
  .venv/bin/python - <<'PY'
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
p = [s.getsockname()[1] for s in socks]
print(f"--dashboard-agent-listen-port {p[0]} --dashboard-agent-grpc-port {p[1]} --metrics-export-port {p[2]}")
PY
}

node_ip() { .venv/bin/python -c "import ray._private.services as s; print(s.get_node_ip_address())"; }

# Each node has its own temp dir: nodes on one machine that share one would share the runtime-env cache, and a
# worker node's cleanup would delete the job's unpacked working dir under the driver (seen: getcwd fails).
# Every process of this cluster: its command line names one of the cluster's temp dirs or its GCS address; their
# children (agents, workers) are found through the parent pid.
cluster_pids() {
  local ip pids kids
  ip="$(cat "$DIR/ip" 2>/dev/null || node_ip)"
  pids="$(pgrep -f -- "$TEMP(/|-w[0-9])|--address=$ip:$PORT( |$)|--gcs-address=$ip:$PORT( |$)" || true)"
  kids=""
  for p in $pids; do kids="$kids $(pgrep -P "$p" || true)"; done
  echo $pids $kids | tr ' ' '\n' | sort -un | tr '\n' ' '
}

start_worker() {  # worker node $1: its own temp dir, worker ports and agent ports
  local i="$1" ip lo attempt pids
  ip="$(cat "$DIR/ip")"
  lo=$((21500 + (i - 1) * 500))
  # `ray start` gives a raylet 30 s (fixed in Ray) to register; on a cold machine (a fresh venv, two busy
  # cores) a worker node's first start can miss that. Clear what the attempt left, try again.
  for attempt in 1 2 3; do
    "$RAY" start --address "$ip:$PORT" --node-ip-address "$ip" --num-cpus "$WORKER_CPUS" --num-gpus "$WORKER_GPUS" \
      --resources "{\"sppe_worker\": 1, \"sppe_worker_$i\": 1}" --temp-dir "$TEMP-w$i" \
      --min-worker-port "$lo" --max-worker-port $((lo + 499)) $(agent_ports) --disable-usage-stats \
      > "$DIR/worker-$i.log" 2>&1 && return
    echo "local.sh: worker node $i did not start (attempt $attempt of 3)" >&2
    pids="$(pgrep -f -- "$TEMP-w$i/" || true)"
    [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
    sleep 2
  done
  tail -20 "$DIR/worker-$i.log" >&2
  exit 1
}

wait_nodes() {  # a worker's raylet registers with the GCS a moment after `ray start` returns
  for _ in $(seq 1 60); do
    [ "$("$RAY" status --address "$(cat "$DIR/ip"):$PORT" 2>/dev/null | grep -c ' node_')" -ge "$1" ] && return
    sleep 1
  done
}

up() {
  if [ -f "$DIR/address" ] && [ -n "$(cluster_pids)" ]; then
    echo "local.sh: a cluster is already up at $(cat "$DIR/address") (cluster/local.sh down first)" >&2; exit 1
  fi
  local ip; ip="$(node_ip)"
  echo "$ip" > "$DIR/ip"
  "$RAY" start --head --node-ip-address "$ip" --port "$PORT" --num-cpus "$HEAD_CPUS" --resources '{"sppe_head": 1}' \
    --temp-dir "$TEMP" --include-dashboard true --dashboard-port "$DASH" --ray-client-server-port "$CLIENT" \
    --min-worker-port 21000 --max-worker-port 21499 $(agent_ports) --disable-usage-stats > "$DIR/head.log" 2>&1 \
    || { tail -20 "$DIR/head.log" >&2; exit 1; }
  for i in $(seq 1 "$WORKERS"); do start_worker "$i"; done
  echo "$ip:$PORT" > "$DIR/address"
  echo "http://127.0.0.1:$DASH" > "$DIR/dashboard"
  wait_nodes $((WORKERS + 1))
  for _ in $(seq 1 90); do  # the job API answers once the head's dashboard agent is up
    "$RAY" job list --address "http://127.0.0.1:$DASH" > /dev/null 2>&1 && break
    sleep 1
  done
  echo "cluster up: 1 head + $WORKERS worker node(s); RAY_ADDRESS=$ip:$PORT; jobs: $(cat "$DIR/dashboard")"
}

status() {
  [ -f "$DIR/address" ] || { echo "local.sh: no cluster recorded in $DIR" >&2; exit 1; }
  "$RAY" status --address "$(cat "$DIR/address")"
}

kill_worker() {
  local pid
  pid="$(pgrep -f -- "/raylet .*--raylet_socket_name=$TEMP-w1/" | head -1 || true)"
  [ -n "$pid" ] || { echo "local.sh: no worker raylet found" >&2; exit 1; }
  kill -9 "$pid"
  echo "killed worker raylet $pid"
}

restart_worker() {  # after kill-worker: clear what is left of worker node 1, start it again
  local pids; pids="$(pgrep -f -- "$TEMP-w1/" || true)"
  [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
  start_worker 1
  wait_nodes $((WORKERS + 1))
  echo "worker node 1 restarted"
}

down() {
  local pids; pids="$(cluster_pids)"
  if [ -z "${pids// /}" ]; then echo "cluster down (nothing was running)"; rm -f "$DIR/address"; return; fi
  kill $pids 2>/dev/null || true
  for _ in $(seq 1 20); do
    sleep 0.5
    [ -z "$(cluster_pids | tr -d ' ')" ] && break
  done
  pids="$(cluster_pids)"
  [ -z "${pids// /}" ] || kill -9 $pids 2>/dev/null || true
  rm -f "$DIR/address"
  echo "cluster down"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  kill-worker) kill_worker ;;
  restart-worker) restart_worker ;;
  *) echo "usage: cluster/local.sh up|down|status|kill-worker|restart-worker" >&2; exit 2 ;;
esac
