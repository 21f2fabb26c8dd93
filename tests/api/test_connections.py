# SPDX-License-Identifier: Apache-2.0
"""Connections: create with defaults, validation, list, get, put (versions; last write wins by
default, If-Match 412 per request, 409 with --write-guards: docs/API.md §4.7), delete, and which
names /connections/get-names shows to whom."""

import http.client
import json
import threading
import time
import unittest

from server import PREFIX, ServerTestCase, basic_auth

SECRET_PASSWORD = "s3cr3t-value"

DEFAULTS = {
    "description": "",
    "params": {},
    "usableBy": "ALL",
    "allowedGroups": [],
    "allowWrite": True,
    "allowManagedDatasets": True,
    "allowManagedFolders": False,
    "allowMirror": False,
    "maxActivities": 0,
    "useGlobalProxy": False,
    "credentialsMode": "GLOBAL",
    "detailsReadability": {"readableBy": "NONE", "allowedGroups": []},
}


def fs(name, **fields):
    """A valid Filesystem definition."""
    body = {"name": name, "type": "Filesystem", "params": {"root": "/tmp/" + name}}
    body.update(fields)
    return body


class CreateTest(ServerTestCase):

    def post(self, body, **kwargs):
        return self.server.api("POST", "/admin/connections/", body, **kwargs)

    def assertDefaults(self, definition, skip=()):
        for field, value in DEFAULTS.items():
            if field in skip:
                continue
            with self.subTest(field=field):
                self.assertIn(field, definition)
                self.assertEqual(definition[field], value)
                self.assertIs(type(definition[field]), type(value))

    def test_create_applies_every_default(self):
        # EC2 requires no param and has no param default: name and type are a whole body.
        before = int(time.time() * 1000)
        r = self.post({"name": "defaults_conn", "type": "EC2"})
        after = int(time.time() * 1000)
        self.assertStatus(r, 200)
        d = r.json
        self.assertEqual(d["name"], "defaults_conn")
        self.assertEqual(d["type"], "EC2")
        self.assertDefaults(d)
        tag = d["creationTag"]
        self.assertEqual(tag["versionNumber"], 1)
        self.assertEqual(tag["lastModifiedBy"], {"login": self.server.auth_info()["authIdentifier"]})
        self.assertIsInstance(tag["lastModifiedOn"], int)
        self.assertTrue(before - 5000 <= tag["lastModifiedOn"] <= after + 5000,
                        "lastModifiedOn %r is not epoch milliseconds of now" % tag["lastModifiedOn"])

    def test_create_answer_equals_what_get_returns(self):
        created = self.post(fs("answer_eq", description="hello", allowMirror=True))
        self.assertStatus(created, 200)
        got = self.server.api("GET", "/admin/connections/answer_eq")
        self.assertStatus(got, 200)
        self.assertSameJson(got.json, created.json, "GET after POST")

    def test_null_fields_count_as_absent(self):
        # EC2: with params null (absent) there is no required param to miss.
        body = {"name": "nulls_conn", "type": "EC2"}
        body.update({field: None for field in DEFAULTS})
        r = self.post(body)
        self.assertStatus(r, 200)
        self.assertDefaults(r.json)

    def test_required_params_only_get_the_other_defaults(self):
        r = self.post(fs("fs_defaults"))
        self.assertStatus(r, 200)
        self.assertEqual(r.json["params"], {"root": "/tmp/fs_defaults"})
        self.assertDefaults(r.json, skip=("params",))

    def test_given_fields_are_stored(self):
        body = fs("given_fields", description="a description", usableBy="ALLOWED",
                  allowedGroups=["g1", "g2"], allowWrite=False, allowManagedDatasets=False,
                  allowManagedFolders=True, allowMirror=True, maxActivities=7,
                  useGlobalProxy=True, credentialsMode="PER_USER",
                  detailsReadability={"readableBy": "ALLOWED", "allowedGroups": ["g1"]})
        r = self.post(body)
        self.assertStatus(r, 200)
        for field, value in body.items():
            with self.subTest(field=field):
                self.assertEqual(r.json[field], value)
        got = self.server.api("GET", "/admin/connections/given_fields").json
        for field, value in body.items():
            self.assertEqual(got[field], value)

    def test_unknown_fields_are_stored_and_returned_unchanged(self):
        extra = {"customField": {"nested": [1, 2.5, None, True, "s"], "deep": {"k": "v"}},
                 "x-extra": "value", "emptyList": [], "unicode": "héllo ☃"}
        r = self.post(fs("unknown_fields", **extra))
        self.assertStatus(r, 200)
        got = self.server.api("GET", "/admin/connections/unknown_fields").json
        for field, value in extra.items():
            with self.subTest(field=field):
                self.assertEqual(r.json.get(field), value)
                self.assertEqual(got.get(field), value)

    def test_params_are_stored_as_given(self):
        params = {"host": "db.example", "port": "5432", "db": "main",
                  "properties": [{"name": "ssl", "value": "true"}], "nested": {"a": [1]}}
        r = self.post({"name": "params_kept", "type": "PostgreSQL", "params": params})
        self.assertStatus(r, 200)
        got = self.server.api("GET", "/admin/connections/params_kept").json["params"]
        for k, v in params.items():
            self.assertEqual(got.get(k), v)

    def test_secret_param_is_not_lost(self):
        self.server.remember_secret(SECRET_PASSWORD)
        r = self.post({"name": "with_password", "type": "PostgreSQL",
                       "params": {"host": "h", "user": "u", "password": SECRET_PASSWORD}})
        self.assertStatus(r, 200)
        params = self.server.api("GET", "/admin/connections/with_password").json["params"]
        self.assertIn("password", params)
        self.assertIsInstance(params["password"], str)
        self.assertTrue(params["password"], "password came back empty")
        self.assertEqual(params["user"], "u")

    def test_valid_edge_case_names_are_accepted(self):
        for name in ("a", "n" * 128, "A-Z_0.9", "-dash-first", "_under_first", "9digits",
                     "ends.with.dot."):
            with self.subTest(name=name):
                r = self.post(fs(name))
                self.assertStatus(r, 200)
                self.assertEqual(r.json["name"], name)

    def test_invalid_names_are_bad_request(self):
        for name in ("", ".hidden", "x" * 129, "has space", "slash/name", "semi;colon",
                     "ünïcode", "tab\tname", "quote'", "per%cent", "a+b", "new\nline",
                     "back\\slash"):
            with self.subTest(name=name):
                r = self.post(fs(name))
                self.assertError(r, 400, "BadRequest", mentions="name")

    def test_name_with_nul_escape_is_bad_request(self):
        # jansson may refuse \u0000 while parsing, before the name rule: any 400 will do.
        r = self.post(fs("nul\u0000byte"))
        self.assertError(r, 400, "BadRequest")

    def test_missing_or_non_string_name_is_bad_request(self):
        for value in (5, None, [], {}, True):
            with self.subTest(name=value):
                body = fs("placeholder")
                body["name"] = value
                self.assertError(self.post(body), 400, "BadRequest", mentions="name")
        body = fs("placeholder")
        del body["name"]
        self.assertError(self.post(body), 400, "BadRequest", mentions="name")

    def test_missing_or_invalid_type_is_bad_request(self):
        for i, value in enumerate(("", 5, None, [], {"a": 1})):
            with self.subTest(type=value):
                body = fs("bad_type_%d" % i)
                body["type"] = value
                self.assertError(self.post(body), 400, "BadRequest", mentions="type")
                self.assertStatus(
                    self.server.api("GET", "/admin/connections/bad_type_%d" % i), 404)
        body = fs("no_type")
        del body["type"]
        self.assertError(self.post(body), 400, "BadRequest", mentions="type")

    def test_wrong_field_types_are_bad_request_naming_the_field(self):
        cases = [
            ("usableBy", 5), ("usableBy", "SOME"), ("usableBy", "all"),
            ("allowWrite", "yes"), ("allowWrite", 1),
            ("allowManagedDatasets", "true"), ("allowManagedFolders", 0),
            ("allowMirror", []), ("useGlobalProxy", "false"),
            ("allowedGroups", "x"), ("allowedGroups", [1]), ("allowedGroups", {"a": 1}),
            ("maxActivities", -1), ("maxActivities", "3"), ("maxActivities", 1.5),
            ("maxActivities", True),
            ("params", []), ("params", "host=x"), ("params", 3),
            ("description", 5), ("description", ["d"]),
            ("credentialsMode", "SOMETIMES"), ("credentialsMode", 1),
            ("detailsReadability", "ALL"), ("detailsReadability", []),
        ]
        for i, (field, value) in enumerate(cases):
            with self.subTest(field=field, value=value):
                name = "wrong_type_%d" % i
                r = self.post(fs(name, **{field: value}))
                self.assertError(r, 400, "BadRequest", mentions=field)
                self.assertStatus(self.server.api("GET", "/admin/connections/" + name), 404)

    def test_invalid_details_readability_is_bad_request(self):
        for i, value in enumerate(({"readableBy": "SOME"}, {"readableBy": 3},
                                   {"readableBy": "ALLOWED", "allowedGroups": "g"})):
            with self.subTest(value=value):
                r = self.post(fs("bad_readability_%d" % i, detailsReadability=value))
                self.assertError(r, 400, "BadRequest")
                message = r.json["detailedMessage"]
                self.assertTrue("readableBy" in message or "detailsReadability" in message
                                or "allowedGroups" in message,
                                "detailedMessage names no field: %s" % message)

    def test_malformed_bodies_are_bad_request(self):
        bodies = {
            "truncated JSON": b'{"name":"trunc","type":',
            "trailing garbage": b'{"name":"trailing","type":"Filesystem"} junk',
            "invalid UTF-8": b'{"name":"bad_utf8","type":"Filesystem","description":"\xff\xfe"}',
            "overlong UTF-8": b'{"name":"overlong","type":"Filesystem","description":"\xc0\xaf"}',
            "array": b'[{"name":"in_array","type":"Filesystem"}]',
            "string": b'"name"',
            "number": b"42",
            "null": b"null",
            "empty": b"",
            "not JSON": b"name=x&type=y",
        }
        for what, raw in bodies.items():
            with self.subTest(body=what):
                r = self.server.api("POST", "/admin/connections/", raw_body=raw)
                self.assertError(r, 400, "BadRequest")

    def test_deeply_nested_body_does_not_crash_the_server(self):
        depth = 100000
        raw = (b'{"name":"deep","type":"Filesystem","params":{"root":"/tmp/deep"},"extra":'
               + b"[" * depth + b"]" * depth + b"}")
        r = self.server.api("POST", "/admin/connections/", raw_body=raw)
        self.assertError(r, 400, "BadRequest")  # deeper than the JSON depth limit
        self.assertStatus(self.server.request("GET", "/healthz", key=None), 200)

    def test_error_message_does_not_echo_secret_params(self):
        self.server.remember_secret(SECRET_PASSWORD)
        body = {"name": "leaky", "type": "PostgreSQL", "usableBy": 5,
                "params": {"host": "h", "password": SECRET_PASSWORD}}
        r = self.post(body)
        self.assertError(r, 400, "BadRequest", mentions="usableBy")
        self.assertNoSecret(r.raw, SECRET_PASSWORD, "the 400 answer")
        r = self.server.api("POST", "/admin/connections/",
                            raw_body=b'{"name":"leaky","params":{"password":"'
                            + SECRET_PASSWORD.encode() + b'"}')
        self.assertError(r, 400, "BadRequest")
        self.assertNoSecret(r.raw, SECRET_PASSWORD, "the malformed-JSON 400 answer")

    def test_create_of_existing_name_is_conflict_and_keeps_the_original(self):
        self.assertStatus(self.post(fs("dup_conn", description="first")), 200)
        r = self.post(fs("dup_conn", description="second"))
        self.assertError(r, 409, "Conflict", mentions="dup_conn")
        got = self.server.api("GET", "/admin/connections/dup_conn").json
        self.assertEqual(got["description"], "first")
        self.assertEqual(got["creationTag"]["versionNumber"], 1)

    def test_create_of_existing_name_is_conflict_whatever_else_the_body_holds(self):
        self.assertStatus(self.post(fs("dup_any")), 200)
        for what, body in (("unknown type", {"name": "dup_any", "type": "NoSuchType"}),
                           ("no type", {"name": "dup_any"}),
                           ("bad field", fs("dup_any", allowWrite="yes")),
                           ("bad secret", fs("dup_any", params={"root": "/x",
                                                                "password": "e:xc1:AAAA"}))):
            with self.subTest(body=what):
                self.assertError(self.post(body), 409, "Conflict", mentions="dup_any")


