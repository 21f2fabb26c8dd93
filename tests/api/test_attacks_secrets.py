# SPDX-License-Identifier: Apache-2.0
"""Attacks on sealed secrets (issue 12, point 1; docs/API.md §4.2, §5.3).

Every `e:xc1:` value is bound to its place (object kind, object name, field path; for a user
credential the login and the connection). The attack these tests replay: a non-admin user `bob`
with a PER_USER connection pastes another connection's encrypted password (visible to admins,
in an export without secrets, or in a copy of the database) into his own credential through
`PUT /current-user`, then reads it back in clear from `/connections/{name}/info`. Before the
binding, that worked. Also: what must keep working with the binding (get -> set round trips,
history and revert, export and import into the same server, key rotation) and the upgrade of a
store written before it (fixtures/legacy-secrets, made by the server of commit 09bfefc).
"""

import json
import re
import os
import shutil
import subprocess
import unittest

from server import (STORE, OwnServerTestCase, Server, ServerTestCase, peers_env, random_key)
from test_cli import Cli

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "legacy-secrets")


class SecretValues:
    """Mixin: fresh secret values the harness keeps out of logs and failure messages."""

    def secret(self, label):
        value = "%s-%s" % (label, random_key(20))
        self.server.remember_secret(value)
        return value

    def ok(self, r, what=""):
        self.assertStatus(r, 200, what)
        return r.json

    def info(self, name, key=None):
        kwargs = {} if key is None else {"key": key}
        return self.ok(self.server.api("GET", "/connections/%s/info" % name, **kwargs),
                       "info of %s" % name)

    def definition(self, name):
        return self.ok(self.server.api("GET", "/admin/connections/%s" % name))

    def pg(self, name, password, **fields):
        fields.setdefault("detailsReadability", {"readableBy": "ALL", "allowedGroups": []})
        return self.server.create_connection(name, type="PostgreSQL", params={
            "host": "db.invalid", "db": "d", "user": "u", "password": password}, **fields)


