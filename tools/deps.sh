#!/bin/sh
# Installs the Debian packages jwtx needs to build and test, when any is missing.
# Usage: tools/deps.sh            build + test packages
#        tools/deps.sh browser    also Chromium and ChromeDriver (the login-page test)
# As root it runs apt-get itself; otherwise it prints the command to run.
set -eu

PKGS="gcc make pkg-config libssl-dev libjansson-dev libfcgi-dev libfcgi-bin libcunit1-dev
libsqlite3-dev libhiredis-dev libcrypt-dev lighttpd redis-server spawn-fcgi apache2
apache2-utils libapache2-mod-fcgid nginx-light python3 python3-jwt python3-cryptography
curl valgrind sqlite3 fcgiwrap clang libclang-rt-14-dev
mandoc groff-base man-db procps debhelper dpkg-dev fakeroot lintian systemd fail2ban"
if [ "${1:-}" = browser ]; then
    PKGS="chromium chromium-driver"
fi

# One dpkg-query for all of them (make runs this on every build).
# shellcheck disable=SC2086
installed=" $(dpkg-query -W -f='${Status} ${Package}\n' $PKGS 2>/dev/null |
    awk '$1 == "install" && $3 == "installed" { print $4 }' | tr '\n' ' ') "
missing=""
for p in $PKGS; do
    case "$installed" in
    *" $p "*) ;;
    *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing" >&2
if [ "$(id -u)" != 0 ]; then
    echo "deps: not root; run: sudo apt-get install -y$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Apache and nginx must not be started as system services by their packages:
# tests start their own instances on free ports.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