class ConcurrencyTest(ServerTestCase):

    def run_parallel(self, n, request, headers=None):
        """Run request(i) on n threads, each with its own HTTP connection; the statuses."""
        statuses = [None] * n
        barrier = threading.Barrier(n)

        def worker(i):
            conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=15)
            try:
                method, path, body = request(i)
                barrier.wait()
                conn.request(method, PREFIX + path, body=json.dumps(body).encode(),
                             headers=dict(headers or {},
                                          Authorization=basic_auth(self.server.admin_key)))
                resp = conn.getresponse()
                resp.read()
                statuses[i] = resp.status
            except Exception as e:  # reported through statuses
                statuses[i] = repr(e)
            finally:
                conn.close()

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        return statuses

    def test_parallel_creates_of_one_name_give_one_success_and_conflicts(self):
        statuses = self.run_parallel(8, lambda i: (
            "POST", "/admin/connections/",
            fs("raced_name", description="writer %d" % i)))
        self.assertEqual(statuses.count(200), 1, "statuses: %r" % statuses)
        self.assertEqual(statuses.count(409), 7, "statuses: %r" % statuses)
        r = self.server.api("GET", "/admin/connections/raced_name")
        self.assertStatus(r, 200)
        self.assertEqual(r.json["creationTag"]["versionNumber"], 1)

    def test_parallel_puts_of_one_version_all_succeed_one_after_the_other(self):
        # DSS keeps the last write: every writer's change is applied, each as a new version
        d = self.server.create_connection("raced_put")
        statuses = self.run_parallel(8, lambda i: (
            "PUT", "/admin/connections/raced_put", dict(d, description="writer %d" % i)))
        self.assertEqual(statuses, [200] * 8)
        r = self.server.api("GET", "/admin/connections/raced_put")
        self.assertEqual(r.json["creationTag"]["versionNumber"], 9)
        h = self.server.api("GET", "/admin/connections/raced_put/history").json
        self.assertEqual(sorted(v["definition"]["description"] for v in h[1:]),
                         sorted("writer %d" % i for i in range(8)))

    def test_parallel_puts_with_if_match_give_one_success_and_precondition_failures(self):
        d = self.server.create_connection("raced_if_match")
        statuses = self.run_parallel(8, lambda i: (
            "PUT", "/admin/connections/raced_if_match", dict(d, description="writer %d" % i)),
            headers={"If-Match": '"1"'})
        self.assertEqual(statuses.count(200), 1, "statuses: %r" % statuses)
        self.assertEqual(statuses.count(412), 7, "statuses: %r" % statuses)
        r = self.server.api("GET", "/admin/connections/raced_if_match")
        self.assertEqual(r.json["creationTag"]["versionNumber"], 2)

    def test_parallel_creates_of_distinct_names_all_succeed(self):
        statuses = self.run_parallel(8, lambda i: (
            "POST", "/admin/connections/", fs("parallel_%d" % i)))
        self.assertEqual(statuses, [200] * 8)
        listed = self.server.api("GET", "/admin/connections/").json
        for i in range(8):
            self.assertIn("parallel_%d" % i, listed)


class ReadTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server.create_connection("list_fs", description="fs one")
        cls.server.create_connection("list_pg", type="PostgreSQL",
                                     params={"host": "h", "db": "d"})

    def test_list_maps_names_to_definitions_with_id_and_label(self):
        r = self.server.api("GET", "/admin/connections/")
        self.assertStatus(r, 200)
        self.assertIsInstance(r.json, dict)
        for name, type_ in (("list_fs", "Filesystem"), ("list_pg", "PostgreSQL")):
            with self.subTest(name=name):
                item = r.json[name]
                self.assertEqual(item["name"], name)
                self.assertEqual(item["type"], type_)
                self.assertEqual(item["id"], name)
                self.assertEqual(item["label"], type_)
                self.assertIn("params", item)
                self.assertIn("creationTag", item)
        for name, item in r.json.items():
            self.assertEqual(item["name"], name)

    def test_list_entries_match_the_single_definitions(self):
        listed = self.server.api("GET", "/admin/connections/").json["list_fs"]
        single = self.server.api("GET", "/admin/connections/list_fs").json
        listed = {k: v for k, v in listed.items() if k not in ("id", "label")}
        single = {k: v for k, v in single.items() if k not in ("id", "label")}
        self.assertSameJson(listed, single, "list entry vs GET")

    def test_get_unknown_connection_is_not_found_naming_it(self):
        r = self.server.api("GET", "/admin/connections/no_such_conn")
        self.assertError(r, 404, "NotFound", mentions="no_such_conn")

    def test_get_returns_the_definition(self):
        r = self.server.api("GET", "/admin/connections/list_fs")
        self.assertStatus(r, 200)
        self.assertEqual(r.json["name"], "list_fs")
        self.assertEqual(r.json["description"], "fs one")
        self.assertEqual(r.json["params"], {"root": "/tmp/list_fs"})


