#!/bin/sh
# Login attempt counts and bans shared through the store: two login.fcgi
# processes over one SQLite file, two lighttpd gateways over one real Redis,
# Redis killed and restarted, an older store upgraded by init, jwtx login-bans
# (tests/integration/test_login_store.py).
cd "$(dirname "$0")/../.." && exec /usr/bin/python3 tests/integration/test_login_store.py
