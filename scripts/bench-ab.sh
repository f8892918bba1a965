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
set -euo pipefail
A=$(cd "$1" && pwd)
B=$(cd "$2" && pwd)
ROUNDS=${3:-3}
OBJECTS=${4:-20000}
PHASES=${5:-create,get,enumerate}
PORT=${BENCH_PORT:-15991}
export WBEM_PASSWORD=bench

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
	"$bin/wbem" -n root/cimv2 bench --url "http://127.0.0.1:$PORT" --user admin \
		--objects "$OBJECTS" --connections 8 --phases "$PHASES" || true
	kill "$pid"
	wait "$pid" || true
	rm -rf "$dir"
}

for r in $(seq "$ROUNDS"); do
	echo "### round $r"
	run "$A" A
	run "$B" B
done
