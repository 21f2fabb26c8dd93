# SPDX-License-Identifier: Apache-2.0
"""The connection type registry (docs/API.md §4.6): GET /connection-types, unknown types, required
params (400 with write guards; stored and reported by /test without, docs/API.md §4.7), param
defaults on create and update, and registry secrets sealed at rest."""

import unittest

from server import ServerTestCase, random_key

# The types docs/API.md §4.6 requires, with the params each one requires.
SPEC_REQUIRED = {
    "Filesystem": {"root"},
    "HDFS": {"root"},
    "PostgreSQL": {"host"},
    "MySql": {"host"},
    "SQLServer": {"host"},
    "Oracle": {"host"},
    "Snowflake": {"host"},
    "Redshift": {"host"},
    "BigQuery": {"projectId"},
    "Greenplum": {"host"},
    "Vertica": {"host"},
    "Teradata": {"host"},
    "Databricks": {"host", "httpPath"},
    "EC2": set(),
    "Azure": {"storageAccount"},
    "GCS": {"projectId"},
    "FTP": {"host"},
    "SFTP": {"host"},
    "HTTP": {"url"},
    "MongoDB": {"host"},
    "Cassandra": {"hosts"},
    "ElasticSearch": {"host"},
    "Kafka": {"bootstrapServers"},
}

# docs/API.md §4.6: live testers at least for these.
SPEC_TESTABLE = {"Filesystem", "PostgreSQL", "MySql", "HTTP", "FTP", "SFTP"}

# The MySql example of the DSS developer guide.
GUIDE_PARAMS = {"db": "mysql_test", "host": "localhost", "password": "admin",
                "properties": [{"name": "useSSL", "value": "true"}], "user": "admin"}


def registry_by_type(registry):
    return {entry["type"]: entry for entry in registry}


class ConnectionTypesEndpointTest(ServerTestCase):

    def get_types(self, **kwargs):
        r = self.server.api("GET", "/connection-types", **kwargs)
        self.assertStatus(r, 200)
        self.assertJsonBody(r)
        return r.json

    def test_answer_has_the_documented_shape(self):
        registry = self.get_types()
        self.assertIsInstance(registry, list)
        self.assertTrue(registry, "the registry is empty")
        seen = set()
        for entry in registry:
            with self.subTest(entry=entry.get("type") if isinstance(entry, dict) else entry):
                self.assertIsInstance(entry, dict)
                self.assertEqual(set(entry), {"type", "params", "credential", "testable"})
                self.assertIsInstance(entry["type"], str)
                self.assertTrue(entry["type"])
                self.assertNotIn(entry["type"], seen, "type listed twice")
                seen.add(entry["type"])
                self.assertIn(entry["credential"], ("basic", "aws", "none"))
                self.assertIsInstance(entry["testable"], bool)
                self.assertIsInstance(entry["params"], list)
                names = set()
                for p in entry["params"]:
                    self.assertIsInstance(p, dict)
                    self.assertEqual(set(p), {"name", "required", "secret", "default"})
                    self.assertIsInstance(p["name"], str)
                    self.assertTrue(p["name"])
                    self.assertNotIn(p["name"], names, "param listed twice")
                    names.add(p["name"])
                    self.assertIsInstance(p["required"], bool)
                    self.assertIsInstance(p["secret"], bool)
                    self.assertTrue(p["default"] is None or isinstance(p["default"], str),
                                    "default %r is neither null nor a string" % (p["default"],))

    def test_every_spec_type_is_listed_with_its_required_params(self):
        types = registry_by_type(self.get_types())
        for name, required in SPEC_REQUIRED.items():
            with self.subTest(type=name):
                self.assertIn(name, types)
                got = {p["name"] for p in types[name]["params"] if p["required"]}
                self.assertEqual(got, required)

    def test_credentials_testers_defaults_and_secrets_of_examples(self):
        types = registry_by_type(self.get_types())
        self.assertEqual(types["PostgreSQL"]["credential"], "basic")
        self.assertEqual(types["MySql"]["credential"], "basic")
        self.assertEqual(types["EC2"]["credential"], "aws")
        self.assertEqual(types["Filesystem"]["credential"], "none")
        for name in SPEC_TESTABLE:
            with self.subTest(type=name):
                self.assertIs(types[name]["testable"], True)
        self.assertIs(types["EC2"]["testable"], False)
        params = {p["name"]: p for p in types["PostgreSQL"]["params"]}
        self.assertEqual(params["port"], {"name": "port", "required": False, "secret": False,
                                          "default": "5432"})
        self.assertEqual(params["host"], {"name": "host", "required": True, "secret": False,
                                          "default": None})
        self.assertIs(params["password"]["secret"], True)
        mysql = {p["name"]: p for p in types["MySql"]["params"]}
        self.assertEqual(mysql["port"]["default"], "3306")

    def test_without_key_is_unauthorized(self):
        r = self.server.api("GET", "/connection-types", key=None)
        self.assertError(r, 401, "Unauthorized")
        self.assertEqual(r.headers.get("WWW-Authenticate"), 'Basic realm="switchboard"')
        unknown = random_key()
        self.server.remember_secret(unknown)
        self.assertError(self.server.api("GET", "/connection-types", key=unknown),
                         401, "Unauthorized")

    def test_non_admin_global_key_gets_the_same_registry(self):
        key = self.server.create_key(admin=False, groups=[], label="types reader")["key"]
        self.assertIs(self.server.auth_info(key=key)["admin"], False)
        self.assertSameJson(self.get_types(key=key), self.get_types(), "registry for non-admin")
        r = self.server.api("GET", "/connection-types",
                            headers={"Authorization": "Bearer " + key}, key=None)
        self.assertStatus(r, 200)

    def test_write_methods_are_not_allowed(self):
        for method in ("POST", "PUT", "DELETE"):
            with self.subTest(method=method):
                r = self.server.api(method, "/connection-types", {})
                self.assertError(r, 405, "MethodNotAllowed")
                allow = {m.strip().upper() for m in (r.headers.get("Allow") or "").split(",")}
                self.assertIn("GET", allow)