class PastedCiphertextTest(SecretValues, ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bob_key = cls.server.user_with_key("bob")
        cls.alice_key = cls.server.user_with_key("alice")

    def per_user(self, name):
        return self.server.create_connection(
            name, type="PostgreSQL", credentialsMode="PER_USER",
            params={"host": "db.invalid", "db": "d"},
            detailsReadability={"readableBy": "ALL", "allowedGroups": []})

    def set_own_credential(self, key, conn, password, expect=200):
        me = self.ok(self.server.api("GET", "/current-user", key=key))
        me["credentials"][conn] = {"type": "BASIC", "user": "someone", "password": password}
        return self.server.api("PUT", "/current-user", me, key=key)

    def test_bob_cannot_paste_another_connections_password_into_his_credential(self):
        victim_pw = self.secret("victim")
        self.pg("atk_victim", victim_pw, usableBy="ALLOWED", allowedGroups=[])
        self.per_user("atk_mine")
        stolen = self.definition("atk_victim")["params"]["password"]
        self.assertTrue(stolen.startswith("e:xc1:"))

        r = self.set_own_credential(self.bob_key, "atk_mine", stolen)
        self.assertError(r, 400, "BadRequest", mentions="credentials.atk_mine.password")
        self.assertNoSecret(r.raw, victim_pw, "the refusal")
        me = self.ok(self.server.api("GET", "/current-user", key=self.bob_key))
        self.assertNotIn("atk_mine", me["credentials"], "the refused credential was stored")
        r = self.server.api("GET", "/connections/atk_mine/info", key=self.bob_key)
        self.assertError(r, 403, "Forbidden")
        self.assertNoSecret(r.raw, victim_pw, "/info")

        # nor through an administrator (who might be tricked into saving it)
        settings = self.ok(self.server.api("GET", "/admin/users/bob"))
        settings["credentials"]["atk_mine"] = {"type": "BASIC", "user": "b", "password": stolen}
        r = self.server.api("PUT", "/admin/users/bob", settings)
        self.assertError(r, 400, "BadRequest", mentions="credentials.atk_mine.password")
        r = self.server.api("GET", "/connections/atk_mine/info", key=self.bob_key)
        self.assertStatus(r, 403)
        self.assertNoSecret(r.raw, victim_pw, "/info")

        # nor into his list of secrets, read back by /auth/info?withSecrets=true
        me = self.ok(self.server.api("GET", "/current-user", key=self.bob_key))
        me["secrets"] = [{"name": "loot", "value": stolen}]
        r = self.server.api("PUT", "/current-user", me, key=self.bob_key)
        self.assertError(r, 400, "BadRequest", mentions="secrets[0].value")
        r = self.server.api("GET", "/auth/info?withSecrets=true", key=self.bob_key)
        self.assertStatus(r, 200)
        self.assertNoSecret(r.raw, victim_pw, "/auth/info?withSecrets=true")

    def test_bob_cannot_take_alices_credential_for_the_same_connection(self):
        alice_pw = self.secret("alice-db")
        self.per_user("atk_shared")
        self.assertStatus(self.set_own_credential(self.alice_key, "atk_shared", alice_pw), 200)
        sealed = self.ok(self.server.api("GET", "/admin/users/alice"))[
            "credentials"]["atk_shared"]["password"]
        r = self.set_own_credential(self.bob_key, "atk_shared", sealed)
        self.assertError(r, 400, "BadRequest", mentions="credentials.atk_shared.password")
        r = self.server.api("GET", "/connections/atk_shared/info", key=self.bob_key)
        self.assertStatus(r, 403)
        self.assertNoSecret(r.raw, alice_pw, "bob's /info")
        got = self.info("atk_shared", key=self.alice_key)["resolvedBasicCredential"]
        self.assertTrue(got["password"] == alice_pw, "alice's credential no longer resolves")

    def test_a_user_may_send_back_only_the_value_stored_in_that_slot(self):
        first, second = self.secret("first"), self.secret("second")
        self.per_user("atk_roundtrip")
        self.assertStatus(self.set_own_credential(self.bob_key, "atk_roundtrip", first), 200)
        me = self.ok(self.server.api("GET", "/current-user", key=self.bob_key))
        old_sealed = me["credentials"]["atk_roundtrip"]["password"]
        self.assertTrue(old_sealed.startswith("e:xc1:"))
        # get -> set with the stored value: kept byte for byte
        again = self.ok(self.server.api("PUT", "/current-user", me, key=self.bob_key))
        self.assertEqual(again["credentials"]["atk_roundtrip"]["password"], old_sealed)
        got = self.info("atk_roundtrip", key=self.bob_key)["resolvedBasicCredential"]
        self.assertTrue(got["password"] == first, "the credential does not resolve")
        # change it; the old ciphertext, though sealed for this very slot, is no longer stored
        self.assertStatus(self.set_own_credential(self.bob_key, "atk_roundtrip", second), 200)
        r = self.set_own_credential(self.bob_key, "atk_roundtrip", old_sealed)
        self.assertError(r, 400, "BadRequest", mentions="credentials.atk_roundtrip.password")
        got = self.info("atk_roundtrip", key=self.bob_key)["resolvedBasicCredential"]
        self.assertTrue(got["password"] == second, "the refused PUT changed the credential")

    def test_ciphertext_moved_to_another_connection_or_field_is_refused(self):
        pw = self.secret("moved")
        self.pg("atk_src", pw)
        self.pg("atk_dst", self.secret("dst"))
        sealed = self.definition("atk_src")["params"]["password"]
        d = self.definition("atk_dst")
        before = json.loads(json.dumps(d))
        d["params"]["password"] = sealed
        r = self.server.api("PUT", "/admin/connections/atk_dst", d)
        self.assertError(r, 400, "BadRequest", mentions="params.password")
        self.assertNoSecret(r.raw, pw, "the refusal")
        # into another field of its own connection
        d = self.definition("atk_src")
        d["params"]["token"] = sealed
        r = self.server.api("PUT", "/admin/connections/atk_src", d)
        self.assertError(r, 400, "BadRequest", mentions="params.token")
        # into a secret property
        d = self.definition("atk_dst")
        d["params"]["properties"] = [{"name": "sslpassword", "value": sealed, "secret": True}]
        r = self.server.api("PUT", "/admin/connections/atk_dst", d)
        self.assertError(r, 400, "BadRequest", mentions="params.properties[0].value")
        self.assertSameJson(self.definition("atk_dst"), before, "atk_dst after the refusals")
        # through an import under another name
        r = self.server.api("POST", "/admin/connections/actions/import", {"connections": [
            {"name": "atk_imported", "type": "PostgreSQL",
             "params": {"host": "h", "password": sealed}}], "onConflict": "fail"})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["created"], [])
        self.assertIn("params.password", json.dumps(r.json["errors"]))
        self.assertStatus(self.server.api("GET", "/admin/connections/atk_imported"), 404)

    def test_history_and_revert_keep_working(self):
        pw1, pw2 = self.secret("v1"), self.secret("v2")
        self.pg("atk_hist", pw1)
        d = self.definition("atk_hist")
        d["params"]["password"] = pw2
        self.ok(self.server.api("PUT", "/admin/connections/atk_hist", d))
        history = self.ok(self.server.api("GET", "/admin/connections/atk_hist/history"))
        self.assertEqual([h["action"] for h in history], ["create", "update"])
        self.assertTrue(history[0]["definition"]["params"]["password"].startswith("e:xc1:"))
        self.ok(self.server.api("POST", "/admin/connections/atk_hist/actions/revert",
                                {"versionNumber": 1}))
        self.assertTrue(self.info("atk_hist")["resolvedParams"]["password"] == pw1,
                        "the reverted password does not resolve")
        # a get -> set of the reverted definition keeps it
        self.ok(self.server.api("PUT", "/admin/connections/atk_hist", self.definition("atk_hist")))
        self.assertTrue(self.info("atk_hist")["resolvedParams"]["password"] == pw1)

    def test_revert_restores_a_deleted_connection_with_its_secret(self):
        pw = self.secret("gone")
        self.pg("atk_gone", pw)
        self.ok(self.server.api("DELETE", "/admin/connections/atk_gone"))
        self.ok(self.server.api("POST", "/admin/connections/atk_gone/actions/revert",
                                {"versionNumber": 1}))
        self.assertTrue(self.info("atk_gone")["resolvedParams"]["password"] == pw,
                        "the restored password does not resolve")

    def test_export_without_secrets_and_import_into_the_same_server(self):
        pw, prop = self.secret("exp"), self.secret("prop")
        self.server.create_connection("atk_exp", type="PostgreSQL", params={
            "host": "h", "password": pw,
            "properties": [{"name": "sslpassword", "value": prop, "secret": True}]},
            detailsReadability={"readableBy": "ALL", "allowedGroups": []})
        exported = self.definition("atk_exp")
        self.ok(self.server.api("DELETE", "/admin/connections/atk_exp"))
        r = self.ok(self.server.api("POST", "/admin/connections/actions/import",
                                    {"connections": [exported], "onConflict": "fail"}))
        self.assertEqual((r["created"], r["errors"]), (["atk_exp"], []))
        res = self.info("atk_exp")["resolvedParams"]
        self.assertTrue(res["password"] == pw and res["properties"][0]["value"] == prop,
                        "the imported secrets do not resolve")
        # overwrite with the same export
        r = self.ok(self.server.api("POST", "/admin/connections/actions/import",
                                    {"connections": [exported], "onConflict": "overwrite"}))
        self.assertEqual((r["updated"], r["errors"]), (["atk_exp"], []))

    def test_cli_export_and_import_into_the_same_server(self):
        cli = Cli(self)
        self.addCleanup(cli.cleanup)
        cli.secrets.add(self.server.admin_key)
        pw = self.secret("cli")
        cli.secrets.add(pw)
        self.pg("atk_cli", pw)
        for flags in ([], ["--with-secrets"]):
            with self.subTest(flags=flags):
                path = os.path.join(cli.tmp, "export%s.json" % len(flags))
                cli.run("connections", "export", *flags, "-o", path, server=self.server,
                        key=self.server.admin_key)
                self.ok(self.server.api("DELETE", "/admin/connections/atk_cli?force=true"))
                cli.run("connections", "import", path, "--on-conflict", "skip", server=self.server,
                        key=self.server.admin_key)
                self.assertTrue(self.info("atk_cli")["resolvedParams"]["password"] == pw,
                                "the imported password does not resolve")


