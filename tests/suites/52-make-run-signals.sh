#!/bin/sh
# make run stops lighttpd and every program it started on Ctrl-C, SIGHUP and SIGTERM.
cd "$(dirname "$0")/../.." && exec /usr/bin/python3 tests/integration/test_make_run_signals.py
