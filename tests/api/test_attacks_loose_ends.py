# SPDX-License-Identifier: Apache-2.0
"""Issue 12, points 7 and 9: private files, and loose ends an attacker could use.

- The server refuses to start when its data directory or its master key file is readable or
  writable by group or others, with a message naming the file and the chmod that fixes it
  (a copied or shared data directory must not quietly serve other local users the key that
  opens every secret); `make run` creates ./data as 0700.
- Deleting a group removes it from every user and global API key, so that a group later
  created under the same name (say, with admin rights) grants nothing to the old members.
- Dataset creates, updates and deletes are audited like connection changes.
"""

import os
import shutil
import subprocess
import tempfile
import time
import unittest

from server import REPO, OwnServerTestCase, Server, ServerTestCase, random_key, sqlite_only

QUICK = 5.0


class PrivateFilesTest(OwnServerTestCase):

    def assertRefusedNaming(self, path, fix, args=None):
        started = time.monotonic()
        rc, err = self.server.start_expecting_exit(timeout=QUICK + 5, args=args)
        self.assertIsNotNone(rc, "the server kept running")
        self.assertNotEqual(rc, 0)
        self.assertLess(time.monotonic() - started, QUICK)
        self.assertIn(path, err, "the message does not name the file: %s"
                      % self.server.redact(err))
        self.assertIn("chmod %s" % fix, err, "the message does not give the chmod: %s"
                      % self.server.redact(err))

    def test_data_directory_open_to_group_or_others_is_refused(self):
        s = self.server
        s.stop()
        for mode in (0o755, 0o750, 0o770, 0o707, 0o720, 0o702):
            with self.subTest(mode=oct(mode)):
                os.chmod(s.data_dir, mode)
                self.assertRefusedNaming(s.data_dir, "700")
        os.chmod(s.data_dir, 0o700)
        s.start()
        self.assertStatus(s.api("GET", "/auth/info"), 200)
        # traversal alone (x for others) neither reads nor writes anything: allowed
        s.stop()
        os.chmod(s.data_dir, 0o711)
        s.start()

    def test_master_key_file_open_to_group_or_others_is_refused(self):
        s = self.server
        key = os.path.join(s.data_dir, "secret.key")
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
        s.stop()
        for mode in (0o644, 0o640, 0o604, 0o620, 0o602, 0o660):
            with self.subTest(mode=oct(mode)):
                os.chmod(key, mode)
                self.assertRefusedNaming(key, "600")
        os.chmod(key, 0o400)
        s.start()
        self.assertStatus(s.api("GET", "/auth/info"), 200)

    def test_master_key_file_given_by_flag_is_checked_too(self):
        s = self.server
        s.stop()
        keydir = tempfile.mkdtemp(prefix="switchboard-key-")
        self.addCleanup(shutil.rmtree, keydir, True)
        other = os.path.join(keydir, "master.key")
        shutil.copy(os.path.join(s.data_dir, "secret.key"), other)
        os.chmod(other, 0o644)
        self.assertRefusedNaming(other, "600", args=["--secret-key-file", other] + s.args)

    def test_rotate_key_refuses_an_open_data_directory(self):
        s = self.server
        s.stop()
        os.chmod(s.data_dir, 0o755)
        proc = s.run_cli("admin", "rotate-key", "--data-dir", s.data_dir, *s.args)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("chmod 700", proc.stderr)
        os.chmod(s.data_dir, 0o700)

    @sqlite_only  # a fresh data directory has a fresh key, which a shared store refuses
    def test_a_data_directory_the_server_creates_is_private(self):
        s = self.server
        s.stop()
        fresh = os.path.join(s.tmp, "fresh", "data")
        old_umask = os.umask(0o022)
        try:
            rc, err = s.start_expecting_exit(timeout=3, args=["--data-dir", fresh])
        finally:
            os.umask(old_umask)
        self.assertIsNone(rc, "the server did not start: %s" % s.redact(err))
        self.assertEqual(os.stat(fresh).st_mode & 0o777, 0o700)
        self.assertEqual(os.stat(os.path.join(fresh, "secret.key")).st_mode & 0o777, 0o600)


class MakeRunTest(unittest.TestCase):

    def test_make_run_creates_data_as_0700(self):
        """The recipe of `make run` (read with make -n) run under umask 022 in a fresh
        directory leaves ./data at 0700."""
        out = subprocess.run(["make", "-s", "-n", "-C", REPO, "run"], capture_output=True,
                             text=True, timeout=120).stdout
        lines = [l.strip() for l in out.splitlines() if l.strip().startswith("mkdir") and
                 "data" in l]
        self.assertEqual(len(lines), 1, out)
        cwd = tempfile.mkdtemp(prefix="switchboard-makerun-")
        self.addCleanup(shutil.rmtree, cwd, True)
        subprocess.run("umask 022 && " + lines[0], shell=True, cwd=cwd, check=True)
        self.assertEqual(os.stat(os.path.join(cwd, "data")).st_mode & 0o777, 0o700)


