#!/bin/sh
# The demo login page in headless Chromium driven through chromedriver's W3C
# WebDriver API (tests/integration/test_browser.py). Chromium and ChromeDriver
# are installed only for this suite (tools/deps.sh browser). When they cannot
# be installed or started, the suite says "cannot run: <why>" and fails.
cd "$(dirname "$0")/../.." || exit 1
if ! tools/deps.sh browser; then
    echo "cannot run: chromium and chromium-driver are missing and could not be installed (see above)"
    echo "browser: 0 passed, 1 failed"
    exit 1
fi
exec /usr/bin/python3 tests/integration/test_browser.py
