#!/bin/sh
# make install, jwtx.pc, the man pages (lint and coverage of the conf options,
# program parameters and tool commands) and the systemd units
# (tests/integration/test_install.py).
cd "$(dirname "$0")/../.." && exec /usr/bin/python3 tests/integration/test_install.py
