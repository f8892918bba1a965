#!/usr/bin/env bash
# The tests on a fresh Debian machine: installs the Debian packages the
# tests drive (only those missing; with sudo when not root), then runs
# go test -race -count=1 over the whole module.
#
#   scripts/test.sh                      # install, then go test -race -count=1 ./...
#   scripts/test.sh -run TestWsl ./server  # arguments replace ./...
#   scripts/test.sh --install-only
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

# The one list of what the tests need from Debian.
packages=(
	gcc libc6-dev  # the race detector needs cgo
	sblim-wbemcli  # wbemcli, the CIM-XML interop tests' client
	libxml2-utils  # xmllint: answers validated against the DSP0203 DTD
	wsl            # WS-Management interop tests' client ...
	uuid-runtime   # ... and the uuidgen it needs
	python3-winrm  # pywinrm, the other WS-Management client
	python3-psutil # Python test helpers
	systemd        # systemd-analyze: the unit is verified
	groff-base     # the manual pages are checked with groff ...
	man-db         # ... and found by man, as systemd-analyze verify does
	etcd-server    # the distributed store's tests start a real etcd cluster
	chromium       # the web console's tests drive a real browser
)
missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "test: installing ${missing[*]}"
	sudo=""
	if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
	$sudo apt-get update -q
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi
if [ "${1:-}" = --install-only ]; then
	exit 0
fi
if [ $# -eq 0 ]; then
	set -- ./...
fi
exec go test -race -count=1 "$@"
