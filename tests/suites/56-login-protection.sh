#!/bin/sh
# Login protection behind a real lighttpd: regulation of failed logins and the
# audit log in lighttpd's error log (tests/integration/test_login_protection.py).
cd "$(dirname "$0")/../.." && exec /usr/bin/python3 tests/integration/test_login_protection.py
