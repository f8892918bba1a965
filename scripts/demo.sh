#!/usr/bin/env bash
# The main job: build wbem and wbemd, compile the sample schema
# (examples/sample.mof) into a repository of its own (./demo-repo, or
# $WBEMD_DEMO_REPO), show a few CLI commands on it, register the Go example
# provider and call it through wbemd, which serves it all over CIM-XML on
# http://localhost:5988 and https://localhost:5989 and over WS-Management
# on http://localhost:5985/wsman and https://localhost:5986/wsman, to this
# machine only (user "admin", password $WBEMD_ADMIN_PASSWORD, "wbemd" by
# default), until Ctrl-C.
#
# The demo deletes only a repository it made itself (it leaves a mark in
# it); $WBEM_REPO, your own repository, is neither used nor touched.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
mkdir -p bin
go build -o bin/wbem ./cmd/wbem
go build -o bin/wbemd ./cmd/wbemd

repo="${WBEMD_DEMO_REPO:-$PWD/demo-repo}"
mark="$repo/.made-by-wbemd-demo"
if [ -e "$repo" ] && [ ! -e "$mark" ]; then
	echo "demo: $repo exists and was not made by this demo; remove it yourself, or set WBEMD_DEMO_REPO to another folder" >&2
	exit 1
fi
if [ -e "$mark" ]; then
	rm -rf -- "$repo" # the demo's own repository of a previous run
fi
mkdir -p "$repo"
echo "made by scripts/demo.sh, which deletes this folder when it runs again" >"$mark"
export WBEM_REPO="$repo"
password="${WBEMD_ADMIN_PASSWORD:-wbemd}"

# quote prints its arguments as a shell reads them back: each one that
# needs it in single quotes.
quote() {
	local out=() a
	for a in "$@"; do
		if [[ "$a" =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then
			out+=("$a")
		else
			out+=("'${a//\'/\'\\\'\'}'")
		fi
	done
	echo "${out[*]}"
}
w() {
	echo "\$ wbem $(quote "$@")"
	./bin/wbem "$@" || echo "(exit status $?)"
	echo
}

echo "# To run these commands yourself: cd $(quote "$PWD") && export PATH=$(quote "$PWD/bin"):\$PATH WBEM_REPO=$(quote "$repo")"
echo
w mofcomp examples/sample.mof
w -n root/sample classes Sample_StorageElement
w -n root/sample query "SELECT Name, Model, SizeBytes FROM Sample_StorageElement WHERE SizeBytes > 500000000000"
w -n root/sample query --plan "SELECT * FROM Sample_StorageElement WHERE Model = 'partition'"
w -n root/sample query 'ASSOCIATORS OF {Sample_Disk.Name="sda"}'
w -n root/sample put --update-only --properties Model Sample_Disk Name=sda Model="Samsung 990"
w -n root/sample put Sample_Disk Name=sdz SizeBytes=lots
w -n root/sample -o mof get 'Sample_Disk.Name="sda"'
w -n root/sample call __SystemSecurity GetCallerAccessRights
printf '%s\n' "$password" | ./bin/wbem user add admin --admin --password-stdin
w user list
# A provider: the Go example (examples/providers/widgets) built into bin/,
# its registration compiled with Command pointing there; wbemd starts it
# on the first call.
go build -o bin/widgets ./examples/providers/widgets
sed "s|/usr/local/lib/wbemd/providers/widgets|$PWD/bin/widgets|" examples/providers/widgets/widgets.mof >"$repo/widgets.mof"
w mofcomp "$repo/widgets.mof"
./bin/wbemd --repo "$repo" --http "${WBEMD_HTTP:-127.0.0.1:5988}" --https "${WBEMD_HTTPS:-127.0.0.1:5989}" \
	--wsman-http "${WBEMD_WSMAN_HTTP:-127.0.0.1:5985}" --wsman-https "${WBEMD_WSMAN_HTTPS:-127.0.0.1:5986}" \
	2>"$repo/wbemd.log" &
wbemd=$!
trap 'kill -TERM $wbemd; wait $wbemd; exit $?' INT TERM
for _ in $(seq 100); do [ -S "$repo/wbemd.sock" ] && break; sleep 0.1; done
echo "# wbemd serves $(quote "$repo") (its log: $(quote "$repo/wbemd.log")); through its local socket, the provider answers:"
w enum Example_Widget
w call 'Example_Widget.Name="gear"' Resize Size=8
echo "# and the built-in providers (installed into root/cimv2 at wbemd's first start) show this machine:"
w -o mof enum Win32_OperatingSystem
w provider list
echo "Serving. Try: wbemcli ei $(quote "http://admin:$password@localhost:5988/root/sample:Sample_Disk")"
echo "or: wbemcli cm $(quote "http://admin:$password@localhost:5988/root/cimv2:Example_Widget") Count"
echo "or: WSENDPOINT=localhost:5985 WSUSER=admin WSPASS=$(quote "$password") WSNOSSL=true wsl enum Sample_Disk -ns root/sample"
wait $wbemd