class RotationKeepsBindingTest(SecretValues, OwnServerTestCase):

    def test_rotate_key_keeps_every_value_at_its_place(self):
        s = self.server
        pw, cred = self.secret("rot"), self.secret("rot-cred")
        self.pg("rot_pg", pw)
        s.create_connection("rot_pu", type="PostgreSQL", credentialsMode="PER_USER",
                            params={"host": "h"},
                            detailsReadability={"readableBy": "ALL", "allowedGroups": []})
        bob_key = s.user_with_key("bob")
        me = self.ok(s.api("GET", "/current-user", key=bob_key))
        me["credentials"]["rot_pu"] = {"type": "BASIC", "user": "b", "password": cred}
        self.ok(s.api("PUT", "/current-user", me, key=bob_key))
        d = self.definition("rot_pg")
        d["params"]["password"] = self.secret("rot-v2")
        self.ok(s.api("PUT", "/admin/connections/rot_pg", d))
        before = self.definition("rot_pg")["params"]["password"]

        s.stop()
        proc = s.run_cli("admin", "rotate-key", "--data-dir", s.data_dir, *s.args)
        self.assertEqual(proc.returncode, 0, s.redact(proc.stderr))
        s.start()

        after = self.definition("rot_pg")["params"]["password"]
        self.assertNotEqual(after, before)
        # history (version 1, sealed for rot_pg) still reverts
        self.ok(s.api("POST", "/admin/connections/rot_pg/actions/revert", {"versionNumber": 1}))
        self.assertTrue(self.info("rot_pg")["resolvedParams"]["password"] == pw)
        got = self.info("rot_pu", key=bob_key)["resolvedBasicCredential"]
        self.assertTrue(got["password"] == cred, "bob's credential does not resolve")
        # the value sealed under the old key is refused now
        d = self.definition("rot_pg")
        d["params"]["password"] = before
        self.assertError(s.api("PUT", "/admin/connections/rot_pg", d), 400, "BadRequest",
                         mentions="params.password")
        # and a pasted value is still refused after the rotation
        me = self.ok(s.api("GET", "/current-user", key=bob_key))
        me["credentials"]["rot_pu"]["password"] = self.definition("rot_pg")["params"]["password"]
        self.assertError(s.api("PUT", "/current-user", me, key=bob_key), 400, "BadRequest",
                         mentions="credentials.rot_pu.password")


