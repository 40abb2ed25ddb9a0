#!/bin/sh
# Sessions (refresh-token rotation): SQLite across processes, Redis across gateways.
cd "$(dirname "$0")/../.." && exec /usr/bin/python3 tests/integration/test_sessions.py