class GroupDeletionTest(ServerTestCase):

    def test_deleting_a_group_removes_it_from_every_user_and_key(self):
        s = self.server
        s.create_group("ld_ops", admin=True)
        s.create_group("ld_keep")
        bob_key = s.user_with_key("ld_bob", groups=["ld_ops", "ld_keep"])
        gkey = s.create_key(groups=["ld_ops", "ld_keep"])
        self.assertTrue(s.auth_info(bob_key)["admin"])
        self.assertStatus(s.api("DELETE", "/admin/groups/ld_ops"), 200)

        self.assertEqual(s.api("GET", "/admin/users/ld_bob").json["groups"], ["ld_keep"])
        self.assertEqual(s.api("GET", "/admin/global-api-keys/%s" % gkey["id"]).json["groups"],
                         ["ld_keep"])
        self.assertFalse(s.auth_info(bob_key)["admin"])
        self.assertEqual(s.auth_info(gkey["key"])["groups"], ["ld_keep"])

        # the name created again, with admin rights, grants nothing to the old members
        s.create_group("ld_ops", admin=True)
        info = s.auth_info(bob_key)
        self.assertFalse(info["admin"], "a re-created group made the old member an admin")
        self.assertNotIn("ld_ops", info["groups"])
        self.assertError(s.api("GET", "/admin/connections/", key=bob_key), 403, "Forbidden")
        self.assertNotIn("ld_ops", s.auth_info(gkey["key"])["groups"])
        self.assertEqual(s.api("GET", "/admin/users/ld_bob").json["groups"], ["ld_keep"])

    def test_deleting_an_unknown_group_is_not_found_and_changes_nothing(self):
        s = self.server
        s.create_group("ld_other")
        s.create_user("ld_carol", groups=["ld_other", "ld_missing"])
        self.assertError(s.api("DELETE", "/admin/groups/ld_missing"), 404, "NotFound")
        self.assertEqual(s.api("GET", "/admin/users/ld_carol").json["groups"],
                         ["ld_other", "ld_missing"])


class DatasetAuditTest(ServerTestCase):

    def records(self, t0):
        r = self.server.api("GET", "/admin/audit?limit=1000")
        self.assertStatus(r, 200)
        return [(x["action"], x["object"], x["outcome"], x["principal"])
                for x in reversed(r.json) if x["ts"] >= t0]

    def test_dataset_create_update_delete_are_audited(self):
        s = self.server
        s.create_connection("da_fs")
        s.create_connection("da_closed", usableBy="ALLOWED", allowedGroups=[])
        writer_key = s.user_with_key("da_writer")
        self.assertStatus(s.api("POST", "/projects/", {
            "projectKey": "DA", "name": "DA", "owner": "da_writer"}), 200)
        t0 = int(time.time() * 1000) - 1
        ds = {"projectKey": "DA", "name": "orders", "type": "Filesystem",
              "params": {"connection": "da_fs", "path": "/orders"}}
        self.assertStatus(s.api("POST", "/projects/DA/datasets/", ds, key=writer_key), 200)
        ds["params"]["path"] = "/orders2"
        self.assertStatus(s.api("PUT", "/projects/DA/datasets/orders", ds, key=writer_key), 200)
        ds["params"]["connection"] = "da_closed"
        self.assertStatus(s.api("PUT", "/projects/DA/datasets/orders", ds, key=writer_key), 403)
        bad = {"projectKey": "DA", "name": "bad", "type": "Filesystem",
               "params": {"connection": "da_nowhere"}}
        self.assertStatus(s.api("POST", "/projects/DA/datasets/", bad, key=writer_key), 400)
        self.assertStatus(s.api("DELETE", "/projects/DA/datasets/orders", key=writer_key), 200)
        self.assertStatus(s.api("DELETE", "/projects/DA/datasets/orders", key=writer_key), 404)
        # a managed dataset is created through its own route (DSSManagedDatasetCreationHelper)
        managed = {"name": "managed_one", "creationSettings": {"connectionId": "da_fs"}}
        self.assertStatus(s.api("POST", "/projects/DA/datasets/managed", managed,
                                key=writer_key), 200)
        managed["creationSettings"]["connectionId"] = "da_closed"
        managed["name"] = "managed_two"
        self.assertStatus(s.api("POST", "/projects/DA/datasets/managed", managed,
                                key=writer_key), 403)
        got = self.records(t0)
        want = [("dataset.create", "DA/orders", "success", "da_writer"),
                ("dataset.update", "DA/orders", "success", "da_writer"),
                ("dataset.update", "DA/orders", "denied", "da_writer"),
                ("dataset.create", "DA/bad", "failed", "da_writer"),
                ("dataset.delete", "DA/orders", "success", "da_writer"),
                ("dataset.delete", "DA/orders", "failed", "da_writer"),
                ("dataset.create", "DA/managed_one", "success", "da_writer"),
                ("dataset.create", "DA/managed_two", "denied", "da_writer")]
        self.assertEqual([g for g in got if g[0].startswith("dataset.")], want)
        with open(os.path.join(s.data_dir, "audit.log")) as f:
            log = f.read()
        self.assertIn('"action":"dataset.delete","object":"DA/orders"', log.replace(" ", ""))


if __name__ == "__main__":
    unittest.main()
