#!/usr/bin/env bash
# Builds the Debian package of wbemd from this tree with dpkg-deb:
# wbem and wbemd (static), the systemd unit, the default configuration
# /etc/wbemd/wbemd.conf, the manual pages wbem(1) and wbemd(8), and the
# maintainer scripts that make the user wbemd and /var/lib/wbemd.
#
#   scripts/build-deb.sh [OUTDIR]     # default ./bin; prints the .deb's path
#
# VERSION (default 0.0~gitYYYYMMDD.REVISION of the last commit),
# DEB_ARCH (default this machine's) and DEB_MAINTAINER may be set.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
out="${1:-$PWD/bin}"
mkdir -p "$out"
out=$(cd "$out" && pwd)

arch="${DEB_ARCH:-$(dpkg --print-architecture)}"
case "$arch" in
amd64 | arm64 | s390x | riscv64) goarch=$arch ;;
i386) goarch=386 ;;
armhf) goarch=arm && export GOARM=7 ;;
ppc64el) goarch=ppc64le ;;
*) echo "build-deb: no Go port for Debian architecture $arch" >&2 && exit 2 ;;
esac

if [ -z "${VERSION:-}" ]; then
	if rev=$(git rev-parse --short=12 HEAD 2>/dev/null); then
		VERSION="0.0~git$(git log -1 --format=%cd --date=format:%Y%m%d).$rev"
		if [ -n "$(git status --porcelain --untracked-files=no)" ]; then VERSION="$VERSION+modified"; fi
	else
		VERSION=0.0~unknown
	fi
fi
# The pages' date and the files' times come from the last commit, so that
# the same tree builds the same package.
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH
maintainer="${DEB_MAINTAINER:-wbemd developers <wbemd@localhost>}"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/root"
mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/usr/sbin" "$root/lib/systemd/system" "$root/etc/wbemd" \
	"$root/usr/share/man/man1" "$root/usr/share/man/man8"

ldflags="-s -w -X github.com/wbemd/wbemd/internal/version.Version=$VERSION"
export CGO_ENABLED=0 GOOS=linux GOARCH=$goarch
go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$root/usr/bin/wbem" ./cmd/wbem
go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$root/usr/sbin/wbemd" ./cmd/wbemd
unset GOOS GOARCH GOARM

# The manual pages: hand-written text with the options and verbs taken
# from the programs (wbemd's from its --help, run on this machine).
go build -o "$stage/genman" ./dist/genman
go build -o "$stage/wbemd" ./cmd/wbemd
"$stage/genman" -version "$VERSION" wbem dist/man/wbem.1.in | gzip -9n >"$root/usr/share/man/man1/wbem.1.gz"
{ "$stage/wbemd" --help 2>&1 || true; } | "$stage/genman" -version "$VERSION" wbemd dist/man/wbemd.8.in |
	gzip -9n >"$root/usr/share/man/man8/wbemd.8.gz"

install -m 0644 dist/wbemd.service "$root/lib/systemd/system/wbemd.service"
install -m 0644 dist/wbemd.conf "$root/etc/wbemd/wbemd.conf"
install -m 0755 dist/deb/postinst dist/deb/prerm dist/deb/postrm "$root/DEBIAN/"
echo /etc/wbemd/wbemd.conf >"$root/DEBIAN/conffiles"
cat >"$root/DEBIAN/control" <<CONTROL
Package: wbemd
Version: $VERSION
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: passwd, procps
Section: admin
Priority: optional
Description: WMI-compatible CIM object manager (CIM-XML and WS-Management)
 wbemd serves a durable CIM repository of namespaces, classes and
 instances with WMI's write semantics to WBEM clients: CIM-XML over HTTP
 and HTTPS (wbemcli, pywbem) and WS-Management (WinRM clients such as
 wsl and pywinrm). wbem is its command line: MOF compiler, WQL queries,
 instance and class editing, users, backups.
 .
 The package runs wbemd as a systemd service under the user wbemd, with
 its repository in /var/lib/wbemd.
CONTROL
find "$root" -newermt "@$SOURCE_DATE_EPOCH" -exec touch --no-dereference --date="@$SOURCE_DATE_EPOCH" {} +
deb="$out/wbemd_${VERSION}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
