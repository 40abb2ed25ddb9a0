#!/bin/sh
# The gateway programs behind a real lighttpd (tests/integration/test_gateway.py).
cd "$(dirname "$0")/../.." && exec /usr/bin/python3 tests/integration/test_gateway.py
