"""docs/DEPLOYMENT.md, followed literally on loopback (issue 19 point 7): the code blocks marked
`<!-- test: NAME -->` are taken from the document and run as they are written, with only the
addresses, ports, paths and the password swapped for the test's (SUBSTITUTIONS below), so the
document and the test cannot drift. One node with TLS, an online backup and a restore; two
nodes on PostgreSQL behind nginx (the document's configuration), the access log without keys,
/metrics not exposed, JSON when no node answers, the client's address in the audit, pg_dump
backup and restore."""
import base64
import json
import os
import re
import shutil
import signal
import ssl
import stat
import subprocess
import tempfile
import time
import unittest
import http.client

from server import (DEFAULT_BIN, STORE, ApiTestCase, basic_auth, eventually, free_port,
                    peers_env, random_key)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("SWITCHBOARD_BIN", DEFAULT_BIN)


def doc_blocks():
    with open(os.path.join(ROOT, "docs", "DEPLOYMENT.md"), encoding="utf-8") as f:
        text = f.read()
    blocks = {}
    for m in re.finditer(r"<!-- test: ([a-z0-9-]+) -->\n```(\w+)\n(.*?)```", text, re.S):
        blocks[m.group(1)] = m.group(3)
    return blocks


class Deployment:
    """A scratch root standing in for the machine: /var/lib/switchboard, /etc/switchboard...
    are directories under it."""

    def __init__(self, test):
        self.test = test
        self.tmp = tempfile.mkdtemp(prefix="switchboard-deploy-")
        self.bin = os.path.join(self.tmp, "bin")
        os.mkdir(self.bin)
        os.symlink(os.path.abspath(BIN), os.path.join(self.bin, "switchboard"))
        self.password = "pw" + random_key(24)
        self.admin_key = random_key()
        self.blocks = doc_blocks()
        self.procs = []

    def path(self, p):
        return os.path.join(self.tmp, p.strip("/").replace("/", "-"))

    def subs(self, extra=()):
        pairs = list(extra) + [
            ("/var/lib/switchboard", self.path("/var/lib/switchboard")),
            ("/etc/switchboard", self.path("/etc/switchboard")),
            ("/var/backups", self.path("/var/backups")),
            ("/etc/nginx", self.path("/etc/nginx")),
            ("/var/log/nginx", self.path("/var/log/nginx")),
            ("'PASSWORD'", "'%s'" % self.password),
            (":PASSWORD@", ":%s@" % self.password),
            ("switchboard:switchboard", "%d:%d" % (os.getuid(), os.getgid())),
        ]
        return pairs

    def text(self, name, extra=()):
        text = self.test.blocks[name]
        for a, b in self.subs(extra):
            text = text.replace(a, b)
        return text

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
        env["PATH"] = self.bin + ":" + env.get("PATH", "")
        env["SWITCHBOARD_ADMIN_KEY"] = self.admin_key
        env["SWITCHBOARD_CONFIG"] = ""
        return env

    def run(self, name, extra=()):
        r = subprocess.run(["bash", "-e", "-c", self.text(name, extra)], env=self.env(),
                           capture_output=True, text=True, timeout=120)
        self.test.assertEqual(r.returncode, 0, "block %s: %s" % (name, r.stderr[-2000:]))
        return r

    def start(self, name, extra=(), log="serve"):
        out = open(os.path.join(self.tmp, log + ".log"), "ab")
        # the block's serve command replaces the shell, so that SIGTERM reaches the server
        text = self.text(name, extra).replace("switchboard serve", "exec switchboard serve")
        p = subprocess.Popen(["bash", "-e", "-c", text], env=self.env(), stdout=out, stderr=out,
                             stdin=subprocess.DEVNULL)
        out.close()
        self.procs.append(p)
        return p

    def stop(self, p):
        p.send_signal(signal.SIGTERM)
        self.test.assertEqual(p.wait(30), 0)
        self.procs.remove(p)

    def cleanup(self):
        for p in self.procs:
            p.kill()
            p.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def make_cert(cert, key):
    os.makedirs(os.path.dirname(cert), exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)


def request(port, method, path, key=None, body=None, context=None, source=None):
    if context is not None:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=context,
                                           source_address=(source, 0) if source else None)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30,
                                          source_address=(source, 0) if source else None)
    headers = {"Authorization": basic_auth(key)} if key else {}
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, r.getheader("Content-Type") or "", data


def wait_ready(port, context=None, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if request(port, "GET", "/readyz", context=context)[0] == 200:
                return True
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.2)
    return False


