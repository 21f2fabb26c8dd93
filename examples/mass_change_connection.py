#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Move the datasets of one project from one connection to another, with the DSS Python client.

This is the "Mass-change filesystem Connections" example of the DSS developer guide, written
for Switchboard: it walks the project's datasets, and for each one whose `params.connection`
names the old connection, sets the new one and saves the whole dataset definition back.

    pip install dataiku-api-client
    export SWITCHBOARD_API_KEY=...          # a key that may write the project
    python3 mass_change_connection.py --host http://127.0.0.1:11200 \\
        --project SALES --from fs_old --to fs_new --dry-run

Drop --dry-run to make the change. The script needs the `dataikuapi` package from
dataiku-api-client, which Switchboard's CI does not install: it is documentation, not run in
CI (tests/api/test_lifecycle.py runs the same walk through a look-alike of the client).

The walk saves one dataset at a time, so an error half-way leaves the datasets already saved
on the new connection; run it again to finish. Switchboard also has a server-side action that
moves them all in one transaction, or none:
POST /dip/publicapi/projects/{key}/actions/change-connection {"from", "to", "dryRun"}.
"""

import argparse
import os
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Move every dataset of a project from one connection to another.")
    parser.add_argument("--host", default=os.environ.get("SWITCHBOARD_URL",
                                                         "http://127.0.0.1:11200"),
                        help="server URL (default: $SWITCHBOARD_URL or %(default)s)")
    parser.add_argument("--api-key", default=os.environ.get("SWITCHBOARD_API_KEY"),
                        help="API key (default: $SWITCHBOARD_API_KEY, which other users "
                             "cannot see in the process list, unlike this flag)")
    parser.add_argument("--project", required=True, help="project key, e.g. SALES")
    parser.add_argument("--from", dest="old", required=True, metavar="CONNECTION",
                        help="the connection the datasets use now")
    parser.add_argument("--to", dest="new", required=True, metavar="CONNECTION",
                        help="the connection to move them to")
    parser.add_argument("--dry-run", action="store_true",
                        help="list the datasets that would move, change nothing")
    args = parser.parse_args(argv)
    if not args.api_key:
        parser.error("no API key: set SWITCHBOARD_API_KEY or pass --api-key")
    if args.old == args.new:
        parser.error("--from and --to name the same connection")
    return args


def mass_change(project, old, new, dry_run=False, out=sys.stdout):
    """Points every dataset of PROJECT that uses connection OLD at NEW (or only says which
    ones would move, with DRY_RUN). Returns the names of those datasets."""
    moved = []
    for item in project.list_datasets():
        settings = project.get_dataset(item.name).get_settings()
        raw = settings.get_raw()
        params = raw.get("params") or {}
        if params.get("connection") != old:
            continue
        moved.append(item.name)
        if dry_run:
            print("would move %s (%s) from %s to %s" % (item.name, raw.get("type"), old, new),
                  file=out)
            continue
        params["connection"] = new
        raw["params"] = params
        settings.save()  # PUTs the whole definition back: fields it does not know are kept
        print("moved %s (%s) from %s to %s" % (item.name, raw.get("type"), old, new), file=out)
    return moved


def main(argv=None):
    args = parse_args(argv)
    try:
        from dataikuapi import DSSClient
        from dataikuapi.utils import DataikuException
    except ImportError:
        print("this example needs the DSS Python client: pip install dataiku-api-client",
              file=sys.stderr)
        return 2

    client = DSSClient(args.host, args.api_key)
    project = client.get_project(args.project)
    try:
        moved = mass_change(project, args.old, args.new, args.dry_run)
    except DataikuException as e:
        # e.g. "BadRequest: Dataset 'x' of type Filesystem cannot use connection 'pg' ..."
        print("stopped: %s" % e, file=sys.stderr)
        return 1
    print("%d dataset(s) %s" % (len(moved), "would move (dry run)" if args.dry_run else "moved"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
