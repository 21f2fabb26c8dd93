#!/usr/bin/env python3
"""Runs every API test suite in tests/api and prints one summary line:
"api: N passed, N failed, N skipped"."""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
API = os.path.join(HERE, "api")


def main():
    sys.path.insert(0, API)
    suite = unittest.defaultTestLoader.discover(API, top_level_dir=API)
    result = unittest.TextTestRunner(verbosity=1, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped)
    print("api: %d passed, %d failed, %d skipped" % (passed, failed, len(result.skipped)))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
