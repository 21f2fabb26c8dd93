#!/usr/bin/env python3
"""Runs the API test suites in tests/api and prints one summary line:
"api: N passed, N failed, N skipped".

Usage: run_api.py [--shard I/N | --exclusive] [--times FILE]
  --shard I/N  run only the I-th (1-based) of N disjoint sets of test modules, balanced by the
               rough module durations below; the N shards and --exclusive together run every
               module once.
  --exclusive  run only the modules of EXCLUSIVE: they stop and start the shared PostgreSQL
               peer, so they run alone, after the shards.
  --times FILE write each test's wall time (and the set-up time before it) to FILE as TSV.
SWITCHBOARD_TEST_SHARD=I/N does the same as --shard (tests/run.sh runs the shards side by side)."""
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
API = os.path.join(HERE, "api")

# Rough wall seconds of the slowest modules on SQLite (tests/run_api.py --times, summed per
# module), to balance the shards; a module not listed counts as DEFAULT_WEIGHT. Only the balance
# depends on them: every module runs in exactly one shard whatever they say.
WEIGHTS = {
    "test_install": 36, "test_probes": 35, "test_shutdown": 34, "test_prober": 31,
    "test_console": 31, "test_fence": 21, "test_upgrade": 20, "test_cli": 19,
    "test_pg_store": 17, "test_slow_clients": 17, "test_keyfile": 15, "test_client_users": 12,
    "test_projects": 11, "test_crash": 11, "test_openapi": 8, "test_lifecycle": 7,
    "test_users": 7, "test_attacks_loose_ends": 6, "test_probe_auth": 6, "test_hostile": 6,
    "test_keys": 5, "test_connections": 5,
}
DEFAULT_WEIGHT = 2

# Modules that must not run beside any other suite: test_pg_store's outage test stops and
# restarts the PostgreSQL of tests/peers.sh that every suite on this run shares.
EXCLUSIVE = ("test_pg_store",)


def modules():
    return sorted(f[:-3] for f in os.listdir(API) if f.startswith("test_") and f.endswith(".py"))


def shard_modules(index, count):
    """The modules of shard INDEX (1-based) of COUNT: longest first, each to the lightest."""
    shards = [[0.0, []] for _ in range(count)]
    shared = [m for m in modules() if m not in EXCLUSIVE]
    for m in sorted(shared, key=lambda m: (-WEIGHTS.get(m, DEFAULT_WEIGHT), m)):
        lightest = min(range(count), key=lambda i: (shards[i][0], i))
        shards[lightest][0] += WEIGHTS.get(m, DEFAULT_WEIGHT)
        shards[lightest][1].append(m)
    return sorted(shards[index - 1][1])


class TimedResult(unittest.TextTestResult):
    """Records each test's wall time and the time since the previous test ended (class set-up)."""
    times = []
    last_stop = None

    def startTest(self, test):
        self._start = time.monotonic()
        prev = TimedResult.last_stop
        self._setup = self._start - prev if prev is not None else 0.0
        super().startTest(test)

    def stopTest(self, test):
        now = time.monotonic()
        TimedResult.times.append((test.id(), now - self._start, self._setup))
        TimedResult.last_stop = now
        super().stopTest(test)


def main(argv):
    shard = os.environ.get("SWITCHBOARD_TEST_SHARD", "")
    times_path = None
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "--shard" and args:
            shard = args.pop(0)
        elif a == "--exclusive":
            shard = "exclusive"
        elif a == "--times" and args:
            times_path = args.pop(0)
        else:
            print(__doc__, file=sys.stderr)
            return 2
    sys.path.insert(0, API)
    loader = unittest.defaultTestLoader
    if shard == "exclusive":
        names = [m for m in modules() if m in EXCLUSIVE]
        print("api, run alone: %s" % " ".join(names))
        suite = loader.loadTestsFromNames(names)
    elif shard:
        index, count = (int(x) for x in shard.split("/"))
        if not 1 <= index <= count:
            print("bad shard %s" % shard, file=sys.stderr)
            return 2
        names = shard_modules(index, count)
        print("api shard %d/%d: %s" % (index, count, " ".join(names)))
        suite = loader.loadTestsFromNames(names)
    else:
        suite = loader.discover(API, top_level_dir=API)
    result = unittest.TextTestRunner(verbosity=1, stream=sys.stdout,
                                     resultclass=TimedResult).run(suite)
    if times_path:
        with open(times_path, "w") as f:
            for name, took, setup in TimedResult.times:
                f.write("%.3f\t%.3f\t%s\n" % (took, setup, name))
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped)
    print("api: %d passed, %d failed, %d skipped" % (passed, failed, len(result.skipped)))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
