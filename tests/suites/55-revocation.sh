#!/bin/sh
# Revocation through real gateways: SQLite across processes, Redis across gateways.
cd "$(dirname "$0")/../.." && exec /usr/bin/python3 tests/integration/test_revocation.py