class UpdateTest(ServerTestCase):

    def get(self, name):
        r = self.server.api("GET", "/admin/connections/" + name)
        self.assertStatus(r, 200)
        return r.json

    def put(self, name, body):
        return self.server.api("PUT", "/admin/connections/" + name, body)

    def test_put_replaces_and_bumps_version(self):
        created = self.server.create_connection("put_basic", description="v1")
        body = dict(created, description="v2", allowWrite=False, maxActivities=3)
        time.sleep(0.01)
        r = self.put("put_basic", body)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["description"], "v2")
        self.assertIs(r.json["allowWrite"], False)
        self.assertEqual(r.json["maxActivities"], 3)
        self.assertEqual(r.json["creationTag"]["versionNumber"], 2)
        self.assertGreaterEqual(r.json["creationTag"]["lastModifiedOn"],
                                created["creationTag"]["lastModifiedOn"])
        self.assertEqual(r.json["creationTag"]["lastModifiedBy"],
                         {"login": self.server.auth_info()["authIdentifier"]})
        self.assertSameJson(self.get("put_basic"), r.json, "GET after PUT")

    def test_each_put_bumps_version_by_one(self):
        d = self.server.create_connection("put_versions")
        for expected in (2, 3, 4):
            r = self.put("put_versions", d)
            self.assertStatus(r, 200)
            self.assertEqual(r.json["creationTag"]["versionNumber"], expected)
            d = r.json

    def test_put_without_creation_tag_is_accepted(self):
        created = self.server.create_connection("put_no_tag")
        body = {k: v for k, v in created.items() if k != "creationTag"}
        body["description"] = "untagged"
        r = self.put("put_no_tag", body)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["creationTag"]["versionNumber"], 2)
        self.assertEqual(self.get("put_no_tag")["description"], "untagged")

    def test_saving_an_earlier_snapshot_succeeds_last_write_wins(self):
        # DSSConnectionSettings saved twice, or set_definition of an earlier get_definition
        first_read = self.server.create_connection("put_stale")
        r = self.put("put_stale", dict(first_read, description="first"))
        self.assertStatus(r, 200)
        r = self.put("put_stale", dict(first_read, description="second"))
        self.assertStatus(r, 200)
        self.assertEqual(r.json["creationTag"]["versionNumber"], 3)
        now = self.get("put_stale")
        self.assertEqual(now["description"], "second")
        self.assertEqual(now["creationTag"]["versionNumber"], 3)

    def test_put_naming_a_future_version_is_accepted(self):
        d = self.server.create_connection("put_future")
        body = dict(d, description="ahead")
        body["creationTag"] = dict(d["creationTag"], versionNumber=5)
        r = self.put("put_future", body)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["creationTag"]["versionNumber"], 2)

    def test_put_with_other_name_in_body_is_bad_request(self):
        d = self.server.create_connection("put_rename")
        r = self.put("put_rename", dict(d, name="renamed"))
        self.assertError(r, 400, "BadRequest", mentions="name")
        self.assertStatus(self.server.api("GET", "/admin/connections/renamed"), 404)
        self.assertEqual(self.get("put_rename")["creationTag"]["versionNumber"], 1)

    def test_put_without_name_in_body_uses_the_path(self):
        d = self.server.create_connection("put_nameless")
        body = {k: v for k, v in d.items() if k != "name"}
        body["description"] = "no name field"
        r = self.put("put_nameless", body)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["name"], "put_nameless")

    def test_put_changing_type_is_bad_request(self):
        d = self.server.create_connection("put_retype")
        r = self.put("put_retype", dict(d, type="PostgreSQL"))
        self.assertError(r, 400, "BadRequest", mentions="type")
        now = self.get("put_retype")
        self.assertEqual(now["type"], "Filesystem")
        self.assertEqual(now["creationTag"]["versionNumber"], 1)

    def test_put_with_invalid_field_is_bad_request_and_changes_nothing(self):
        d = self.server.create_connection("put_invalid", description="kept")
        for field, value in (("usableBy", "SOME"), ("maxActivities", "3"),
                             ("allowWrite", "yes"), ("params", [])):
            with self.subTest(field=field):
                r = self.put("put_invalid", dict(d, description="changed", **{field: value}))
                self.assertError(r, 400, "BadRequest", mentions=field)
        self.assertSameJson(self.get("put_invalid"), d, "definition after rejected PUTs")

    def test_put_with_malformed_json_is_bad_request(self):
        self.server.create_connection("put_malformed")
        r = self.server.api("PUT", "/admin/connections/put_malformed", raw_body=b'{"name":')
        self.assertError(r, 400, "BadRequest")

    def test_get_then_set_round_trip_keeps_unknown_fields(self):
        self.server.create_connection("round_trip", customField={"a": [1, 2]}, other="x")
        d = self.get("round_trip")
        d["description"] = "edited"
        r = self.put("round_trip", d)
        self.assertStatus(r, 200)
        now = self.get("round_trip")
        self.assertEqual(now["customField"], {"a": [1, 2]})
        self.assertEqual(now["other"], "x")
        self.assertEqual(now["description"], "edited")

    def test_put_is_a_whole_replacement(self):
        d = self.server.create_connection("put_whole", description="old",
                                          maxActivities=4, customField="dropped")
        body = {"name": "put_whole", "type": "Filesystem", "params": {"root": "/new"},
                "creationTag": d["creationTag"]}
        r = self.put("put_whole", body)
        self.assertStatus(r, 200)
        now = self.get("put_whole")
        self.assertEqual(now["params"], {"root": "/new"})
        self.assertEqual(now["description"], "")
        self.assertEqual(now["maxActivities"], 0)
        self.assertNotIn("customField", now)

    def test_put_with_null_fields_applies_defaults(self):
        d = self.server.create_connection("put_nulls", usableBy="ALLOWED",
                                          allowedGroups=["g"], allowWrite=False)
        body = dict(d, usableBy=None, allowedGroups=None, allowWrite=None)
        r = self.put("put_nulls", body)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["usableBy"], "ALL")
        self.assertEqual(r.json["allowedGroups"], [])
        self.assertIs(r.json["allowWrite"], True)

    def test_put_unknown_connection_is_not_found(self):
        r = self.put("never_created", fs("never_created"))
        self.assertError(r, 404, "NotFound")
        self.assertStatus(self.server.api("GET", "/admin/connections/never_created"), 404)


