"""Rotation cannot lose data (issue 19 point 4): every write that may seal checks, in its
transaction, that the store's key check value is still the one of this node's master key; when
a rotation elsewhere changed it, the write is refused with 503 ("the master key changed:
restart with the new key") and nothing is written. The change of key is made here the way a
rotation on another node makes it, by changing the stored check value under a running node."""
import os
import sqlite3
import subprocess
import unittest

from server import STORE, OwnServerTestCase


class RotationGuardTest(OwnServerTestCase):

    def set_key_check(self, value):
        if STORE == "sqlite":
            db = sqlite3.connect(os.path.join(self.server.data_dir, "switchboard.db"), timeout=10)
            old = db.execute("SELECT value FROM meta WHERE name = 'key_check'").fetchone()[0]
            db.execute("UPDATE meta SET value = ? WHERE name = 'key_check'", (value,))
            db.commit()
            db.close()
            return old
        url = self.server.store_url
        out = subprocess.run(["psql", "-X", "-At", url, "-c",
                              "SELECT value FROM meta WHERE name = 'key_check'"],
                             capture_output=True, text=True, check=True).stdout.strip()
        subprocess.run(["psql", "-X", "-q", url, "-c",
                        "UPDATE meta SET value = '%s' WHERE name = 'key_check'" % value],
                       capture_output=True, check=True)
        return out

    def test_writes_are_refused_once_the_key_check_changed_and_reads_go_on(self):
        s = self.server
        s.create_connection("guard_before", type="PostgreSQL",
                            params={"host": "h", "user": "u", "password": "pw-before-1"})
        old = self.set_key_check("0" * 64)
        r = s.api("POST", "/admin/connections/", {
            "name": "guard_during", "type": "PostgreSQL",
            "params": {"host": "h", "user": "u", "password": "pw-during-1"}})
        self.assertError(r, 503, "ServiceUnavailable")
        self.assertIn("master key changed", r.json["detailedMessage"])
        r = s.api("PUT", "/admin/users/nobody_there", {"login": "nobody_there"})
        self.assertEqual(r.status, 503)
        self.assertStatus(s.api("GET", "/admin/connections/guard_before"), 200)
        self.assertError(s.api("GET", "/admin/connections/guard_during"), 404, "NotFound")
        # the key is back (say, the rotation was undone): writes go on
        self.set_key_check(old)
        self.assertStatus(s.api("POST", "/admin/connections/", {
            "name": "guard_after", "type": "Filesystem", "params": {"root": "/x"}}), 200)


if __name__ == "__main__":
    unittest.main()
