#!/bin/sh
# The fail2ban filter and jail (conf/fail2ban/) against the error logs of real
# lighttpd, Apache and nginx servers and an audit file, with fail2ban-regex and
# a real fail2ban-server (tests/integration/test_fail2ban.py).
cd "$(dirname "$0")/../.." && exec /usr/bin/python3 tests/integration/test_fail2ban.py
