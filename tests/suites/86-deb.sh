#!/bin/sh
# make deb, lintian, and the package installed with dpkg -i, used through the
# lighttpd recipe it ships, and purged (tests/integration/test_deb.py).
# Installs into the running system: needs root, and refuses to run when a
# jwtx package is already installed.
cd "$(dirname "$0")/../.." && exec /usr/bin/python3 tests/integration/test_deb.py
