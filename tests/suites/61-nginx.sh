#!/bin/sh
# The nginx recipe (conf/nginx/) with spawn-fcgi daemons and fcgiwrap
# (tests/integration/test_nginx.py).
cd "$(dirname "$0")/../.." && exec /usr/bin/python3 tests/integration/test_nginx.py