class IfMatchTest(ServerTestCase):
    """If-Match: "<versionNumber>" on PUT and DELETE (docs/API.md §4.7), with write guards off."""

    def put(self, name, body, if_match):
        return self.server.api("PUT", "/admin/connections/" + name, body,
                               headers={"If-Match": if_match})

    def test_get_answers_the_version_as_etag(self):
        self.server.create_connection("etag_conn")
        r = self.server.api("GET", "/admin/connections/etag_conn")
        self.assertEqual(r.headers.get("ETag"), '"1"')
        self.assertStatus(self.put("etag_conn", r.json, '"1"'), 200)
        r = self.server.api("GET", "/admin/connections/etag_conn")
        self.assertEqual(r.headers.get("ETag"), '"2"')

    def test_put_with_the_stored_version_succeeds(self):
        d = self.server.create_connection("if_match_ok")
        for tag in ('"1"', 'W/"2"', "3", "*"):
            with self.subTest(if_match=tag):
                r = self.put("if_match_ok", dict(d, description=tag), tag)
                self.assertStatus(r, 200)
        self.assertEqual(r.json["creationTag"]["versionNumber"], 5)

    def test_put_with_a_stale_version_is_precondition_failed_and_changes_nothing(self):
        d = self.server.create_connection("if_match_stale")
        self.assertStatus(self.server.api("PUT", "/admin/connections/if_match_stale",
                                          dict(d, description="winner")), 200)
        for tag in ('"1"', '"3"'):
            with self.subTest(if_match=tag):
                r = self.put("if_match_stale", dict(d, description="loser"), tag)
                self.assertError(r, 412, "PreconditionFailed", mentions="if_match_stale")
                self.assertIn("version 2", r.json["detailedMessage"])
        now = self.server.api("GET", "/admin/connections/if_match_stale").json
        self.assertEqual(now["description"], "winner")
        self.assertEqual(now["creationTag"]["versionNumber"], 2)

    def test_malformed_if_match_is_bad_request(self):
        d = self.server.create_connection("if_match_bad")
        for tag in ("", "abc", '"1', '"-1"', '"1" junk', "1.5"):
            with self.subTest(if_match=tag):
                r = self.put("if_match_bad", dict(d, description="x"), tag)
                self.assertError(r, 400, "BadRequest", mentions="If-Match")
        self.assertEqual(self.server.api("GET", "/admin/connections/if_match_bad")
                         .json["creationTag"]["versionNumber"], 1)

    def test_put_of_unknown_connection_with_if_match_is_not_found(self):
        r = self.put("if_match_nothing", fs("if_match_nothing"), '"1"')
        self.assertError(r, 404, "NotFound")

    def test_delete_with_if_match(self):
        self.server.create_connection("if_match_del")
        r = self.server.api("DELETE", "/admin/connections/if_match_del",
                            headers={"If-Match": '"2"'})
        self.assertError(r, 412, "PreconditionFailed", mentions="if_match_del")
        self.assertStatus(self.server.api("GET", "/admin/connections/if_match_del"), 200)
        r = self.server.api("DELETE", "/admin/connections/if_match_del",
                            headers={"If-Match": '"1"'})
        self.assertStatus(r, 200)
        self.assertEqual(r.json, {})
        self.assertError(self.server.api("GET", "/admin/connections/if_match_del"), 404,
                         "NotFound")
        audit = self.server.api("GET", "/admin/audit?limit=5").json
        self.assertIn(("connection.delete", "if_match_del", "failed"),
                      [(a["action"], a["object"], a["outcome"]) for a in audit])


