#!/usr/bin/env bash
# The main job: build wbem and wbemd, compile the sample schema
# (examples/sample.mof) into a local repository (./demo-repo, or
# $WBEM_REPO), show a few CLI commands on it, register the Go example
# provider and call it through wbemd, which serves it all over CIM-XML on
# http://localhost:5988 and https://localhost:5989 and over WS-Management on
# http://localhost:5985/wsman and https://localhost:5986/wsman (user "admin",
# password $WBEMD_ADMIN_PASSWORD, "wbemd" by default) until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
mkdir -p bin
go build -o bin/wbem ./cmd/wbem
go build -o bin/wbemd ./cmd/wbemd
export WBEM_REPO="${WBEM_REPO:-$PWD/demo-repo}"
rm -rf "$WBEM_REPO"
w() { echo "\$ wbem $*"; ./bin/wbem "$@" || echo "(exit status $?)"; echo; }

w mofcomp examples/sample.mof
w -n root/sample classes Sample_StorageElement
w -n root/sample query "SELECT Name, Model, SizeBytes FROM Sample_StorageElement WHERE SizeBytes > 500000000000"
w -n root/sample query --plan "SELECT * FROM Sample_StorageElement WHERE Model = 'partition'"
w -n root/sample query 'ASSOCIATORS OF {Sample_Disk.Name="sda"}'
w -n root/sample put --update-only --properties Model Sample_Disk Name=sda Model="Samsung 990"
w -n root/sample put Sample_Disk Name=sdz SizeBytes=lots
w -n root/sample -o mof get 'Sample_Disk.Name="sda"'
w -n root/sample call __SystemSecurity GetCallerAccessRights
printf '%s\n' "${WBEMD_ADMIN_PASSWORD:-wbemd}" | ./bin/wbem user add admin --admin --password-stdin
w user list
# A provider: the Go example (examples/providers/widgets) built into bin/, its registration
# compiled with Command pointing there; wbemd starts it on the first call.
go build -o bin/widgets ./examples/providers/widgets
sed "s|/usr/local/lib/wbemd/providers/widgets|$PWD/bin/widgets|" examples/providers/widgets/widgets.mof > "$WBEM_REPO/widgets.mof"
w mofcomp "$WBEM_REPO/widgets.mof"
./bin/wbemd --repo "$WBEM_REPO" --http "${WBEMD_HTTP:-:5988}" --https "${WBEMD_HTTPS:-:5989}" \
  --wsman-http "${WBEMD_WSMAN_HTTP:-:5985}" --wsman-https "${WBEMD_WSMAN_HTTPS:-:5986}" &
WBEMD=$!
trap 'kill -TERM $WBEMD; wait $WBEMD' INT TERM
for _ in $(seq 100); do [ -S "$WBEM_REPO/wbemd.sock" ] && break; sleep 0.1; done
w enum Example_Widget
w call 'Example_Widget.Name="gear"' Resize Size=8
w provider list
echo "Serving. Try: wbemcli ei 'http://admin:${WBEMD_ADMIN_PASSWORD:-wbemd}@localhost:5988/root/sample:Sample_Disk'"
echo "or: wbemcli cm 'http://admin:${WBEMD_ADMIN_PASSWORD:-wbemd}@localhost:5988/root/cimv2:Example_Widget' Count"
echo "or: WSENDPOINT=localhost:5985 WSUSER=admin WSPASS=${WBEMD_ADMIN_PASSWORD:-wbemd} WSNOSSL=true wsl enum Sample_Disk -ns root/sample"
wait $WBEMD
