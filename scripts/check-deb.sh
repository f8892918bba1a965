#!/usr/bin/env bash
# Proves the Debian package on a clean Debian: bootstraps a minimal Debian
# bookworm with systemd (debootstrap, from the Debian mirror) into a new
# folder, installs the package there with dpkg -i, and checks what it did:
# wbemd --version and wbem version run, the user wbemd and /var/lib/wbemd
# exist, the unit is enabled and passes systemd-analyze verify as
# installed (its manual pages found by man), wbemd serves the packaged
# configuration as the user wbemd (local socket only) and answers wbem;
# then, where systemd-nspawn is installed, the system boots in a container
# and systemd starts the unit (Type=notify, user wbemd, no capabilities,
# system call filter), wbem works through it, and it stops cleanly; last,
# a purge removes the package but keeps the repository.
#
#   sudo scripts/check-deb.sh [PACKAGE.deb]   # default: build one with scripts/build-deb.sh
#
# Needs root (chroot), debootstrap (and systemd-container for the boot) and
# the network to the Debian mirror
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
root="" built="" daemon=""
cleanup() {
	if [ -n "$daemon" ]; then kill "$daemon" 2>/dev/null || true; fi
	# --one-file-system: never follow a mount into the host.
	if [ -n "$root" ]; then rm -rf --one-file-system "$root"; fi
	if [ -n "$built" ]; then rm -rf "$built"; fi
}
trap cleanup EXIT
if [ -z "$deb" ]; then
	built=$(mktemp -d)
	deb=$(scripts/build-deb.sh "$built")
fi
deb=$(realpath "$deb")

root=$(mktemp -d /var/tmp/wbemd-check-deb.XXXXXX)
chmod 0755 "$root" # the new system's /: its users must reach their files

step() { printf '\n== %s\n' "$*"; }
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }
fail() {
	echo "check-deb: FAILED: $*" >&2
	exit 1
}

step "debootstrap bookworm (minbase, with systemd, dbus and man) into $root"
cache=()
if [ -n "${DEBOOTSTRAP_CACHE:-}" ]; then
	mkdir -p "$DEBOOTSTRAP_CACHE"
	cache=(--cache-dir="$(realpath "$DEBOOTSTRAP_CACHE")")
fi
debootstrap --variant=minbase --include=systemd,dbus,procps,man-db "${cache[@]}" bookworm "$root" \
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

step "boot the system with systemd-nspawn: the unit as systemd runs it"
if ! command -v systemd-nspawn >/dev/null; then
	echo "systemd-nspawn is not installed (Debian: systemd-container): the unit is not started by systemd"
else
	# A unit of the check's own runs after wbemd.service, writes what it
	# saw to /root/check.log and powers the container off.
	cat >"$root/etc/systemd/system/wbemd-check.service" <<'UNIT'
[Unit]
Description=check the packaged wbemd under systemd
Wants=wbemd.service
After=wbemd.service

[Service]
Type=oneshot
ExecStart=/bin/sh /root/wbemd-check.sh
UNIT
	cat >"$root/root/wbemd-check.sh" <<'SCRIPT'
exec >/root/check.log 2>&1
set -x
ok=true
check() { "$@" || { echo "wbemd-check: FAILED: $*"; ok=false; }; }
check systemctl is-active wbemd
systemctl show wbemd -p Type -p ActiveState -p SubState -p StatusText -p NRestarts -p User
pid=$(systemctl show -p MainPID --value wbemd)
check test "$(stat -c %U /proc/$pid)" = wbemd
grep -E '^(NoNewPrivs|Seccomp|CapEff|CapBnd):' /proc/$pid/status
check grep -q '^NoNewPrivs:.1' /proc/$pid/status
check grep -q '^Seccomp:.2' /proc/$pid/status
check grep -q '^CapEff:.0000000000000000' /proc/$pid/status
check wbem --repo /var/lib/wbemd ns create checked
check wbem --repo /var/lib/wbemd ns list
check wbem --repo /var/lib/wbemd -n root/cimv2 call __SystemSecurity GetCallerAccessRights
ls -la /var/lib/wbemd
journalctl -u wbemd --no-pager | tail -12
check systemctl stop wbemd
systemctl show wbemd -p Result -p ExecMainStatus -p ActiveState
check test "$(systemctl show -p Result --value wbemd)" = success
journalctl -u wbemd --no-pager | tail -3
if $ok; then echo "wbemd-check: ok"; fi
systemctl --no-block poweroff
SCRIPT
	ln -s /etc/systemd/system/wbemd-check.service "$root/etc/systemd/system/multi-user.target.wants/"
	# Its own network namespace: wbemd's ports are the container's.
	timeout 300 systemd-nspawn -q -D "$root" --boot --private-network --register=no --keep-unit \
		>"$root/tmp/nspawn.log" 2>&1 || true
	sed 's/^/    /' "$root/root/check.log" 2>/dev/null || { tail -30 "$root/tmp/nspawn.log"; fail "the container did not run the check"; }
	grep -q '^wbemd-check: ok$' "$root/root/check.log" || { tail -30 "$root/tmp/nspawn.log"; fail "wbemd under systemd"; }
	rm "$root/etc/systemd/system/multi-user.target.wants/wbemd-check.service" "$root/etc/systemd/system/wbemd-check.service"
fi

step "dpkg --purge wbemd"
in_root dpkg --purge wbemd
[ ! -e "$root/usr/sbin/wbemd" ] && [ ! -e "$root/etc/wbemd/wbemd.conf" ] || fail "purge left the package's files"
[ -f "$root/var/lib/wbemd/repository.db" ] || fail "purge deleted the repository"
echo "the repository is kept: $(ls "$root/var/lib/wbemd" | tr '\n' ' ')"
echo
echo "check-deb: ok"