class WriteGuardsTest(ServerTestCase):
    """--write-guards (docs/API.md §4.7): the stricter rules, server-wide."""

    server_options = {"extra_args": ["--write-guards"]}

    def get(self, name):
        r = self.server.api("GET", "/admin/connections/" + name)
        self.assertStatus(r, 200)
        return r.json

    def put(self, name, body):
        return self.server.api("PUT", "/admin/connections/" + name, body)

    def test_put_with_stale_version_is_conflict(self):
        first_read = self.server.create_connection("put_stale")
        r = self.put("put_stale", dict(first_read, description="winner"))
        self.assertStatus(r, 200)
        r = self.put("put_stale", dict(first_read, description="loser"))
        self.assertError(r, 409, "Conflict")
        now = self.get("put_stale")
        self.assertEqual(now["description"], "winner")
        self.assertEqual(now["creationTag"]["versionNumber"], 2)

    def test_put_with_future_version_is_conflict(self):
        d = self.server.create_connection("put_future")
        body = dict(d, description="ahead")
        body["creationTag"] = dict(d["creationTag"], versionNumber=5)
        self.assertError(self.put("put_future", body), 409, "Conflict")
        self.assertEqual(self.get("put_future")["creationTag"]["versionNumber"], 1)

    def test_put_without_creation_tag_is_accepted(self):
        created = self.server.create_connection("put_no_tag")
        body = {k: v for k, v in created.items() if k != "creationTag"}
        r = self.put("put_no_tag", dict(body, description="untagged"))
        self.assertStatus(r, 200)
        self.assertEqual(r.json["creationTag"]["versionNumber"], 2)

    def test_if_match_still_answers_412_before_the_body_version(self):
        d = self.server.create_connection("guarded_if_match")
        r = self.server.api("PUT", "/admin/connections/guarded_if_match", d,
                            headers={"If-Match": '"7"'})
        self.assertError(r, 412, "PreconditionFailed")

    def test_parallel_puts_of_one_version_give_one_success_and_conflicts(self):
        d = self.server.create_connection("raced_put")
        statuses = ConcurrencyTest.run_parallel(self, 8, lambda i: (
            "PUT", "/admin/connections/raced_put", dict(d, description="writer %d" % i)))
        self.assertEqual(statuses.count(200), 1, "statuses: %r" % statuses)
        self.assertEqual(statuses.count(409), 7, "statuses: %r" % statuses)
        r = self.server.api("GET", "/admin/connections/raced_put")
        self.assertEqual(r.json["creationTag"]["versionNumber"], 2)


