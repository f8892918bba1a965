#!/usr/bin/env bash
# bench-ab.sh: same-minute A/B of two wbemd builds with `wbem bench`.
#
#   scripts/bench-ab.sh A_BIN_DIR B_BIN_DIR [ROUNDS] [OBJECTS] [PHASES]
#
# Each BIN_DIR holds the wbem and wbemd binaries of one build (go build -o DIR/
# ./cmd/wbem ./cmd/wbemd). Rounds alternate A, B, A, B, ...; each run starts a
# fresh wbemd on a fresh repository (HTTP only, loopback), loads it with 8
# connections, and prints wbem bench's table. Compare the two builds by the
# ratio of runs next to each other, not by absolute numbers.
#
# Each phase runs as its own wbem bench call, followed by a line with the
# server's CPU time per operation in that phase (user + system, from
# /proc/PID/stat): on a shared machine this moves less than throughput.
#
# BENCH_CLIENT=DIR drives both servers with the wbem of DIR, so that only
# the servers differ (by default each build's own wbem loads its wbemd).
set -euo pipefail
A=$(cd "$1" && pwd)
B=$(cd "$2" && pwd)
ROUNDS=${3:-3}
OBJECTS=${4:-20000}
PHASES=${5:-create,get,enumerate}
PORT=${BENCH_PORT:-15991}
export WBEM_PASSWORD=bench

CLK=$(getconf CLK_TCK)

# cpu prints the user + system clock ticks process $1 has used.
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run() {
	local bin=$1 label=$2 dir
	dir=$(mktemp -d)
	echo bench | "$bin/wbem" --repo "$dir" user add admin --admin --password-stdin >/dev/null
	"$bin/wbemd" --repo "$dir" --http "127.0.0.1:$PORT" --https off --wsman-http off --wsman-https off \
		--socket off >"$dir/log" 2>&1 &
	local pid=$!
	for _ in $(seq 100); do
		curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break
		sleep 0.1
	done
	echo "== $label ($bin)"
	local phase before after
	for phase in ${PHASES//,/ }; do
		before=$(cpu "$pid")
		"${BENCH_CLIENT:-$bin}/wbem" -n root/cimv2 bench --url "http://127.0.0.1:$PORT" --user admin \
			--objects "$OBJECTS" --connections 8 --phases "$phase" | sed -n '2p' || true
		after=$(cpu "$pid")
		awk -v l="$label" -v p="$phase" -v d=$((after - before)) -v c="$CLK" -v n="$OBJECTS" 'BEGIN { printf "%s %s server CPU %.1f µs/op\n", l, p, d * 1e6 / c / n }'
	done
	kill "$pid"
	wait "$pid" || true
	rm -rf "$dir"
}

for r in $(seq "$ROUNDS"); do
	echo "### round $r"
	run "$A" A
	run "$B" B
done
