#!/usr/bin/env bash
# Proves the Debian package on a clean Debian: bootstraps a minimal Debian
# bookworm with systemd (debootstrap, from the Debian mirror) into a new
# folder, installs the package there with dpkg -i, and checks what it did:
# wbemd --version and wbem version run, the user wbemd and /var/lib/wbemd
# exist, the unit is enabled and passes systemd-analyze verify as
# installed (its manual pages found by man), wbemd serves the packaged configuration as the user wbemd
# (local socket only) and answers wbem, and a purge removes the package but
# keeps the repository.
#
#   sudo scripts/check-deb.sh [PACKAGE.deb]   # default: build one with scripts/build-deb.sh
#
# Needs root (chroot), debootstrap and the network to the Debian mirror
# (MIRROR, default http://deb.debian.org/debian). DEBOOTSTRAP_CACHE names a
# folder that keeps the downloaded packages between runs. The folder the
# script makes is deleted at the end; nothing else is.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
	echo "check-deb: needs root (debootstrap, chroot)" >&2
	exit 2
fi
if ! command -v debootstrap >/dev/null; then
	echo "check-deb: needs debootstrap (apt-get install debootstrap)" >&2
	exit 2
fi
deb="${1:-}"
if [ -z "$deb" ]; then
	deb=$(scripts/build-deb.sh "$(mktemp -d)")
fi
deb=$(realpath "$deb")

root=$(mktemp -d /var/tmp/wbemd-check-deb.XXXXXX)
chmod 0755 "$root" # the new system's /: its users must reach their files
daemon=""
cleanup() {
	if [ -n "$daemon" ]; then kill "$daemon" 2>/dev/null || true; fi
	# --one-file-system: never follow a mount into the host.
	rm -rf --one-file-system "$root"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }
fail() {
	echo "check-deb: FAILED: $*" >&2
	exit 1
}

step "debootstrap bookworm (minbase, with systemd and man) into $root"
cache=()
if [ -n "${DEBOOTSTRAP_CACHE:-}" ]; then
	mkdir -p "$DEBOOTSTRAP_CACHE"
	cache=(--cache-dir="$(realpath "$DEBOOTSTRAP_CACHE")")
fi
debootstrap --variant=minbase --include=systemd,procps,man-db "${cache[@]}" bookworm "$root" \
	"${MIRROR:-http://deb.debian.org/debian}" >"$root.log" 2>&1 || {
	tail -20 "$root.log"
	rm -f "$root.log"
	fail "debootstrap"
}
rm -f "$root.log"
in_root dpkg-query -W -f='${Package} ${Version}\n' systemd dpkg passwd

step "dpkg -i $(basename "$deb")"
cp "$deb" "$root/tmp/"
in_root dpkg -i "/tmp/$(basename "$deb")"

step "wbemd --version, wbem version"
in_root wbemd --version
in_root wbem version
version=$(dpkg-deb -f "$deb" Version)
in_root wbemd --version | grep -qF "wbemd $version (" || fail "wbemd --version does not say $version"

step "user, state directory, configuration, unit, manual pages"
in_root getent passwd wbemd
# stat and find inside the new system: its user names are not this machine's.
in_root stat -c '%U:%G %a %n' /var/lib/wbemd
[ "$(in_root stat -c '%U:%G %a' /var/lib/wbemd)" = "wbemd:wbemd 750" ] || fail "/var/lib/wbemd is not wbemd:wbemd 750"
grep -q '^repo = /var/lib/wbemd' "$root/etc/wbemd/wbemd.conf" || fail "no default configuration"
[ -L "$root/etc/systemd/system/multi-user.target.wants/wbemd.service" ] || fail "wbemd.service is not enabled"
ls "$root/usr/share/man/man1/wbem.1.gz" "$root/usr/share/man/man8/wbemd.8.gz"
# verify exits 0 on unknown settings: any output is a failure. It also
# runs man for Documentation=.
if ! in_root systemd-analyze verify /lib/systemd/system/wbemd.service >"$root/tmp/verify.txt" 2>&1 ||
	[ -s "$root/tmp/verify.txt" ]; then
	cat "$root/tmp/verify.txt"
	fail "systemd-analyze verify"
fi
echo "systemd-analyze verify /lib/systemd/system/wbemd.service: no complaint"
in_root systemd-analyze security --offline=yes /lib/systemd/system/wbemd.service | tail -1

step "wbemd serves the packaged configuration as the user wbemd (local socket only)"
# The unit's User= is played by setpriv; TCP listeners are off so that the
# check touches no port of this machine.
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin WBEMD_HTTP=off WBEMD_HTTPS=off \
	WBEMD_WSMAN_HTTP=off WBEMD_WSMAN_HTTPS=off \
	setpriv --reuid=wbemd --regid=wbemd --init-groups -- wbemd --config /etc/wbemd/wbemd.conf \
	2>"$root/tmp/wbemd.log" &
daemon=$!
for _ in $(seq 100); do
	[ -S "$root/var/lib/wbemd/wbemd.sock" ] && break
	kill -0 "$daemon" 2>/dev/null || { cat "$root/tmp/wbemd.log"; fail "wbemd exited"; }
	sleep 0.1
done
[ -S "$root/var/lib/wbemd/wbemd.sock" ] || { cat "$root/tmp/wbemd.log"; fail "no socket after 10 s"; }
in_root wbem --repo /var/lib/wbemd ns list
in_root wbem --repo /var/lib/wbemd -n root/cimv2 call __SystemSecurity GetCallerAccessRights
kill -TERM "$daemon"
wait "$daemon" || { cat "$root/tmp/wbemd.log"; fail "wbemd did not stop cleanly"; }
daemon=""
in_root find /var/lib/wbemd -exec stat -c '%U:%G %a %n' {} +
[ -z "$(in_root find /var/lib/wbemd ! -user wbemd)" ] || fail "files in /var/lib/wbemd not owned by wbemd"

step "dpkg --purge wbemd"
in_root dpkg --purge wbemd
[ ! -e "$root/usr/sbin/wbemd" ] && [ ! -e "$root/etc/wbemd/wbemd.conf" ] || fail "purge left the package's files"
[ -f "$root/var/lib/wbemd/repository.db" ] || fail "purge deleted the repository"
echo "the repository is kept: $(ls "$root/var/lib/wbemd" | tr '\n' ' ')"
echo
echo "check-deb: ok"
