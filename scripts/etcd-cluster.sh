#!/usr/bin/env bash
# etcd-cluster.sh: a three-member etcd cluster on this machine, for trying
# wbemd's etcd engine and for its tests by hand.
#
#   scripts/etcd-cluster.sh start [DIR]    start members m0 m1 m2 (data and logs in DIR)
#   scripts/etcd-cluster.sh stop [DIR]     stop them
#   scripts/etcd-cluster.sh status [DIR]   show each member's state
#
# DIR defaults to ./etcd-cluster. Members listen on loopback only: clients on
# ports BASE, BASE+1, BASE+2 and peers on BASE+10, BASE+11, BASE+12, with
# BASE from ETCD_BASE_PORT (default 23790). Each is started with the limits
# wbemd's etcd engine requires (--max-txn-ops=8192,
# --max-request-bytes=8388608) and watch progress notifications every 5 s.
# The store URL to give wbemd is printed at start.
#
# Needs Debian's etcd-server package (apt-get install etcd-server), or
# ETCD=/path/to/etcd.
set -euo pipefail
CMD=${1:-}
DIR=${2:-./etcd-cluster}
BASE=${ETCD_BASE_PORT:-23790}
ETCD=${ETCD:-$(command -v etcd || echo /usr/bin/etcd)}
N=3

client_port() { echo $((BASE + $1)); }
peer_port() { echo $((BASE + 10 + $1)); }

urlof() {
  local eps=()
  for i in $(seq 0 $((N - 1))); do eps+=("127.0.0.1:$(client_port "$i")"); done
  local IFS=,
  echo "etcd://${eps[*]}/wbemd"
}

start() {
  [ -x "$ETCD" ] || { echo "etcd not found: apt-get install etcd-server (or set ETCD)" >&2; exit 1; }
  mkdir -p "$DIR"
  local initial=""
  for i in $(seq 0 $((N - 1))); do
    initial+="${initial:+,}m$i=http://127.0.0.1:$(peer_port "$i")"
  done
  local state=new
  [ -d "$DIR/m0" ] && state=existing
  for i in $(seq 0 $((N - 1))); do
    if [ -f "$DIR/m$i.pid" ] && kill -0 "$(cat "$DIR/m$i.pid")" 2>/dev/null; then
      echo "m$i already running (pid $(cat "$DIR/m$i.pid"))"
      continue
    fi
    "$ETCD" --name "m$i" --data-dir "$DIR/m$i" \
      --listen-client-urls "http://127.0.0.1:$(client_port "$i")" \
      --advertise-client-urls "http://127.0.0.1:$(client_port "$i")" \
      --listen-peer-urls "http://127.0.0.1:$(peer_port "$i")" \
      --initial-advertise-peer-urls "http://127.0.0.1:$(peer_port "$i")" \
      --initial-cluster "$initial" --initial-cluster-state "$state" \
      --initial-cluster-token wbemd-local \
      --max-txn-ops 8192 --max-request-bytes 8388608 \
      --experimental-watch-progress-notify-interval 5s \
      --logger zap --log-outputs stderr >>"$DIR/m$i.log" 2>&1 &
    echo $! >"$DIR/m$i.pid"
  done
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$(client_port 0)/health" 2>/dev/null | grep -q '"health":"true"'; then
      echo "cluster up; logs in $DIR/m*.log"
      echo "store URL: $(urlof)"
      return
    fi
    sleep 0.1
  done
  echo "cluster did not become healthy; see $DIR/m*.log" >&2
  exit 1
}

stop() {
  for i in $(seq 0 $((N - 1))); do
    local f="$DIR/m$i.pid"
    [ -f "$f" ] || continue
    local pid
    pid=$(cat "$f")
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$f"
  done
}

status() {
  for i in $(seq 0 $((N - 1))); do
    local state=stopped
    if [ -f "$DIR/m$i.pid" ] && kill -0 "$(cat "$DIR/m$i.pid")" 2>/dev/null; then
      state="running (pid $(cat "$DIR/m$i.pid")), health: $(curl -fsS "http://127.0.0.1:$(client_port "$i")/health" 2>/dev/null || echo unreachable)"
    fi
    echo "m$i 127.0.0.1:$(client_port "$i"): $state"
  done
  echo "store URL: $(urlof)"
}

case "$CMD" in
start) start ;;
stop) stop ;;
status) status ;;
*) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
