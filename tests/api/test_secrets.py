# SPDX-License-Identifier: Apache-2.0
"""Secrets: encryption in admin reads, byte-for-byte round trips, foreign and tampered
encrypted values, secret properties, /info resolution (variables, ${dip.home}), PER_USER
credentials set by the admin and by the user, and a leak scan of everything the server
wrote (data directory, stdout/stderr, the audit API, /metrics) for every plaintext used."""

import base64
import json
import os
import unittest

from dss import DSSClient, DataikuException
from server import Server, ServerTestCase, random_key

SCHEME = "e:xc1:"
SECRET_PARAM_NAMES = ("password", "secretKey", "privateKey", "clientSecret", "token",
                      "accessToken", "refreshToken", "apiKey", "passphrase", "sasToken",
                      "sessionToken", "keyPassword")


def tamper(value, index):
    """The same e:xc1: value with one byte of the decoded payload flipped."""
    raw = bytearray(base64.b64decode(value[len(SCHEME):]))
    raw[index] ^= 0x01
    return SCHEME + base64.b64encode(bytes(raw)).decode("ascii")


class SecretsTest(ServerTestCase):
    """One server for the class; test_zz_* scans for leaks after the other tests (unittest
    runs the methods of a class in name order), and tearDownClass scans the data directory
    once more after the server stopped."""

    plaintexts = []

    @classmethod
    def secret(cls, prefix="sec"):
        value = "%s-%s" % (prefix, random_key(24))
        cls.plaintexts.append(value)
        cls.server.remember_secret(value)
        return value

    @classmethod
    def setUpClass(cls):
        cls.plaintexts = []
        # An encrypted value minted by another server (another master key).
        other = Server()
        try:
            other.start()
            cls.foreign_plain = "foreign-" + random_key(24)
            other.remember_secret(cls.foreign_plain)
            cls.foreign = other.create_connection(
                "foreign_pg", type="PostgreSQL",
                params={"host": "h", "user": "u", "password": cls.foreign_plain}
            )["params"]["password"]
            other.stop()
        finally:
            other.cleanup()
        super().setUpClass()
        cls.plaintexts.append(cls.foreign_plain)
        cls.server.remember_secret(cls.foreign_plain)
        s = cls.server
        s.create_group("data_team")
        s.create_group("other_team")
        cls.ana_password = cls.secret("ana-login")
        cls.bob_password = cls.secret("bob-login")
        s.create_user("ana", password=cls.ana_password, groups=["data_team"])
        s.create_user("bob", password=cls.bob_password, groups=["other_team"])
        cls.ana_key = s.create_personal_key("ana")["key"]
        cls.bob_key = s.create_personal_key("bob")["key"]
        cls.global_key = s.create_key(admin=False, groups=["data_team"])["key"]
        cls.admin = DSSClient(s.base_url, s.admin_key)

    @classmethod
    def tearDownClass(cls):
        cls.admin.close()
        super().tearDownClass()
        hits = cls.server.find_plaintexts(cls.plaintexts)
        if hits:
            cls.server.keep_tmp = True
            raise AssertionError("plaintext secrets in files after the server stopped "
                                 "(values not shown; files kept in %s): %s"
                                 % (cls.server.tmp, sorted(set(h[0] for h in hits))))

    # ---- helpers ---------------------------------------------------------------------------

    def pg(self, name, password, **fields):
        params = {"host": "db.example", "port": 5432, "db": "sales", "user": "etl",
                  "password": password}
        params.update(fields.pop("params", {}))
        fields.setdefault("detailsReadability", {"readableBy": "ALL", "allowedGroups": []})
        return self.server.create_connection(name, type="PostgreSQL", params=params, **fields)

    def definition(self, name):
        r = self.server.api("GET", "/admin/connections/" + name)
        self.assertStatus(r, 200)
        return r.json

    def info(self, name, key=None):
        r = self.server.api("GET", "/connections/%s/info" % name,
                            **({} if key is None else {"key": key}))
        self.assertStatus(r, 200, "GET info of %s" % name)
        return r.json

    def assertEncrypted(self, value, plaintext, what):
        self.assertIsInstance(value, str, what)
        if not value.startswith(SCHEME):
            self.fail("%s is not in e:xc1: form: %s" % (what, self.server.redact(value)))
        self.assertNoSecret(value, plaintext, what)
        self.assertGreater(len(value), len(SCHEME) + 16, what + " is too short")

    # ---- encryption in admin reads -----------------------------------------------------

    def test_secret_params_are_encrypted_in_create_answer_get_and_list(self):
        pw = self.secret("pw")
        created = self.pg("sec_enc", pw)
        self.assertEncrypted(created["params"]["password"], pw, "password in the create answer")
        got = self.definition("sec_enc")
        self.assertEncrypted(got["params"]["password"], pw, "password in GET")
        listed = self.server.api("GET", "/admin/connections/").json["sec_enc"]
        self.assertEncrypted(listed["params"]["password"], pw, "password in the list")
        self.assertEqual(got["params"]["password"], listed["params"]["password"])
        self.assertEqual(got["params"]["user"], "etl")
        self.assertEqual(got["params"]["host"], "db.example")

    def test_every_secret_param_name_is_encrypted(self):
        for ctype, base in (("Filesystem", {"root": "/tmp/sec_names"}),
                            ("HTTP", {"url": "http://example.invalid/"})):
            with self.subTest(type=ctype):
                values = {n: self.secret(n) for n in SECRET_PARAM_NAMES}
                name = "sec_names_" + ctype
                self.server.create_connection(name, type=ctype, params=dict(base, **values),
                                              detailsReadability={"readableBy": "ALL",
                                                                  "allowedGroups": []})
                got = self.definition(name)["params"]
                for n, v in values.items():
                    with self.subTest(param=n):
                        self.assertEncrypted(got.get(n), v, n)
                resolved = self.info(name)["resolvedParams"]
                for n, v in values.items():
                    with self.subTest(param=n, where="resolvedParams"):
                        self.assertTrue(resolved.get(n) == v, "%s not decrypted by /info" % n)

    def test_non_secret_params_are_stored_in_clear(self):
        pw = self.secret("pw")
        self.pg("sec_clear", pw, params={"schema": "public", "userName": "not-a-secret"})
        got = self.definition("sec_clear")["params"]
        self.assertEqual(got["schema"], "public")
        self.assertEqual(got["userName"], "not-a-secret")
        self.assertEqual(got["user"], "etl")

    def test_aws_credential_is_resolved_and_secret_key_encrypted(self):
        sk = self.secret("aws")
        self.server.create_connection("sec_s3", type="EC2",
                                      params={"accessKey": "AKIAEXAMPLE", "secretKey": sk},
                                      detailsReadability={"readableBy": "ALL",
                                                          "allowedGroups": []})
        self.assertEncrypted(self.definition("sec_s3")["params"]["secretKey"], sk, "secretKey")
        info = self.info("sec_s3")
        self.assertTrue(info.get("resolvedAWSCredential") == {"accessKey": "AKIAEXAMPLE",
                                                              "secretKey": sk},
                        "resolvedAWSCredential: %s" % self.server.redact(info))
        self.assertNotIn("secretKey", info["params"])

    # ---- round trips -------------------------------------------------------------------

    def test_put_with_unchanged_encrypted_value_keeps_it_byte_for_byte(self):
        pw = self.secret("pw")
        self.pg("sec_rt", pw)
        before = self.definition("sec_rt")
        for i in range(3):
            r = self.server.api("PUT", "/admin/connections/sec_rt", self.definition("sec_rt"))
            self.assertStatus(r, 200)
            self.assertEqual(r.json["params"]["password"], before["params"]["password"],
                             "PUT answer changed the encrypted password")
        after = self.definition("sec_rt")
        self.assertEqual(after["params"]["password"], before["params"]["password"])
        self.assertEqual(after["creationTag"]["versionNumber"],
                         before["creationTag"]["versionNumber"] + 3)
        self.assertTrue(self.info("sec_rt")["resolvedBasicCredential"]["password"] == pw,
                        "the password changed after get -> set")

    def test_client_get_set_definition_keeps_the_decrypted_password(self):
        pw = self.secret("pw")
        self.pg("sec_client_rt", pw)
        conn = self.admin.get_connection("sec_client_rt")
        d = conn.get_definition()
        d["description"] = "edited by a script"
        d["params"]["port"] = 5433
        conn.set_definition(d)
        d = conn.get_definition()
        self.assertEqual(d["description"], "edited by a script")
        conn.set_definition(d)
        cred = conn.get_info().get_basic_credential()
        self.assertTrue(cred == {"user": "etl", "password": pw},
                        "credential after two get/set: %s" % self.server.redact(cred))

    def test_plaintext_change_is_encrypted_anew(self):
        pw1, pw2 = self.secret("pw1"), self.secret("pw2")
        self.pg("sec_change", pw1)
        before = self.definition("sec_change")
        d = json.loads(json.dumps(before))
        d["params"]["password"] = pw2
        r = self.server.api("PUT", "/admin/connections/sec_change", d)
        self.assertStatus(r, 200)
        self.assertEncrypted(r.json["params"]["password"], pw2, "password in the PUT answer")
        after = self.definition("sec_change")
        self.assertEncrypted(after["params"]["password"], pw2, "new password")
        self.assertNotEqual(after["params"]["password"], before["params"]["password"])
        self.assertTrue(self.info("sec_change")["resolvedParams"]["password"] == pw2,
                        "/info does not give the new password")

    def test_same_plaintext_twice_gives_different_ciphertexts(self):
        pw = self.secret("pw")
        a = self.pg("sec_nonce_a", pw)["params"]["password"]
        b = self.pg("sec_nonce_b", pw)["params"]["password"]
        self.assertNotEqual(a, b, "encryption is deterministic (no random nonce)")

    def test_encrypted_value_copied_to_another_connection_is_bad_request(self):
        # each ciphertext is bound to its connection and field (docs/API.md §4.2)
        pw = self.secret("pw")
        enc = self.pg("sec_copy_src", pw)["params"]["password"]
        r = self.server.api("POST", "/admin/connections/", {
            "name": "sec_copy_dst", "type": "PostgreSQL",
            "params": {"host": "h", "user": "u", "password": enc}})
        self.assertError(r, 400, "BadRequest", mentions="params.password")
        self.assertNoSecret(r.raw, pw, "the refusal")
        self.assertStatus(self.server.api("GET", "/admin/connections/sec_copy_dst"), 404)

    # ---- values that must be refused ---------------------------------------------------

    def test_foreign_encrypted_value_is_bad_request(self):
        pw = self.secret("pw")
        self.pg("sec_foreign", pw)
        before = self.definition("sec_foreign")
        d = json.loads(json.dumps(before))
        d["params"]["password"] = self.foreign
        r = self.server.api("PUT", "/admin/connections/sec_foreign", d)
        self.assertError(r, 400, "BadRequest", mentions="password")
        self.assertSameJson(self.definition("sec_foreign"), before, "after the refused PUT")
        r = self.server.api("POST", "/admin/connections/", {
            "name": "sec_foreign_new", "type": "PostgreSQL",
            "params": {"host": "h", "user": "u", "password": self.foreign}})
        self.assertError(r, 400, "BadRequest", mentions="password")
        self.assertError(self.server.api("GET", "/admin/connections/sec_foreign_new"),
                         404, "NotFound")

    def test_tampered_encrypted_values_are_bad_request(self):
        pw = self.secret("pw")
        good = self.pg("sec_tamper", pw)["params"]["password"]
        payload = base64.b64decode(good[len(SCHEME):])
        body = good[len(SCHEME):]
        variants = {
            "first byte flipped": tamper(good, 0),
            "middle byte flipped": tamper(good, len(payload) // 2),
            "last byte flipped": tamper(good, len(payload) - 1),
            "truncated": SCHEME + base64.b64encode(payload[:-4]).decode("ascii"),
            "too short": SCHEME + base64.b64encode(payload[:8]).decode("ascii"),
            "empty payload": SCHEME,
            "not base64": SCHEME + "!!!not*base64!!!",
            "unknown scheme": "e:xc9:" + body,
            "no scheme": "e:" + body,
        }
        before = self.definition("sec_tamper")
        for label, value in variants.items():
            with self.subTest(variant=label):
                d = json.loads(json.dumps(before))
                d["params"]["password"] = value
                r = self.server.api("PUT", "/admin/connections/sec_tamper", d)
                self.assertError(r, 400, "BadRequest", mentions="password")
        self.assertSameJson(self.definition("sec_tamper"), before, "after refused PUTs")
        self.assertTrue(self.info("sec_tamper")["resolvedParams"]["password"] == pw)

    def test_non_string_secret_is_bad_request(self):
        for label, value in (("number", 12345), ("true", True), ("object", {"v": "x"}),
                             ("array", ["x"])):
            with self.subTest(value=label):
                r = self.server.api("POST", "/admin/connections/", {
                    "name": "sec_nonstring", "type": "PostgreSQL",
                    "params": {"host": "h", "user": "u", "password": value}})
                self.assertError(r, 400, "BadRequest", mentions="password")
                r = self.server.api("POST", "/admin/connections/", {
                    "name": "sec_nonstring", "type": "HTTP",
                    "params": {"url": "http://example.invalid/", "token": value}})
                self.assertError(r, 400, "BadRequest", mentions="token")
        self.assertError(self.server.api("GET", "/admin/connections/sec_nonstring"),
                         404, "NotFound")

    def test_non_string_secret_property_is_bad_request(self):
        r = self.server.api("POST", "/admin/connections/", {
            "name": "sec_nonstring_prop", "type": "PostgreSQL",
            "params": {"host": "h", "properties": [{"name": "p", "value": 42,
                                                     "secret": True}]}})
        self.assertStatus(r, 400)
        self.assertError(self.server.api("GET", "/admin/connections/sec_nonstring_prop"),
                         404, "NotFound")

    def test_foreign_or_tampered_property_secret_is_bad_request(self):
        sp = self.secret("prop")
        created = self.pg("sec_prop_bad", self.secret("pw"), params={
            "properties": [{"name": "sslpassword", "value": sp, "secret": True}]})
        enc = created["params"]["properties"][0]["value"]
        for label, value in (("foreign", self.foreign), ("tampered", tamper(enc, 3))):
            with self.subTest(variant=label):
                d = self.definition("sec_prop_bad")
                d["params"]["properties"][0]["value"] = value
                r = self.server.api("PUT", "/admin/connections/sec_prop_bad", d)
                self.assertStatus(r, 400)
                self.assertEqual(r.json.get("errorType"), "BadRequest")
        self.assertTrue(self.info("sec_prop_bad")["resolvedParams"]["properties"][0]["value"]
                        == sp)

    # ---- secret properties -------------------------------------------------------------

    def test_secret_properties_are_encrypted_and_resolved(self):
        sp1, sp2 = self.secret("prop1"), self.secret("prop2")
        self.pg("sec_props", self.secret("pw"), params={"properties": [
            {"name": "sslpassword", "value": sp1, "secret": True},
            {"name": "applicationName", "value": "switchboard-tests"},
            {"name": "other", "value": sp2, "secret": True},
            {"name": "flagged_false", "value": "plain-value", "secret": False}]})
        props = self.definition("sec_props")["params"]["properties"]
        self.assertEqual([p["name"] for p in props],
                         ["sslpassword", "applicationName", "other", "flagged_false"])
        self.assertEncrypted(props[0]["value"], sp1, "secret property sslpassword")
        self.assertEncrypted(props[2]["value"], sp2, "secret property other")
        self.assertEqual(props[1]["value"], "switchboard-tests")
        self.assertEqual(props[3]["value"], "plain-value")
        self.assertIs(props[0]["secret"], True)
        # unchanged round trip keeps each encrypted property byte for byte
        self.assertStatus(self.server.api("PUT", "/admin/connections/sec_props",
                                          self.definition("sec_props")), 200)
        self.assertEqual(self.definition("sec_props")["params"]["properties"], props)
        info = self.info("sec_props", key=self.ana_key)
        rprops = info["resolvedParams"]["properties"]
        self.assertTrue(rprops[0]["value"] == sp1 and rprops[2]["value"] == sp2,
                        "secret properties not decrypted in resolvedParams")
        self.assertEqual(rprops[1]["value"], "switchboard-tests")
        text = json.dumps(info["params"])
        self.assertNoSecret(text, sp1, "params of /info")
        self.assertNoSecret(text, sp2, "params of /info")
        self.assertNotIn(SCHEME, text, "params of /info carry an encrypted value")
        self.assertIn("switchboard-tests", text)

    def test_info_params_hold_no_secret_and_no_encrypted_value(self):
        pw = self.secret("pw")
        self.pg("sec_info_params", pw)
        for key in (None, self.ana_key, self.global_key):
            info = self.info("sec_info_params", key=key)
            self.assertEqual(info["name"], "sec_info_params")
            self.assertEqual(info["type"], "PostgreSQL")
            self.assertEqual(info["credentialsMode"], "GLOBAL")
            self.assertNotIn("password", info["params"])
            self.assertNotIn(SCHEME, json.dumps(info["params"]))
            self.assertEqual(info["params"]["host"], "db.example")
            self.assertTrue(info["resolvedParams"]["password"] == pw)
            self.assertTrue(info["resolvedBasicCredential"] == {"user": "etl", "password": pw})

    # ---- variables ----------------------------------------------------------------------

    def test_info_expands_instance_variables_and_dip_home(self):
        r = self.server.api("PUT", "/admin/variables/",
                            {"sec_host": "pg.internal", "sec_db": "sales", "sec_port": "5433"})
        self.assertStatus(r, 200)
        self.server.create_connection(
            "sec_vars", type="PostgreSQL",
            detailsReadability={"readableBy": "ALL", "allowedGroups": []},
            params={"host": "${sec_host}", "db": "${sec_db}_${sec_unknown}",
                    "user": "etl", "password": self.secret("pw"),
                    "extra": "${dip.home}/extras", "literal": "no variables here"})
        self.server.create_connection("sec_home", type="Filesystem",
                                      detailsReadability={"readableBy": "ALL",
                                                          "allowedGroups": []},
                                      params={"root": "${dip.home}/managed"})
        stored = self.definition("sec_vars")["params"]
        self.assertEqual(stored["host"], "${sec_host}", "the stored definition was expanded")
        for key in (None, self.ana_key):
            info = self.info("sec_vars", key=key)
            res = info["resolvedParams"]
            self.assertEqual(res["host"], "pg.internal")
            self.assertEqual(res["db"], "sales_${sec_unknown}")
            self.assertEqual(res["literal"], "no variables here")
            self.assertEqual(info["params"]["host"], "${sec_host}")
            self.assertTrue(os.path.isabs(res["extra"]), res["extra"])
            self.assertEqual(os.path.realpath(res["extra"]),
                             os.path.join(os.path.realpath(self.server.data_dir), "extras"))
            home = self.info("sec_home", key=key)["resolvedParams"]["root"]
            self.assertEqual(os.path.realpath(home),
                             os.path.join(os.path.realpath(self.server.data_dir), "managed"))
            info = self.server.api(
                "GET", "/connections/sec_vars/info?contextualProjectKey=NO_SUCH_PROJECT",
                **({} if key is None else {"key": key}))
            if info.status == 200:
                self.assertEqual(info.json["resolvedParams"]["host"], "pg.internal")
        # a change of the variable shows in the next /info, the definition stays as written
        self.assertStatus(self.server.api("PUT", "/admin/variables/",
                                          {"sec_host": "pg2.internal"}), 200)
        self.assertEqual(self.info("sec_vars")["resolvedParams"]["host"], "pg2.internal")
        self.assertEqual(self.info("sec_vars")["resolvedParams"]["db"],
                         "${sec_db}_${sec_unknown}")
        self.assertEqual(self.definition("sec_vars")["params"]["host"], "${sec_host}")

    def test_info_follows_every_change_of_the_instance_variables_at_once(self):
        # the variables are cached under the store's meta generation: each change (and a
        # change refused half-way, which must change nothing) shows in the very next /info
        self.server.create_connection("sec_vars_seq", type="PostgreSQL",
                                      params={"host": "${seq_host}", "db": "x"})
        for i in range(5):
            host = "seq%d.internal" % i
            self.assertStatus(self.server.api("PUT", "/admin/variables/", {"seq_host": host}),
                              200)
            self.assertEqual(self.info("sec_vars_seq")["resolvedParams"]["host"], host)
            refused = self.server.api("PUT", "/admin/variables/", ["not", "an", "object"])
            self.assertGreaterEqual(refused.status, 400)
            self.assertEqual(self.info("sec_vars_seq")["resolvedParams"]["host"], host)
        self.assertStatus(self.server.api("PUT", "/admin/variables/", {}), 200)
        self.assertEqual(self.info("sec_vars_seq")["resolvedParams"]["host"], "${seq_host}")

    def test_info_follows_every_change_of_the_definition_at_once(self):
        # parsed definitions of recent reads are kept by catalog entry: an update, a delete and
        # a re-creation each show in the very next /info
        name = "sec_def_seq"
        pw = [self.secret("pw%d" % i) for i in range(4)]
        self.server.create_connection(name, type="PostgreSQL",
                                      params={"host": "v0.internal", "db": "x",
                                              "password": pw[0]})
        for i in range(1, 4):
            self.assertEqual(self.info(name)["resolvedParams"]["host"], "v%d.internal" % (i - 1))
            d = self.definition(name)
            d["params"]["host"] = "v%d.internal" % i
            d["params"]["password"] = pw[i]
            self.assertStatus(self.server.api("PUT", "/admin/connections/" + name, d), 200)
            info = self.info(name)
            self.assertEqual(info["resolvedParams"]["host"], "v%d.internal" % i)
            self.assertEqual(info["resolvedParams"]["password"], pw[i])
        self.assertStatus(self.server.api("DELETE", "/admin/connections/" + name), 200)
        self.assertError(self.server.api("GET", "/connections/%s/info" % name), 404, "NotFound")
        self.server.create_connection(name, type="Filesystem", params={"root": "/srv/again"})
        info = self.info(name)
        self.assertEqual(info["type"], "Filesystem")
        self.assertEqual(info["resolvedParams"], {"root": "/srv/again"})

    # ---- PER_USER ------------------------------------------------------------------------

    def per_user_connection(self, name):
        self.server.create_connection(
            name, type="PostgreSQL", credentialsMode="PER_USER",
            detailsReadability={"readableBy": "ALL", "allowedGroups": []},
            params={"host": "db.example", "db": "sales"})

    def test_per_user_without_stored_credential_is_forbidden_naming_user_and_connection(self):
        self.per_user_connection("sec_pu_none")
        r = self.server.api("GET", "/connections/sec_pu_none/info", key=self.ana_key)
        self.assertError(r, 403, "Forbidden", mentions="ana")
        self.assertError(r, 403, "Forbidden", mentions="sec_pu_none")

    def test_per_user_with_a_global_key_is_forbidden(self):
        self.per_user_connection("sec_pu_global")
        for label, key in (("non-admin global key", self.global_key),
                           ("admin global key", self.server.admin_key)):
            with self.subTest(principal=label):
                r = self.server.api("GET", "/connections/sec_pu_global/info", key=key)
                self.assertError(r, 403, "Forbidden")

    def test_per_user_credential_set_by_the_admin_through_the_client(self):
        self.per_user_connection("sec_pu_admin")
        pw = self.secret("ana-db")
        settings = self.admin.get_user("ana").get_settings()
        settings.set_basic_connection_credential("sec_pu_admin", "ana_db", pw)
        settings.save()
        stored = self.server.api("GET", "/admin/users/ana").json["credentials"]["sec_pu_admin"]
        self.assertEqual(stored["type"], "BASIC")
        self.assertEqual(stored["user"], "ana_db")
        self.assertEncrypted(stored["password"], pw, "the user credential password")
        ana = DSSClient(self.server.base_url, self.ana_key)
        try:
            cred = ana.get_connection("sec_pu_admin").get_info().get_basic_credential()
            self.assertTrue(cred == {"user": "ana_db", "password": pw},
                            "credential: %s" % self.server.redact(cred))
            # bob has none: still 403
            bob = DSSClient(self.server.base_url, self.bob_key)
            with self.assertRaises(DataikuException) as cm:
                bob.get_connection("sec_pu_admin").get_info()
            bob.close()
            self.assertTrue(str(cm.exception).startswith("Forbidden: "))
            # admin get -> save again: no double encryption
            self.admin.get_user("ana").get_settings().save()
            again = self.server.api("GET", "/admin/users/ana").json
            self.assertEqual(again["credentials"]["sec_pu_admin"]["password"],
                             stored["password"])
            cred = ana.get_connection("sec_pu_admin").get_info().get_basic_credential()
            self.assertTrue(cred["password"] == pw, "password changed after get -> save")
        finally:
            ana.close()

    def test_per_user_credential_set_by_the_user_through_current_user(self):
        self.per_user_connection("sec_pu_self")
        pw = self.secret("bob-db")
        bob = DSSClient(self.server.base_url, self.bob_key)
        try:
            settings = bob.get_own_user().get_settings()
            settings.set_basic_connection_credential("sec_pu_self", "bob_db", pw)
            settings.save()
            own = self.server.api("GET", "/current-user", key=self.bob_key)
            self.assertStatus(own, 200)
            stored = own.json["credentials"]["sec_pu_self"]
            self.assertEncrypted(stored["password"], pw, "password in GET /current-user")
            admin_view = self.server.api("GET", "/admin/users/bob").json
            self.assertEncrypted(admin_view["credentials"]["sec_pu_self"]["password"], pw,
                                 "password in GET /admin/users/bob")
            info = bob.get_connection("sec_pu_self").get_info()
            self.assertEqual(info["credentialsMode"], "PER_USER")
            self.assertTrue(info.get_basic_credential() == {"user": "bob_db", "password": pw})
            # a second get -> save of the whole object keeps the password
            bob.get_own_user().get_settings().save()
            self.assertTrue(bob.get_connection("sec_pu_self").get_info()
                            .get_basic_credential()["password"] == pw)
            # ana's credential is not bob's
            r = self.server.api("GET", "/connections/sec_pu_self/info", key=self.ana_key)
            self.assertError(r, 403, "Forbidden")
            self.assertNoSecret(r.raw, pw, "a 403 answer")
        finally:
            bob.close()

    def test_user_credential_with_foreign_or_non_string_password_is_bad_request(self):
        before = self.server.api("GET", "/admin/users/ana").json
        for label, value in (("foreign", self.foreign), ("number", 7)):
            with self.subTest(value=label):
                s = json.loads(json.dumps(before))
                s["credentials"]["sec_pu_bad"] = {"type": "BASIC", "user": "u",
                                                  "password": value}
                r = self.server.api("PUT", "/admin/users/ana", s)
                self.assertError(r, 400, "BadRequest", mentions="password")
                r = self.server.api("PUT", "/current-user", s, key=self.ana_key)
                self.assertError(r, 400, "BadRequest", mentions="password")
        self.assertNotIn("sec_pu_bad",
                         self.server.api("GET", "/admin/users/ana").json["credentials"])

    def test_user_secrets_are_encrypted(self):
        value = self.secret("user-secret")
        settings = DSSClient(self.server.base_url, self.ana_key).get_own_user().get_settings()
        settings.add_secret("sec_token", value)
        settings.save()
        settings.client.close()
        admin_view = self.server.api("GET", "/admin/users/ana").json
        entries = [e for e in admin_view["secrets"] if e["name"] == "sec_token"]
        self.assertEqual(len(entries), 1)
        self.assertEncrypted(entries[0]["value"], value, "user secret value")
        own = self.server.api("GET", "/current-user", key=self.ana_key).json
        mine = [e for e in own["secrets"] if e["name"] == "sec_token"]
        self.assertEqual(mine[0]["value"], entries[0]["value"])

    def test_user_password_is_never_returned(self):
        for path, key in (("/admin/users/", None), ("/admin/users/ana", None),
                          ("/current-user", self.ana_key)):
            r = self.server.api("GET", path, **({} if key is None else {"key": key}))
            self.assertStatus(r, 200)
            self.assertNoSecret(r.raw, self.ana_password, path)
            items = r.json if isinstance(r.json, list) else [r.json]
            for item in items:
                self.assertNotIn("password", item)

    # ---- leak scan (runs last) ---------------------------------------------------------

    def audit_pages(self):
        texts, before = [], None
        for _ in range(100):
            path = "/admin/audit?limit=100" + ("" if before is None else "&before=%d" % before)
            r = self.server.api("GET", path)
            self.assertStatus(r, 200)
            texts.append(r.raw)
            if not r.json:
                break
            before = min(rec["ts"] for rec in r.json)
        return b"".join(texts)

    def test_zz_no_plaintext_secret_anywhere(self):
        self.assertGreater(len(self.plaintexts), 20, "the other tests did not run first")
        metrics = self.server.request("GET", "/metrics", key=None)
        self.assertStatus(metrics, 200)
        hits = self.server.find_plaintexts(self.plaintexts, extra=[
            ("GET /admin/audit", self.audit_pages()), ("GET /metrics", metrics.raw)])
        if hits:
            self.server.keep_tmp = True
            self.fail("plaintext secrets found (values not shown; files kept in %s) in: %s"
                      % (self.server.tmp, sorted(set(h[0] for h in hits))))
        self.assertIn("audit.log", [os.path.basename(p) for p in self.server.data_files()])


if __name__ == "__main__":
    unittest.main()
