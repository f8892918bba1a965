#!/usr/bin/env bash
# bench-getcpu.sh: server CPU per GetInstance with one connection and with
# eight, alternately, from the daemon's /proc/PID/stat (utime + stime).
#
#   scripts/bench-getcpu.sh BIN_DIR [ROUNDS] [OBJECTS]
#
# BIN_DIR holds wbem and wbemd (go build -o DIR/ ./cmd/wbem ./cmd/wbemd). One
# wbemd (HTTP only, loopback, a fresh repository) gets OBJECTS instances, then
# each round runs `wbem bench --phases get` with 1 connection and with 8 and
# prints µs of server CPU per request for each and their ratio.
set -euo pipefail
BIN=$(cd "$1" && pwd)
ROUNDS=${2:-3}
OBJECTS=${3:-5000}
PORT=${BENCH_PORT:-15992}
export WBEM_PASSWORD=bench
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
echo bench | "$BIN/wbem" --repo "$dir" user add admin --admin --password-stdin >/dev/null
"$BIN/wbemd" --repo "$dir" --http "127.0.0.1:$PORT" --https off --wsman-http off --wsman-https off \
	--socket off >"$dir/log" 2>&1 &
pid=$!
for _ in $(seq 100); do
	curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break
	sleep 0.1
done
bench() {
	"$BIN/wbem" -n root/cimv2 bench --url "http://127.0.0.1:$PORT" --user admin \
		--objects "$OBJECTS" --connections "$1" --phases "$2" >/dev/null
}
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
bench 8 create
for r in $(seq "$ROUNDS"); do
	line="round $r:"
	for c in 1 8; do
		t0=$(ticks)
		bench "$c" get
		t1=$(ticks)
		us=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v n="$OBJECTS" 'BEGIN{printf "%.1f", d / hz * 1e6 / n}')
		line="$line $c conn ${us} µs/get;"
		eval "cpu$c=$us"
	done
	echo "$line ratio $(awk -v a="$cpu1" -v b="$cpu8" 'BEGIN{printf "%.2f", a / b}')"
done
