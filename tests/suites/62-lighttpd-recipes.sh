#!/bin/sh
# The production lighttpd recipes conf/lighttpd/jwtx.conf (FastCGI) and
# conf/lighttpd/jwtx-cgi.conf (plain CGI), included unchanged
# (tests/integration/test_lighttpd_recipes.py).
cd "$(dirname "$0")/../.." && exec /usr/bin/python3 tests/integration/test_lighttpd_recipes.py