class DeleteTest(ServerTestCase):

    def test_delete_answers_empty_object_and_removes(self):
        self.server.create_connection("to_delete")
        r = self.server.api("DELETE", "/admin/connections/to_delete")
        self.assertStatus(r, 200)
        self.assertEqual(r.json, {})
        self.assertError(self.server.api("GET", "/admin/connections/to_delete"), 404, "NotFound")
        self.assertNotIn("to_delete", self.server.api("GET", "/admin/connections/").json)
        self.assertNotIn("to_delete", self.server.api("GET", "/connections/get-names").json)

    def test_delete_ignores_unknown_query_parameters(self):
        self.server.create_connection("delete_forced")
        r = self.server.api("DELETE", "/admin/connections/delete_forced?force=true&x=")
        self.assertStatus(r, 200)
        self.assertStatus(self.server.api("GET", "/admin/connections/delete_forced"), 404)

    def test_delete_unknown_connection_is_not_found(self):
        self.assertError(self.server.api("DELETE", "/admin/connections/never_there"),
                         404, "NotFound")

    def test_delete_twice_is_not_found_the_second_time(self):
        self.server.create_connection("delete_twice")
        self.assertStatus(self.server.api("DELETE", "/admin/connections/delete_twice"), 200)
        self.assertError(self.server.api("DELETE", "/admin/connections/delete_twice"),
                         404, "NotFound")

    def test_name_can_be_reused_after_delete(self):
        self.server.create_connection("reused_name", description="first")
        self.assertStatus(self.server.api("DELETE", "/admin/connections/reused_name"), 200)
        r = self.server.api("POST", "/admin/connections/",
                            fs("reused_name", description="second"))
        self.assertStatus(r, 200)
        self.assertEqual(self.server.api("GET", "/admin/connections/reused_name")
                         .json["description"], "second")

    def test_delete_leaves_other_connections_alone(self):
        self.server.create_connection("neighbour_a")
        b = self.server.create_connection("neighbour_b")
        self.assertStatus(self.server.api("DELETE", "/admin/connections/neighbour_a"), 200)
        r = self.server.api("GET", "/admin/connections/neighbour_b")
        self.assertStatus(r, 200)
        self.assertSameJson(r.json, b, "neighbour after delete")


class GetNamesTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        pg = {"host": "localhost", "db": "d"}
        s.create_connection("pg_all", type="PostgreSQL", params=pg)
        s.create_connection("pg_team", type="PostgreSQL", params=pg, usableBy="ALLOWED",
                            allowedGroups=["other", "data_team"])
        s.create_connection("pg_finance", type="PostgreSQL", params=pg, usableBy="ALLOWED",
                            allowedGroups=["finance"])
        s.create_connection("pg_nobody", type="PostgreSQL", params=pg, usableBy="ALLOWED",
                            allowedGroups=[])
        s.create_connection("pg_all_but_listed", type="PostgreSQL", params=pg,
                            usableBy="ALL", allowedGroups=["finance"])
        s.create_connection("my_all", type="MySql", params=pg)
        s.create_connection("my_team", type="MySql", params=pg, usableBy="ALLOWED",
                            allowedGroups=["data_team"])
        s.create_connection("fs_all")
        cls.team_key = s.create_key(groups=["data_team"], label="team")["key"]
        cls.plain_key = s.create_key(groups=[], label="no groups")["key"]
        cls.second_admin_key = s.create_key(admin=True, groups=[], label="admin2")["key"]
        cls.everything = {"pg_all", "pg_team", "pg_finance", "pg_nobody", "pg_all_but_listed",
                          "my_all", "my_team", "fs_all"}

    def names(self, query="", key=None):
        kwargs = {} if key is None else {"key": key}
        r = self.server.api("GET", "/connections/get-names" + query, **kwargs)
        self.assertStatus(r, 200)
        self.assertIsInstance(r.json, list)
        for n in r.json:
            self.assertIsInstance(n, str)
        self.assertEqual(len(r.json), len(set(r.json)), "duplicate names")
        return set(r.json)

    def test_admin_sees_every_connection_of_the_type(self):
        self.assertEqual(self.names("?type=PostgreSQL"),
                         {"pg_all", "pg_team", "pg_finance", "pg_nobody", "pg_all_but_listed"})
        self.assertEqual(self.names("?type=MySql"), {"my_all", "my_team"})

    def test_admin_sees_everything_with_type_all_or_no_type(self):
        self.assertEqual(self.names("?type=all"), self.everything)
        self.assertEqual(self.names(""), self.everything)

    def test_second_admin_key_sees_everything(self):
        self.assertEqual(self.names("?type=all", key=self.second_admin_key), self.everything)

    def test_group_member_sees_all_and_allowed_for_its_group_only(self):
        self.assertEqual(self.names("?type=PostgreSQL", key=self.team_key),
                         {"pg_all", "pg_team", "pg_all_but_listed"})
        self.assertEqual(self.names("?type=MySql", key=self.team_key), {"my_all", "my_team"})
        self.assertEqual(self.names("?type=all", key=self.team_key),
                         {"pg_all", "pg_team", "pg_all_but_listed", "my_all", "my_team",
                          "fs_all"})
        self.assertEqual(self.names("", key=self.team_key),
                         self.names("?type=all", key=self.team_key))

    def test_key_without_groups_sees_only_usable_by_all(self):
        self.assertEqual(self.names("?type=all", key=self.plain_key),
                         {"pg_all", "pg_all_but_listed", "my_all", "fs_all"})

    def test_type_with_no_connection_gives_empty_list(self):
        self.assertEqual(self.names("?type=HDFS"), set())

    def test_unknown_query_parameters_are_ignored(self):
        self.assertEqual(self.names("?type=MySql&foo=bar&tags="), {"my_all", "my_team"})

    def test_change_of_usability_is_reflected(self):
        self.server.create_connection("flip", type="MySql", params={"host": "h"},
                                      usableBy="ALLOWED", allowedGroups=["finance"])
        self.assertNotIn("flip", self.names("?type=MySql", key=self.team_key))
        d = self.server.api("GET", "/admin/connections/flip").json
        r = self.server.api("PUT", "/admin/connections/flip",
                            dict(d, allowedGroups=["finance", "data_team"]))
        self.assertStatus(r, 200)
        self.assertIn("flip", self.names("?type=MySql", key=self.team_key))
        self.assertStatus(self.server.api("DELETE", "/admin/connections/flip"), 200)
        self.assertNotIn("flip", self.names("?type=MySql"))