@unittest.skipIf(STORE != "sqlite", "runs its own stores: on the SQLite pass only")
class DeploymentDocTest(ApiTestCase):

    @classmethod
    def setUpClass(cls):
        cls.blocks = doc_blocks()

    def setUp(self):
        self.d = Deployment(self)
        self.addCleanup(self.d.cleanup)

    def test_doc_has_the_blocks_the_test_runs(self):
        self.assertEqual(set(self.blocks), {"one-node", "pg-setup", "master-key", "node",
                                            "nginx", "backup-sqlite", "restore-sqlite",
                                            "backup-pg", "restore-pg"})

    def test_one_node_with_tls_backup_and_restore(self):
        d = self.d
        port = free_port()
        node = (("0.0.0.0:11200", "127.0.0.1:%d" % port),)
        cert, key = d.path("/etc/switchboard") + "/cert.pem", d.path("/etc/switchboard") + "/key.pem"
        make_cert(cert, key)
        ctx = ssl.create_default_context(cafile=cert)
        p = d.start("one-node", node)
        self.assertTrue(wait_ready(port, ctx), "the one-node block did not get ready")
        body = ('{"name": "before_backup", "type": "PostgreSQL", "params": {"host": "h", '
                '"user": "u", "password": "%s"}}' % d.password)
        status, _, _ = request(port, "POST", "/dip/publicapi/admin/connections/", d.admin_key,
                               body, ctx)
        self.assertEqual(status, 200)

        d.run("backup-sqlite")
        backups = d.path("/var/backups") + "/switchboard"
        names = sorted(os.listdir(backups))
        self.assertEqual([n.rsplit(".", 1)[1] for n in names], ["db", "key"])
        for n in names:
            self.assertEqual(stat.S_IMODE(os.stat(os.path.join(backups, n)).st_mode), 0o600, n)

        status, _, _ = request(port, "POST", "/dip/publicapi/admin/connections/", d.admin_key,
                               '{"name": "after_backup", "type": "Filesystem"}', ctx)
        self.assertEqual(status, 200)
        d.stop(p)
        d.run("restore-sqlite")
        p = d.start("one-node", node)
        self.assertTrue(wait_ready(port, ctx))
        status, _, data = request(port, "GET", "/dip/publicapi/admin/connections/", d.admin_key,
                                  None, ctx)
        self.assertEqual(status, 200)
        self.assertIn(b"before_backup", data)
        self.assertNotIn(b"after_backup", data)
        status, _, data = request(port, "GET", "/dip/publicapi/connections/before_backup/info",
                                  d.admin_key, None, ctx)
        self.assertIn(d.password.encode(), data)
        d.stop(p)

    def test_two_nodes_on_postgresql_behind_nginx(self):
        if not os.environ.get("SWITCHBOARD_PEERS_ENV"):
            self.skipTest("needs the PostgreSQL of tests/peers.sh")
        if os.geteuid() != 0 or shutil.which("runuser") is None:
            self.skipTest("creating the role needs PostgreSQL's superuser (root and runuser)")
        peers = peers_env()
        d = self.d
        sockdir = os.path.join(os.path.dirname(os.environ["SWITCHBOARD_PEERS_ENV"]), "pg")
        superuser = "runuser -u postgres -- psql -h %s -p %s -d postgres" % (sockdir,
                                                                             peers["PG_PORT"])

        def admin_sql(sql):
            subprocess.run(superuser.split() + ["-v", "ON_ERROR_STOP=1", "-c", sql],
                           check=True, capture_output=True)

        admin_sql("DROP DATABASE IF EXISTS switchboard")
        admin_sql("DROP ROLE IF EXISTS switchboard")
        self.addCleanup(admin_sql, "DROP ROLE IF EXISTS switchboard")
        self.addCleanup(admin_sql, "DROP DATABASE IF EXISTS switchboard WITH (FORCE)")
        pg = (("sudo -u postgres psql", superuser),
              ("db.internal:5432", "%s:%s" % (peers["PG_HOST"], peers["PG_PORT"])),
              ("--port 5432", "--port " + peers["PG_PORT"]),
              ("db.internal", peers["PG_HOST"]))
        d.run("pg-setup", pg)
        d.run("master-key")
        self.assertEqual(os.path.getsize(d.path("/etc/switchboard") + "/secret.key"), 32)

        ports = [free_port(), free_port()]

        def node(i):
            return pg + (("0.0.0.0:11200", "127.0.0.1:%d" % ports[i]),
                         ("/var/lib/switchboard", d.path("/var/lib/switchboard-%d" % i)),
                         ("10.0.0.5", "127.0.0.1"))

        nodes = [d.start("node", node(i), log="node%d" % i) for i in range(2)]
        for port in ports:
            self.assertTrue(wait_ready(port), "a node block did not get ready")

        if shutil.which("nginx") is None:
            self.skipTest("nginx is needed for the rest (scripts/deps.sh installs it)")
        nport = free_port()
        make_cert(d.path("/etc/nginx") + "/switchboard.pem", d.path("/etc/nginx") + "/switchboard.key")
        os.makedirs(d.path("/var/log/nginx"), exist_ok=True)
        conf = d.text("nginx", (("10.0.0.11:11200", "127.0.0.1:%d" % ports[0]),
                                ("10.0.0.12:11200", "127.0.0.1:%d" % ports[1]),
                                ("listen 443 ssl", "listen 127.0.0.1:%d ssl" % nport)))
        tmp = d.tmp
        with open(os.path.join(tmp, "nginx.conf"), "w") as f:
            f.write("daemon off;\npid %s/nginx.pid;\nerror_log %s/nginx-error.log;\n"
                    "events {}\nhttp {\n" % (tmp, tmp) +
                    "".join("%s %s/nginx-%s;\n" % (k, tmp, k) for k in (
                        "client_body_temp_path", "proxy_temp_path", "fastcgi_temp_path",
                        "uwsgi_temp_path", "scgi_temp_path")) + conf + "\n}\n")
        nginx = subprocess.Popen(["nginx", "-p", tmp, "-c", os.path.join(tmp, "nginx.conf")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (nginx.poll() is None and nginx.terminate(), nginx.wait()))
        ctx = ssl.create_default_context(cafile=d.path("/etc/nginx") + "/switchboard.pem")
        self.assertTrue(wait_ready(nport, ctx), "nginx did not pass /readyz on")

        api = "/dip/publicapi"
        status, _, _ = request(nport, "POST", api + "/admin/groups/", d.admin_key,
                               '{"name": "via_nginx"}', ctx, source="127.0.0.7")
        self.assertEqual(status, 200)
        status, _, data = request(nport, "GET", api + "/admin/globalAPIKeys/" + d.admin_key,
                                  d.admin_key, None, ctx)
        self.assertEqual(status, 200)
        status, _, data = request(ports[1], "GET", api + "/admin/audit?limit=50", d.admin_key)
        rec = [a for a in json.loads(data) if a["object"] == "via_nginx"]
        self.assertEqual(rec[0]["remoteAddr"], "127.0.0.7", "the client behind nginx")
        status, _, _ = request(nport, "GET", "/metrics", None, None, ctx)
        self.assertEqual(status, 404)

        def access_log():
            with open(d.path("/var/log/nginx") + "/switchboard.log") as f:
                return f.read()

        # nginx writes a request's line once it answered: the last one, /metrics, ends the log
        self.assertTrue(eventually(lambda: "GET /metrics " in access_log()), access_log())
        access = access_log()
        self.assertIn("/dip/publicapi/admin/groups/", access)
        self.assertNotIn(d.admin_key, access)
        self.assertNotIn(base64.b64encode((d.admin_key + ":").encode()).decode(), access)

        # a pg_dump backup, a change after it, the restore: the change is gone
        d.run("backup-pg", pg)
        dumps = os.listdir(d.path("/var/backups") + "/switchboard")
        self.assertEqual(len(dumps), 1)
        dump = os.path.join(d.path("/var/backups") + "/switchboard", dumps[0])
        self.assertEqual(stat.S_IMODE(os.stat(dump).st_mode), 0o600)
        status, _, _ = request(nport, "POST", api + "/admin/groups/", d.admin_key,
                               '{"name": "after_dump"}', ctx)
        self.assertEqual(status, 200)
        for p in list(nodes):
            d.stop(p)
        # no node answers: nginx's own answer is JSON the DSS client can read
        status, ctype, data = request(nport, "GET", api + "/auth/info", d.admin_key, None, ctx)
        self.assertEqual(status, 503)
        self.assertTrue(ctype.startswith("application/json"), ctype)
        self.assertEqual(json.loads(data)["errorType"], "ServiceUnavailable")

        d.run("restore-pg", pg)
        p = d.start("node", node(0), log="node0")
        self.assertTrue(wait_ready(ports[0]))
        status, _, data = request(ports[0], "GET", api + "/admin/groups/", d.admin_key)
        self.assertIn(b"via_nginx", data)
        self.assertNotIn(b"after_dump", data)
        d.stop(p)
        nginx.terminate()
        nginx.wait(10)


if __name__ == "__main__":
    unittest.main()
