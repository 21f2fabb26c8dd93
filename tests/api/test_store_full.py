# SPDX-License-Identifier: Apache-2.0
"""Store failures: a write that cannot be made durable because the disk is full answers 503
ServiceUnavailable and leaves nothing half-written; reads keep being served; writes succeed again
once space returns. The data directory is on a 4 MiB tmpfs the test mounts itself (root only:
skipped, saying why, where mount is not permitted); the server's logs stay outside it."""

import errno
import os
import shutil
import sqlite3
import subprocess
import tempfile
import unittest

from server import ApiTestCase, Server, sqlite_only

SIZE = "4m"
NOTES = "x" * 60000  # large rows make the WAL grow, so that a full disk shows at once


def mount_tmpfs(path):
    """Mounts a SIZE tmpfs on PATH; returns None, or why it cannot."""
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root (running as uid %d)" % os.geteuid()
    if shutil.which("mount") is None:
        return "no mount command"
    try:
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % SIZE,
                               "tmpfs", path], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as e:
        return "mount failed: %r" % e
    if proc.returncode != 0:
        return "mount -t tmpfs is not permitted here: %s" % proc.stderr.strip()
    return None


def fill(path):
    """Writes PATH until the file system is full; returns the bytes written."""
    chunk = b"\0" * 65536
    written = 0
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                written += f.write(chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                if len(chunk) == 1:
                    break
                chunk = chunk[:len(chunk) // 2]
        try:
            os.fsync(f.fileno())
        except OSError:
            pass
    return written


@sqlite_only
class StoreFullTest(ApiTestCase):

    def setUp(self):
        self.mnt = tempfile.mkdtemp(prefix="switchboard-full-")
        self.addCleanup(shutil.rmtree, self.mnt, True)
        why = mount_tmpfs(self.mnt)
        if why:
            self.skipTest(why)
        self.addCleanup(subprocess.run, ["umount", "-l", self.mnt], capture_output=True)
        self.server = Server()
        self.addCleanup(self.server.cleanup)
        self.server.data_dir = os.path.join(self.mnt, "data")  # logs stay in server.tmp
        os.mkdir(self.server.data_dir, 0o700)
        self.filler = os.path.join(self.mnt, "filler")
        self.server.start()

    def tearDown(self):
        if os.path.exists(self.filler):
            os.unlink(self.filler)
        self.server.stop()
        self.server.assert_log_clean()

    def conn_body(self, name, **fields):
        body = {"name": name, "type": "Filesystem", "params": {"root": "/srv/" + name},
                "notes": NOTES}
        body.update(fields)
        return body

    def integrity_check(self):
        path = os.path.join(self.server.data_dir, "switchboard.db")
        db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
        try:
            return [row[0] for row in db.execute("PRAGMA integrity_check")]
        finally:
            db.close()

    def assertReadsServed(self, expected):
        """GET of each connection of EXPECTED (name -> 200 answer) and the list."""
        s = self.server
        for name, d in expected.items():
            r = s.api("GET", "/admin/connections/" + name)
            self.assertStatus(r, 200, "GET %s on a full disk" % name)
            self.assertSameJson(r.json, d, name)
        r = s.api("GET", "/admin/connections/")
        self.assertStatus(r, 200, "list on a full disk")
        self.assertEqual(sorted(r.json), sorted(expected))
        r = s.api("GET", "/connections/get-names?type=Filesystem")
        self.assertStatus(r, 200, "get-names on a full disk")
        self.assertEqual(sorted(r.json), sorted(expected))
        self.assertStatus(s.request("GET", "/healthz", key=None), 200)

    def test_full_disk_answers_503_keeps_reads_and_recovers(self):
        s = self.server
        acked = {}
        for i in range(3):
            d = s.create_connection("before_%d" % i, notes=NOTES)
            acked[d["name"]] = d
        r = s.api("PUT", "/admin/connections/before_0", dict(acked["before_0"], description="v2"))
        self.assertStatus(r, 200)
        acked["before_0"] = r.json

        fill(self.filler)

        # creates until one fails: a write may still fit in space the store already holds
        refused = None
        for i in range(40):
            name = "during_%02d" % i
            r = s.api("POST", "/admin/connections/", self.conn_body(name))
            if r.status == 200:
                acked[name] = r.json
                continue
            refused = name
            break
        self.assertIsNotNone(refused, "40 creates of 60 KB succeeded on a full 4 MiB disk")
        self.assertError(r, 503, "ServiceUnavailable")
        self.assertError(s.api("GET", "/admin/connections/" + refused), 404, "NotFound")

        # updates and deletes fail whole too
        r = s.api("PUT", "/admin/connections/before_1",
                  dict(acked["before_1"], notes="lost " + NOTES))
        self.assertError(r, 503, "ServiceUnavailable")
        r = s.api("DELETE", "/admin/connections/before_2")
        self.assertError(r, 503, "ServiceUnavailable")
        r = s.api("POST", "/admin/connections/", self.conn_body("during_small", description=""))
        self.assertError(r, 503, "ServiceUnavailable")

        # reads are served, and show nothing of the refused writes
        self.assertReadsServed(acked)
        self.assertStatus(s.api("GET", "/auth/info"), 200)

        os.unlink(self.filler)

        # space is back: writes succeed at once
        r = s.api("POST", "/admin/connections/", self.conn_body(refused))
        self.assertStatus(r, 200, "create after space returned")
        acked[refused] = r.json
        r = s.api("PUT", "/admin/connections/before_1", dict(acked["before_1"], description="v2"))
        self.assertStatus(r, 200, "update after space returned")
        self.assertEqual(r.json["creationTag"]["versionNumber"], 2)
        acked["before_1"] = r.json
        self.assertStatus(s.api("DELETE", "/admin/connections/before_2"), 200)
        del acked["before_2"]
        self.assertReadsServed(acked)

        # and all of it is what a restart finds
        s.restart()
        self.assertReadsServed(acked)
        self.assertEqual(self.integrity_check(), ["ok"])

    def test_full_disk_during_a_bulk_import_writes_none_of_it(self):
        s = self.server
        kept = s.create_connection("kept")
        fill(self.filler)
        items = [self.conn_body("imported_%02d" % i) for i in range(14)]  # about 840 KB
        r = s.api("POST", "/admin/connections/actions/import", {"connections": items})
        self.assertError(r, 503, "ServiceUnavailable")
        self.assertReadsServed({"kept": kept})
        os.unlink(self.filler)
        r = s.api("POST", "/admin/connections/actions/import", {"connections": items})
        self.assertStatus(r, 200, "import after space returned")
        self.assertEqual(len(r.json["created"]), 14)


if __name__ == "__main__":
    unittest.main()