class TypeRulesTest(ServerTestCase):
    """The registry's rules with write guards on (docs/API.md §4.7): a missing required param is a
    400. MissingParamsWithoutGuardsTest covers the default, DSS's behaviour."""

    server_options = {"extra_args": ["--write-guards"]}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        r = cls.server.api("GET", "/connection-types")
        if r.status != 200:
            raise AssertionError("GET /connection-types: HTTP %d" % r.status)
        cls.registry = r.json

    def post(self, body):
        return self.server.api("POST", "/admin/connections/", body)

    def get(self, name):
        r = self.server.api("GET", "/admin/connections/" + name)
        self.assertStatus(r, 200)
        return r.json

    def assertNotCreated(self, name):
        self.assertError(self.server.api("GET", "/admin/connections/" + name), 404, "NotFound")

    # ---- unknown types ---------------------------------------------------------------

    def test_unknown_type_is_bad_request_listing_the_known_types(self):
        for i, type_ in enumerate(("NoSuchType", "postgresql", "MySQL", "S3", "Filesystem ")):
            with self.subTest(type=type_):
                name = "unknown_type_%d" % i
                r = self.post({"name": name, "type": type_, "params": {"root": "/tmp",
                                                                        "host": "h"}})
                self.assertError(r, 400, "BadRequest", mentions="type")
                message = r.json["detailedMessage"]
                self.assertIn("PostgreSQL", message)
                self.assertIn("Filesystem", message)
                for entry in self.registry:
                    self.assertIn(entry["type"], message)
                self.assertNotCreated(name)

    # ---- required params -------------------------------------------------------------

    def test_missing_required_param_is_bad_request_naming_it(self):
        for i, params in enumerate((None, {}, {"port": "5432", "db": "d", "user": "u"})):
            with self.subTest(params=params):
                name = "pg_no_host_%d" % i
                body = {"name": name, "type": "PostgreSQL"}
                if params is not None:
                    body["params"] = params
                r = self.post(body)
                self.assertError(r, 400, "BadRequest", mentions="'params.host'")
                self.assertEqual(r.json["detailedMessage"],
                                 "Field 'params.host' is required for a PostgreSQL connection "
                                 "(a non-empty string).")
                self.assertNotCreated(name)

    def test_empty_or_non_string_required_param_is_bad_request(self):
        for i, value in enumerate(("", None, 5, True, ["db"], {"h": "db"})):
            with self.subTest(host=value):
                name = "pg_bad_host_%d" % i
                r = self.post({"name": name, "type": "PostgreSQL", "params": {"host": value}})
                self.assertError(r, 400, "BadRequest", mentions="'params.host'")
                self.assertNotCreated(name)

    def test_every_required_param_of_every_type_is_checked(self):
        for entry in self.registry:
            required = [p["name"] for p in entry["params"] if p["required"]]
            for missing in required:
                with self.subTest(type=entry["type"], param=missing):
                    name = "missing_%s_%s" % (entry["type"], missing)
                    params = {p: "given" for p in required if p != missing}
                    r = self.post({"name": name, "type": entry["type"], "params": params})
                    self.assertError(r, 400, "BadRequest", mentions="'params.%s'" % missing)
                    self.assertIn(entry["type"], r.json["detailedMessage"])
                    self.assertNotCreated(name)

    def test_put_removing_a_required_param_is_bad_request_and_changes_nothing(self):
        created = self.server.create_connection("put_no_host", type="PostgreSQL",
                                                params={"host": "db", "db": "sales"})
        for what, params in (("absent", None), ("removed", {"db": "sales", "port": "5432"}),
                             ("emptied", {"host": "", "db": "sales"})):
            with self.subTest(params=what):
                body = dict(created, description="changed")
                if params is None:
                    del body["params"]
                else:
                    body["params"] = params
                r = self.server.api("PUT", "/admin/connections/put_no_host", body)
                self.assertError(r, 400, "BadRequest", mentions="'params.host'")
        self.assertSameJson(self.get("put_no_host"), created, "definition after rejected PUTs")

    # ---- defaults ----------------------------------------------------------------------

    def test_defaults_are_added_on_create(self):
        pg = self.post({"name": "pg_defaults", "type": "PostgreSQL", "params": {"host": "db"}})
        self.assertStatus(pg, 200)
        self.assertEqual(pg.json["params"], {"host": "db", "port": "5432"})
        self.assertEqual(self.get("pg_defaults")["params"], {"host": "db", "port": "5432"})
        my = self.post({"name": "my_defaults", "type": "MySql", "params": {"host": "db"}})
        self.assertStatus(my, 200)
        self.assertEqual(my.json["params"], {"host": "db", "port": "3306"})
        self.assertEqual(self.get("my_defaults")["params"], {"host": "db", "port": "3306"})

    def test_given_values_are_kept_instead_of_defaults(self):
        for i, port in enumerate(("6543", 6543)):
            with self.subTest(port=port):
                name = "pg_given_port_%d" % i
                r = self.post({"name": name, "type": "PostgreSQL",
                               "params": {"host": "db", "port": port}})
                self.assertStatus(r, 200)
                self.assertEqual(r.json["params"], {"host": "db", "port": port})
                self.assertEqual(self.get(name)["params"], {"host": "db", "port": port})

    def test_every_default_of_every_type_is_added(self):
        for entry in self.registry:
            with self.subTest(type=entry["type"]):
                name = "all_defaults_%s" % entry["type"]
                given = {p["name"]: "given" for p in entry["params"] if p["required"]}
                r = self.post({"name": name, "type": entry["type"], "params": given})
                self.assertStatus(r, 200)
                want = dict(given)
                want.update({p["name"]: p["default"] for p in entry["params"]
                             if p["default"] is not None and not p["required"]})
                self.assertEqual(r.json["params"], want)
                self.assertEqual(self.get(name)["params"], want)

    def test_type_without_required_params_creates_with_empty_params(self):
        r = self.post({"name": "s3_bare", "type": "EC2"})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["params"], {})

    def test_defaults_are_added_on_update(self):
        created = self.server.create_connection("pg_put_defaults", type="PostgreSQL",
                                                params={"host": "db", "port": "6543"})
        # get -> modify -> set keeps the given port
        r = self.server.api("PUT", "/admin/connections/pg_put_defaults",
                            dict(created, description="edited"))
        self.assertStatus(r, 200)
        self.assertEqual(r.json["params"], {"host": "db", "port": "6543"})
        # a whole replacement without port gets the default again
        body = dict(r.json, params={"host": "db2"})
        r = self.server.api("PUT", "/admin/connections/pg_put_defaults", body)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["params"], {"host": "db2", "port": "5432"})
        self.assertEqual(self.get("pg_put_defaults")["params"], {"host": "db2", "port": "5432"})
        self.assertEqual(r.json["creationTag"]["versionNumber"], 3)

    def test_guide_mysql_example_creates_and_gains_the_default_port(self):
        # (the guide's password, "admin", is not remembered as a secret: every /admin route
        # in the log contains it)
        r = self.post({"name": "guide_mysql", "type": "MySql", "params": GUIDE_PARAMS,
                       "usableBy": "ALLOWED", "allowedGroups": ["administrators", "data_team"]})
        self.assertStatus(r, 200)
        for answer in (r.json, self.get("guide_mysql")):
            params = answer["params"]
            self.assertEqual(set(params), set(GUIDE_PARAMS) | {"port"})
            self.assertEqual(params["port"], "3306")
            for k in ("db", "host", "user", "properties"):
                self.assertEqual(params[k], GUIDE_PARAMS[k], "params[%r]" % k)
            self.assertIsInstance(params["password"], str)
            self.assertTrue(params["password"], "password lost or emptied")

    # ---- secrets of the registry ---------------------------------------------------------

    def test_every_registry_secret_is_sealed_at_rest(self):
        for entry in self.registry:
            secret_names = [p["name"] for p in entry["params"] if p["secret"]]
            if not secret_names:
                continue
            with self.subTest(type=entry["type"]):
                name = "secrets_%s" % entry["type"]
                params = {p["name"]: "given" for p in entry["params"] if p["required"]}
                plain = {}
                for s in secret_names:
                    plain[s] = "plain-%s-%s" % (s, random_key(12))
                    self.server.remember_secret(plain[s])
                params.update(plain)
                r = self.post({"name": name, "type": entry["type"], "params": params})
                self.assertStatus(r, 200)
                for answer in (r.json, self.get(name)):
                    for s, value in plain.items():
                        stored = answer["params"].get(s)
                        self.assertIsInstance(stored, str, "%s.%s" % (entry["type"], s))
                        self.assertTrue(stored.startswith("e:"),
                                        "%s.%s is not in sealed form" % (entry["type"], s))
                        self.assertNoSecret(stored, value, "%s.%s" % (entry["type"], s))



