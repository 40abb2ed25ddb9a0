#!/bin/sh
# The doc-tests: every fenced block of README.md and docs/*.md is run (shell
# sessions against `make run`, conf checks, the deployment walk-throughs) or
# marked as not runnable here, with the reason (tests/doctest/run.py; the
# marker convention is at the top of docs/testing.md).
cd "$(dirname "$0")/../.." && exec /usr/bin/python3 tests/doctest/run.py