if __name__ == "__main__":
    unittest.main()


class GetNamesKeptAnswersTest(ServerTestCase):
    """get-names answers are kept per catalog snapshot for each type and set of groups."""

    def names(self, query="", key=None):
        kwargs = {} if key is None else {"key": key}
        r = self.server.api("GET", "/connections/get-names" + query, **kwargs)
        self.assertStatus(r, 200)
        self.assertIsInstance(r.json, list)
        return set(r.json)

    def test_group_change_of_a_user_is_reflected_at_once(self):
        # answers are kept per snapshot for each set of groups: a user moved between groups
        # gets the answer of the new set on the very next request (no connection changed)
        self.server.create_group("gn_team_a")
        self.server.create_group("gn_team_b")
        self.server.create_connection("gn_a", type="Filesystem", params={"root": "/tmp"},
                                      usableBy="ALLOWED", allowedGroups=["gn_team_a"])
        self.server.create_connection("gn_b", type="Filesystem", params={"root": "/tmp"},
                                      usableBy="ALLOWED", allowedGroups=["gn_team_b"])
        key = self.server.user_with_key("gn_user", groups=["gn_team_a"])
        for groups, sees, hidden in ((["gn_team_a"], {"gn_a"}, {"gn_b"}),
                                     (["gn_team_b"], {"gn_b"}, {"gn_a"}),
                                     ([], set(), {"gn_a", "gn_b"}),
                                     (["gn_team_b", "gn_team_a"], {"gn_a", "gn_b"}, set()),
                                     (["gn_team_a"], {"gn_a"}, {"gn_b"})):
            user = self.server.api("GET", "/admin/users/gn_user").json
            user["groups"] = groups
            self.assertStatus(self.server.api("PUT", "/admin/users/gn_user", user), 200)
            for query in ("?type=all", "?type=Filesystem"):
                names = self.names(query, key=key)
                self.assertTrue(sees <= names, "%s with %s: %s" % (query, groups, names))
                self.assertFalse(hidden & names, "%s with %s: %s" % (query, groups, names))

    def test_same_groups_in_another_order_or_split_differently_get_their_own_answers(self):
        # the key of a kept answer is the set of groups: ["a", "b"] and ["b", "a"] share one;
        # groups whose names run together ("x,y" against "x" and "y") must not
        self.server.create_connection("gn_xy", type="Filesystem", params={"root": "/tmp"},
                                      usableBy="ALLOWED", allowedGroups=["gn_x,gn_y"])
        self.server.create_connection("gn_x", type="Filesystem", params={"root": "/tmp"},
                                      usableBy="ALLOWED", allowedGroups=["gn_x"])
        both = self.server.create_key(groups=["gn_x", "gn_y"], label="xy")["key"]
        swapped = self.server.create_key(groups=["gn_y", "gn_x"], label="yx")["key"]
        joined = self.server.create_key(groups=["gn_x,gn_y"], label="x,y")["key"]
        for key in (both, swapped):
            names = self.names("?type=Filesystem", key=key)
            self.assertIn("gn_x", names)
            self.assertNotIn("gn_xy", names)
        names = self.names("?type=Filesystem", key=joined)
        self.assertIn("gn_xy", names)
        self.assertNotIn("gn_x", names)
        # a type named like a group changes nothing either
        self.assertEqual(self.names("?type=gn_x", key=both), set())