class MissingParamsWithoutGuardsTest(ServerTestCase):
    """Write guards off (the default, as DSS): a definition with required params still to fill
    in is stored; /test and /admin/connection-status name what is missing (docs/API.md §4.7)."""

    def test_create_connection_with_type_only_is_stored_with_defaults(self):
        # what create_connection(name, type) sends: params {} and nulls for the rest
        r = self.server.api("POST", "/admin/connections/",
                            {"name": "pg_empty", "description": None, "type": "PostgreSQL",
                             "params": {}, "usableBy": "ALL", "allowedGroups": []})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["params"], {"port": "5432"})
        got = self.server.api("GET", "/admin/connections/pg_empty")
        self.assertStatus(got, 200)
        self.assertEqual(got.json["params"], {"port": "5432"})

    def test_every_type_is_stored_without_its_required_params(self):
        registry = self.server.api("GET", "/connection-types").json
        for entry in registry:
            with self.subTest(type=entry["type"]):
                name = "bare_" + entry["type"]
                r = self.server.api("POST", "/admin/connections/",
                                    {"name": name, "type": entry["type"]})
                self.assertStatus(r, 200)
                required = [p["name"] for p in entry["params"] if p["required"]]
                for p in required:
                    self.assertNotIn(p, r.json["params"])

    def test_test_names_the_missing_params_and_status_keeps_it(self):
        self.server.create_connection("dbx_empty", type="Databricks", params={})
        r = self.server.api("GET", "/connections/dbx_empty/test")
        self.assertStatus(r, 200)
        self.assertIs(r.json["connectionOK"], False)
        self.assertEqual(r.json["message"],
                         "Connection 'dbx_empty' is missing required parameters: params.host, "
                         "params.httpPath (required for a Databricks connection); set them and "
                         "test again.")
        status = self.server.api("GET", "/admin/connection-status")
        self.assertStatus(status, 200)
        self.assertIs(status.json["dbx_empty"]["connectionOK"], False)
        self.assertEqual(status.json["dbx_empty"]["message"], r.json["message"])

    def test_filling_in_the_params_later_makes_the_test_run(self):
        self.server.create_connection("fs_later", type="Filesystem", params={})
        r = self.server.api("GET", "/connections/fs_later/test")
        self.assertIs(r.json["connectionOK"], False)
        self.assertIn("params.root", r.json["message"])
        d = self.server.api("GET", "/admin/connections/fs_later").json
        d["params"]["root"] = self.server.tmp
        self.assertStatus(self.server.api("PUT", "/admin/connections/fs_later", d), 200)
        r = self.server.api("GET", "/connections/fs_later/test")
        self.assertStatus(r, 200)
        self.assertIs(r.json["connectionOK"], True, r.json)

    def test_put_may_empty_a_required_param(self):
        created = self.server.create_connection("pg_emptied", type="PostgreSQL",
                                                params={"host": "db"})
        r = self.server.api("PUT", "/admin/connections/pg_emptied",
                            dict(created, params={"host": ""}))
        self.assertStatus(r, 200)
        self.assertEqual(r.json["params"], {"host": "", "port": "5432"})
        t = self.server.api("GET", "/connections/pg_emptied/test")
        self.assertIs(t.json["connectionOK"], False)
        self.assertIn("params.host", t.json["message"])

    def test_test_of_missing_params_is_still_refused_to_a_non_user(self):
        self.server.create_connection("pg_private", type="PostgreSQL", params={},
                                      usableBy="ALLOWED", allowedGroups=["nobody"])
        key = self.server.create_key(groups=["someone_else"])["key"]
        r = self.server.api("GET", "/connections/pg_private/test", key=key)
        self.assertError(r, 403, "Forbidden")

if __name__ == "__main__":
    unittest.main()
