"""Upgrades (issue 19 point 6, docs/UPGRADING.md): the binary of an older commit of this
repository (pinned below; built in a git worktree under build/upgrade/, kept between runs) fills
a data directory, then the current binary starts on it: schema migrations run, and connections
with their secrets, API keys, users, groups, projects and the audit trail are all there. On the
PostgreSQL pass, the same on a PostgreSQL store. Rolling back is a restore of the backup made
before: an old binary refuses a store migrated past what it knows."""
import os
import shutil
import subprocess
import unittest

from server import STORE, ApiTestCase, Server, random_key

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# The main branch when issue 19 was opened: before secrets were bound to their place, before
# the config file, the audit requestId and the stores' shared logic.
PINNED = "09bfefc"
BUILD = os.path.join(ROOT, "build", "upgrade")
OLD_SRC = os.path.join(BUILD, PINNED)
OLD_BIN = os.path.join(OLD_SRC, "build", "switchboard")


def build_old_binary():
    """The optimised binary of PINNED; returns None, or why it cannot be had."""
    if os.path.exists(OLD_BIN):
        return None
    if shutil.which("git") is None:
        return "git is needed"
    r = subprocess.run(["git", "-C", ROOT, "cat-file", "-e", PINNED + "^{commit}"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return "commit %s is not in this clone (shallow?)" % PINNED
    os.makedirs(BUILD, exist_ok=True)
    subprocess.run(["git", "-C", ROOT, "worktree", "prune"], capture_output=True)
    if not os.path.exists(os.path.join(OLD_SRC, "Makefile")):
        shutil.rmtree(OLD_SRC, ignore_errors=True)
        r = subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", OLD_SRC, PINNED],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise AssertionError("git worktree add failed: " + r.stderr)
    r = subprocess.run(["make", "-s", "-j2", "build/switchboard"], cwd=OLD_SRC,
                       capture_output=True, text=True, timeout=1200)
    if r.returncode != 0:
        raise AssertionError("building %s failed:\n%s" % (PINNED, r.stdout[-3000:] +
                                                          r.stderr[-3000:]))
    return None


class UpgradeTest(ApiTestCase):

    @classmethod
    def setUpClass(cls):
        why = build_old_binary()
        if why:
            raise unittest.SkipTest(why)

    def fill(self, s):
        """What the old version stores: returns what to find after the upgrade."""
        password = "pw-" + random_key(24)
        s.remember_secret(password)
        r = s.api("POST", "/admin/connections/", {
            "name": "up_pg", "type": "PostgreSQL", "description": "before the upgrade",
            "params": {"host": "db.internal", "port": "5432", "db": "sales", "user": "etl",
                       "password": password,
                       "properties": [{"name": "sslpassword", "value": "prop-" + password,
                                       "secret": True}]},
            "usableBy": "ALLOWED", "allowedGroups": ["up_team"]})
        self.assertStatus(r, 200)
        conn = r.json
        r = s.api("PUT", "/admin/connections/up_pg", dict(conn, description="version 2"))
        self.assertStatus(r, 200)
        conn = r.json
        self.assertStatus(s.api("POST", "/admin/connections/", {
            "name": "up_fs", "type": "Filesystem", "params": {"root": "/srv/up"}}), 200)
        self.assertStatus(s.api("POST", "/admin/groups/", {"name": "up_team"}), 200)
        self.assertStatus(s.api("POST", "/admin/users/", {
            "login": "up_ana", "password": "a-long-password-1", "groups": ["up_team"]}), 200)
        key = s.create_key(admin=False, groups=["up_team"], label="up key")["key"]
        self.assertStatus(s.api("POST", "/projects/", {"projectKey": "UP", "name": "Up"}), 200)
        self.assertStatus(s.api("POST", "/projects/UP/datasets/", {
            "projectKey": "UP", "name": "up_ds", "type": "PostgreSQL",
            "params": {"connection": "up_pg", "table": "t"}}), 200)
        return {"conn": conn, "password": password, "key": key}

    def check(self, s, before):
        # the definition, secrets in encrypted form (possibly re-sealed), everything else as it was
        r = s.api("GET", "/admin/connections/up_pg")
        self.assertStatus(r, 200)
        for field in ("name", "type", "description", "usableBy", "allowedGroups"):
            self.assertEqual(r.json[field], before["conn"][field], field)
        self.assertEqual(r.json["creationTag"]["versionNumber"], 2)
        self.assertTrue(r.json["params"]["password"].startswith("e:"))
        # the secrets open: plaintext through /info
        info = s.api("GET", "/connections/up_pg/info")
        self.assertStatus(info, 200)
        self.assertEqual(info.json["resolvedBasicCredential"],
                         {"user": "etl", "password": before["password"]})
        # a get -> put round trip keeps working (no double encryption, no refusal)
        r = s.api("PUT", "/admin/connections/up_pg", dict(r.json, description="version 3"))
        self.assertStatus(r, 200)
        info = s.api("GET", "/connections/up_pg/info")
        self.assertEqual(info.json["resolvedParams"]["password"], before["password"])
        # history, the key made before (it may use the connection), users, projects, audit
        hist = s.api("GET", "/admin/connections/up_pg/history").json
        self.assertEqual([h["versionNumber"] for h in hist], [1, 2, 3])
        self.assertEqual(sorted(s.api("GET", "/connections/get-names", key=before["key"]).json),
                         ["up_fs", "up_pg"])
        self.assertStatus(s.api("GET", "/admin/users/up_ana"), 200)
        self.assertStatus(s.api("GET", "/projects/UP/datasets/up_ds"), 200)
        usages = s.api("GET", "/admin/connections/up_pg/usages").json
        self.assertEqual([u["datasetName"] for u in usages], ["up_ds"])
        audit = s.api("GET", "/admin/audit?limit=100").json
        self.assertIn("connection.create", [a["action"] for a in audit])

    def test_current_binary_starts_on_an_older_data_directory_with_everything_intact(self):
        s = Server()
        self.addCleanup(s.cleanup)
        self.server = s
        new_binary = s.binary
        s.binary = OLD_BIN
        s.start()
        before = self.fill(s)
        s.stop()
        s.binary = new_binary
        s.start()
        self.check(s, before)
        ready = s.request("GET", "/readyz", key=None)
        self.assertStatus(ready, 200)
        s.stop()
        s.assert_log_clean()

    def test_old_binary_refuses_the_upgraded_store(self):
        # so that rolling back means restoring the backup made before the upgrade
        s = Server()
        self.addCleanup(s.cleanup)
        self.server = s
        new_binary = s.binary
        s.binary = OLD_BIN
        s.start()
        self.fill(s)
        s.stop()
        s.binary = new_binary
        s.start()
        s.stop()
        s.binary = OLD_BIN
        open(s.stderr_path, "ab").close()
        code, err = s.start_expecting_exit()
        self.assertNotEqual(code, 0, "the old binary ran on the upgraded store")
        # refused before serving: a newer schema, or secrets sealed in the newer format
        self.assertRegex(err, r"newer than this Switchboard|cannot be read with this master key")


if __name__ == "__main__":
    unittest.main()