class LegacyStoreTest(OwnServerTestCase):
    """A store written before binding (fixtures/legacy-secrets) is re-sealed at the first
    start, once; nothing is lost, and its old ciphertexts cannot be pasted anywhere."""

    def setUp(self):
        with open(os.path.join(FIXTURE, "values.json")) as f:
            self.values = json.load(f)
        prefix = "pg_" if STORE == "postgresql" else ""
        self.admin_key = self.values[prefix + "admin_key"]
        self.lena_key = self.values[prefix + "lena_key"]
        self.server = Server(admin_key=self.admin_key)
        self.addCleanup(self.server.cleanup)
        for k, v in self.values.items():
            self.server.remember_secret(v)
        key_file = os.path.join(self.server.data_dir, "secret.key")
        if STORE == "postgresql":
            shutil.copy(os.path.join(FIXTURE, "pg-secret.key"), key_file)
            env = peers_env()
            subprocess.run(["psql", "-X", "-q", "-h", env["PG_HOST"], "-p", env["PG_PORT"],
                            "-U", env["PG_USER"], "-d", self.server.pg_database,
                            "-v", "ON_ERROR_STOP=1", "-f", os.path.join(FIXTURE, "store.sql")],
                           check=True, env=dict(os.environ, PGPASSWORD=env["PG_PASSWORD"]),
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        else:
            shutil.copy(os.path.join(FIXTURE, "secret.key"), key_file)
            shutil.copy(os.path.join(FIXTURE, "switchboard.db"),
                        os.path.join(self.server.data_dir, "switchboard.db"))
            os.chmod(os.path.join(self.server.data_dir, "switchboard.db"), 0o600)
        os.chmod(key_file, 0o600)

    def legacy_values(self):
        """The sealed values as the fixture holds them (read through the admin API)."""
        s = self.server
        pg = s.api("GET", "/admin/connections/legacy_pg").json
        lena = s.api("GET", "/admin/users/lena").json
        return {"password": pg["params"]["password"],
                "property": pg["params"]["properties"][0]["value"],
                "credential": lena["credentials"]["legacy_peruser"]["password"],
                "secret": lena["secrets"][0]["value"]}

    def assertEverythingResolves(self):
        s, v = self.server, self.values
        res = s.api("GET", "/connections/legacy_pg/info").json["resolvedParams"]
        self.assertTrue(res["password"] == v["pw2"], "the password does not resolve")
        self.assertTrue(res["properties"][0]["value"] == v["prop"],
                        "the secret property does not resolve")
        r = s.api("GET", "/connections/legacy_peruser/info", key=self.lena_key)
        self.assertStatus(r, 200, "lena's personal key (the API-key hash key was re-sealed)")
        self.assertTrue(r.json["resolvedBasicCredential"]["password"] == v["lena_pw"],
                        "lena's credential does not resolve")
        r = s.api("GET", "/auth/info?withSecrets=true", key=self.lena_key)
        self.assertStatus(r, 200)
        self.assertTrue(r.json.get("secrets") == [{"key": "tok", "value": v["lena_secret"]}],
                        "lena's secret does not resolve")
        # an administrator's get -> set opens every value where it is
        lena = s.api("GET", "/admin/users/lena").json
        self.assertStatus(s.api("PUT", "/admin/users/lena", lena), 200,
                          "get -> set of lena's settings")

    def test_first_start_binds_every_stored_value_once(self):
        s = self.server
        s.start()
        want = "bound 4 stored secrets (and 6 in connection history)"
        self.assertIn(want, s.wait_for_log(lambda text: want in text), s.redact(s.log_tail()))
        self.assertEverythingResolves()
        bound = self.legacy_values()
        # history: version 1 of legacy_pg, and the deleted legacy_gone, come back
        self.assertStatus(s.api("POST", "/admin/connections/legacy_pg/actions/revert",
                                {"versionNumber": 1}), 200)
        res = s.api("GET", "/connections/legacy_pg/info").json["resolvedParams"]
        self.assertTrue(res["password"] == self.values["pw1"], "version 1 does not resolve")
        self.assertStatus(s.api("POST", "/admin/connections/legacy_gone/actions/revert",
                                {"versionNumber": 1}), 200)
        res = s.api("GET", "/connections/legacy_gone/info").json["resolvedParams"]
        self.assertTrue(res["password"] == self.values["gone"], "legacy_gone does not resolve")
        # a second start finds nothing to do
        s.restart()
        self.assertEqual(s.log_text().count("bound 4 stored secrets"), 1)
        self.assertEqual(self.legacy_values()["credential"], bound["credential"])
        self.assertEqual(self.legacy_values()["secret"], bound["secret"])

    def test_old_ciphertexts_cannot_be_pasted_after_the_upgrade(self):
        s = self.server
        # read the fixture's ciphertexts as they were, with the server of before: from the file
        if STORE == "postgresql":
            with open(os.path.join(FIXTURE, "store.sql")) as f:
                text = f.read()
        else:
            with open(os.path.join(FIXTURE, "switchboard.db"), "rb") as f:
                text = f.read().decode("latin-1")
        old = sorted(set(re.findall(r"e:xc1:[A-Za-z0-9+/=]+", text)))
        self.assertGreaterEqual(len(old), 4)
        s.start()
        s.create_connection("pu_new", type="PostgreSQL", credentialsMode="PER_USER",
                            params={"host": "h"},
                            detailsReadability={"readableBy": "ALL", "allowedGroups": []})
        for value in old:
            me = s.api("GET", "/current-user", key=self.lena_key).json
            me["credentials"]["pu_new"] = {"type": "BASIC", "user": "l", "password": value}
            self.assertError(s.api("PUT", "/current-user", me, key=self.lena_key), 400,
                             "BadRequest", mentions="credentials.pu_new.password")
            d = s.api("GET", "/admin/connections/legacy_pg").json
            d["params"]["password"] = value
            self.assertError(s.api("PUT", "/admin/connections/legacy_pg", d), 400, "BadRequest",
                             mentions="params.password")
        self.assertEverythingResolves()

    def test_rotate_key_on_a_store_never_started_since_the_upgrade(self):
        s = self.server
        proc = s.run_cli("admin", "rotate-key", "--data-dir", s.data_dir, *s.args)
        self.assertEqual(proc.returncode, 0, s.redact(proc.stderr))
        s.start()
        self.assertFalse(s.log_contains("bound 4 stored secrets"))
        self.assertEverythingResolves()


if __name__ == "__main__":
    unittest.main()
