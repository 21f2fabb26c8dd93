"""GET /dip/publicapi/openapi.json and docs/API.md cover every route of the route table
(src/http/routes.c), and the OpenAPI document passes Redocly's linter (npm, pinned by
tests/openapi/package-lock.json, installed with npm ci)."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from server import STORE, ServerTestCase

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PREFIX = "/dip/publicapi"
LINT_DIR = os.path.join(ROOT, "tests", "openapi")


def route_table():
    """(method, full pattern) of every row of src/http/routes.c, read from the source."""
    with open(os.path.join(ROOT, "src", "http", "routes.c"), encoding="utf-8") as f:
        text = f.read()
    rows = re.findall(r'\{\s*"(GET|POST|PUT|DELETE|PATCH|HEAD)",\s*(API\s+)?"([^"]+)"', text)
    assert len(rows) > 50, "the route table was not found in src/http/routes.c"
    return [(m, (PREFIX if api else "") + p) for m, api, p in rows]


def doc_name(method, pattern):
    """How docs/API.md names a route: `GET /admin/connections/{name}` (paths under the prefix
    without it)."""
    if pattern.startswith(PREFIX + "/"):
        pattern = pattern[len(PREFIX):]
    return "`%s %s`" % (method, pattern)


class OpenApiTest(ServerTestCase):

    def document(self):
        r = self.server.request("GET", PREFIX + "/openapi.json", key=None)
        self.assertStatus(r, 200)
        return r.json

    def test_document_is_openapi_3_1_and_public(self):
        doc = self.document()
        self.assertEqual(doc["openapi"], "3.1.0")
        self.assertEqual(doc["info"]["title"], "Switchboard")
        self.assertIn("basicKey", doc["components"]["securitySchemes"])

    def test_every_route_of_the_table_is_in_the_document_with_a_note(self):
        doc = self.document()
        routes = route_table()
        documented = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
        self.assertEqual(documented, set(routes), "the document's operations are the table's")
        for method, pattern in routes:
            op = doc["paths"][pattern][method.lower()]
            with self.subTest(route="%s %s" % (method, pattern)):
                self.assertNotEqual(op["tags"], ["other"],
                                    "no note for this route in src/api/openapi.c")
                self.assertNotEqual(op["summary"], pattern)
                for name in re.findall(r"\{([^}]+)\}", pattern):
                    self.assertIn(name, [p["name"] for p in op.get("parameters", [])])

    def test_access_rules_of_the_table_are_in_the_document(self):
        doc = self.document()
        self.assertEqual(doc["paths"]["/healthz"]["get"]["security"], [])
        op = doc["paths"][PREFIX + "/admin/connections"]["get"]
        self.assertNotIn("security", op)  # the document's default: an API key
        self.assertIn("403", op["responses"])
        self.assertIn("admin", op["description"])

    def test_every_schema_reference_resolves(self):
        doc = self.document()
        text = json.dumps(doc)
        for name in set(re.findall(r'"#/components/schemas/([^"]+)"', text)):
            self.assertIn(name, doc["components"]["schemas"])
        ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
        self.assertEqual(len(ids), len(set(ids)), "operationIds are unique")

    @unittest.skipIf(STORE != "sqlite", "the document does not depend on the store")
    def test_redocly_lints_the_document_without_a_problem(self):
        if shutil.which("npm") is None:
            self.skipTest("npm is needed (scripts/deps.sh installs it)")
        cli = os.path.join(LINT_DIR, "node_modules", ".bin", "redocly")
        if not os.path.exists(cli):
            r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=LINT_DIR,
                               capture_output=True, text=True, timeout=600)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(self.document(), f)
        self.addCleanup(os.unlink, f.name)
        env = dict(os.environ, REDOCLY_TELEMETRY="off", REDOCLY_SUPPRESS_UPDATE_NOTICE="true")
        r = subprocess.run([cli, "lint", "--config", os.path.join(LINT_DIR, "redocly.yaml"),
                            f.name], capture_output=True, text=True, timeout=300, env=env,
                           cwd=LINT_DIR)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("valid", r.stdout + r.stderr)


class ApiDocTest(unittest.TestCase):

    def test_every_route_of_the_table_is_in_docs_api_md(self):
        with open(os.path.join(ROOT, "docs/API.md"), encoding="utf-8") as f:
            doc = f.read()
        missing = [doc_name(m, p) for m, p in route_table() if doc_name(m, p) not in doc]
        self.assertEqual(missing, [], "routes of src/http/routes.c missing from docs/API.md")

    def test_code_cites_docs_api_md(self):
        stale = []
        for top in ("src", "tests", "include"):
            for d, _, names in os.walk(os.path.join(ROOT, top)):
                for n in names:
                    if n.endswith((".c", ".h", ".py")):
                        path = os.path.join(d, n)
                        with open(path, encoding="utf-8", errors="replace") as f:
                            for i, line in enumerate(f, 1):
                                if re.search(r"(?<![/\w])API\.md", line):
                                    stale.append("%s:%d" % (os.path.relpath(path, ROOT), i))
        self.assertEqual(stale, [], "cite docs/API.md, the copy in the repository")


if __name__ == "__main__":
    unittest.main()
