#!/bin/sh
# The recipes of conf/apache/ behind a real Apache 2.4 (tests/integration/test_apache.py):
# mod_fcgid (server config and .htaccess), mod_authnz_fcgi + spawn-fcgi, plain mod_cgi.
# JWTX_APACHE_RECIPES=fcgid,cgi runs only those recipes.
cd "$(dirname "$0")/../.." && exec /usr/bin/python3 tests/integration/test_apache.py
