# SPDX-License-Identifier: Apache-2.0
"""Live tests never hand a password to whoever asks (issue 12 point 4, docs/API.md §4.6).

Fake servers on loopback, a few dozen lines each, record every byte the probe sends:
- a PostgreSQL server that declines TLS and asks for AuthenticationCleartextPassword: the
  password never arrives (the probe's relay cuts the link); asking for MD5 instead, the probe
  answers with a hash (control: the relay does pass the exchange on);
- a MySQL server that switches to mysql_clear_password (or opens with it, or with dialog):
  MariaDB Connector/C, restricted to plugins that keep the password, never sends it;
- TLS from the connection's properties and --probe-tls require: a server without TLS is
  refused before any password is sent; sslmode=disable under require is refused without a
  connection; an http:// URL under require too.
"""

import socket
import struct
import threading
import time
import unittest

from server import Server, ServerTestCase, random_key

PROBE_ARGS = ["--probe-timeout", "3"]


class FakeServer:
    """Accepts connections on 127.0.0.1 and runs HANDLER(conn, self) for each in a thread;
    `received` holds every byte any client sent."""

    def __init__(self, handler):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self.events = []
        self.lock = threading.Lock()
        self.handler = handler
        self.stopping = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        conn.settimeout(5)
        try:
            self.handler(conn, self)
        except (OSError, EOFError, struct.error):
            pass
        finally:
            conn.close()

    def recv(self, conn, n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise EOFError()
            data += chunk
        with self.lock:
            self.received += data
        return data

    def drain(self, conn, wait=1.0):
        """Everything the client still sends within WAIT seconds (or until it closes)."""
        conn.settimeout(wait)
        try:
            while True:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                with self.lock:
                    self.received += chunk
        except OSError:
            return

    def close(self):
        self.stopping = True
        self.sock.close()


# ---- PostgreSQL ---------------------------------------------------------------------------

def pg_message(kind, payload):
    return kind + struct.pack("!I", len(payload) + 4) + payload


def pg_handler(auth_code, tls_answer=b"N"):
    def handle(conn, fake):
        length = struct.unpack("!I", fake.recv(conn, 4))[0]
        body = fake.recv(conn, length - 4)
        if struct.unpack("!I", body[:4])[0] in (80877103, 80877104):  # SSL / GSS request
            fake.events.append("tls-request")
            conn.sendall(tls_answer)
            if tls_answer != b"N":
                fake.drain(conn)
                return
            length = struct.unpack("!I", fake.recv(conn, 4))[0]
            body = fake.recv(conn, length - 4)
        fake.events.append("startup")
        extra = b"salt" if auth_code == 5 else b""
        conn.sendall(pg_message(b"R", struct.pack("!I", auth_code) + extra))
        fake.drain(conn)
    return handle


# ---- MySQL --------------------------------------------------------------------------------

CLIENT_LONG_PASSWORD = 1
CLIENT_CONNECT_WITH_DB = 8
CLIENT_PROTOCOL_41 = 0x200
CLIENT_SSL = 0x800
CLIENT_SECURE_CONNECTION = 0x8000
CLIENT_PLUGIN_AUTH = 0x80000


def my_packet(seq, payload):
    return struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload


def my_read(conn, fake):
    head = fake.recv(conn, 4)
    return head[3], fake.recv(conn, struct.unpack("<I", head[:3] + b"\0")[0])


def mysql_handler(first_plugin, switch_to=None, ssl=False):
    def handle(conn, fake):
        caps = (CLIENT_LONG_PASSWORD | CLIENT_CONNECT_WITH_DB | CLIENT_PROTOCOL_41 |
                CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH | (CLIENT_SSL if ssl else 0))
        scramble = b"abcdefghijklmnopqrst"
        payload = (b"\x0a" + b"5.7.99-fake\0" + struct.pack("<I", 7) + scramble[:8] + b"\0" +
                   struct.pack("<H", caps & 0xFFFF) + b"\x21" + struct.pack("<H", 2) +
                   struct.pack("<H", caps >> 16) + bytes([21]) + b"\0" * 10 +
                   scramble[8:] + b"\0" + first_plugin + b"\0")
        conn.sendall(my_packet(0, payload))
        seq, _ = my_read(conn, fake)  # the handshake response
        fake.events.append("response")
        if switch_to:
            conn.sendall(my_packet(seq + 1, b"\xfe" + switch_to + b"\0" + scramble + b"\0"))
        fake.drain(conn)
    return handle


class FakeServerCase(ServerTestCase):
    server_options = {"extra_args": PROBE_ARGS}

    def fake(self, handler):
        f = FakeServer(handler)
        self.addCleanup(f.close)
        return f

    def probe(self, name, type, params):
        self.server.remember_secret(params["password"])
        self.server.create_connection(name, type=type, params=params)
        r = self.server.api("GET", "/connections/%s/test" % name)
        self.assertStatus(r, 200)
        return r.json

    def assertNeverArrived(self, fake, password):
        time.sleep(0.2)
        with fake.lock:
            data = fake.received
        self.assertNotIn(password.encode(), data, "the password arrived in clear")


class PostgresClearTextTests(FakeServerCase):

    def params(self, fake, password, **props):
        p = {"host": "127.0.0.1", "port": str(fake.port), "user": "victim",
             "password": password, "db": "db"}
        if props:
            p["properties"] = [{"name": k, "value": v} for k, v in props.items()]
        return p

    def test_cleartext_request_without_tls_gets_no_password(self):
        fake = self.fake(pg_handler(3))
        pw = "pw-" + random_key(20)
        body = self.probe("fake_pg_clear", "PostgreSQL", self.params(fake, pw))
        self.assertIs(body["connectionOK"], False)
        self.assertIn("in clear", body["message"])
        self.assertIn("tls-request", fake.events)  # prefer: TLS was asked for first
        self.assertIn("startup", fake.events)
        self.assertNeverArrived(fake, pw)

    def test_cleartext_request_with_sslmode_disable_gets_no_password(self):
        fake = self.fake(pg_handler(3))
        pw = "pw-" + random_key(20)
        body = self.probe("fake_pg_clear_disable", "PostgreSQL",
                          self.params(fake, pw, sslmode="disable"))
        self.assertIs(body["connectionOK"], False)
        self.assertNotIn("tls-request", fake.events)
        self.assertNeverArrived(fake, pw)

    def test_control_md5_request_is_answered_with_a_hash(self):
        fake = self.fake(pg_handler(5))
        pw = "pw-" + random_key(20)
        body = self.probe("fake_pg_md5", "PostgreSQL", self.params(fake, pw))
        self.assertIs(body["connectionOK"], False)
        time.sleep(0.2)
        with fake.lock:
            self.assertIn(b"md5", fake.received, "the MD5 answer never reached the server")
        self.assertNeverArrived(fake, pw)

    def test_sslmode_require_from_properties_refuses_a_server_without_tls(self):
        fake = self.fake(pg_handler(3))
        pw = "pw-" + random_key(20)
        body = self.probe("fake_pg_require", "PostgreSQL",
                          self.params(fake, pw, sslmode="require"))
        self.assertIs(body["connectionOK"], False)
        self.assertIn("tls-request", fake.events)
        self.assertNotIn("startup", fake.events, "the probe went on without TLS")
        self.assertNeverArrived(fake, pw)

    def test_bad_sslmode_is_refused_with_the_property_named(self):
        fake = self.fake(pg_handler(3))
        body = self.probe("fake_pg_badmode", "PostgreSQL",
                          self.params(fake, "pw-" + random_key(8), sslmode="sometimes"))
        self.assertIs(body["connectionOK"], False)
        self.assertIn("sslmode", body["message"])
        self.assertEqual(fake.events, [])


class MysqlClearTextTests(FakeServerCase):

    def params(self, fake, password, **props):
        p = {"host": "127.0.0.1", "port": str(fake.port), "user": "victim",
             "password": password, "db": "db"}
        if props:
            p["properties"] = [{"name": k, "value": v} for k, v in props.items()]
        return p

    def check_refused(self, name, handler):
        fake = self.fake(handler)
        pw = "pw-" + random_key(20)
        body = self.probe(name, "MySql", self.params(fake, pw))
        self.assertIs(body["connectionOK"], False)
        self.assertIn("authentication", body["message"].lower())
        self.assertNeverArrived(fake, pw)
        return fake

    def test_switch_to_clear_password_gets_no_password(self):
        fake = self.check_refused("fake_my_switch",
                                  mysql_handler(b"mysql_native_password", b"mysql_clear_password"))
        self.assertIn("response", fake.events)

    def test_opening_with_clear_password_gets_no_password(self):
        self.check_refused("fake_my_open", mysql_handler(b"mysql_clear_password",
                                                         b"mysql_clear_password"))

    def test_switch_to_dialog_gets_no_password(self):
        self.check_refused("fake_my_dialog", mysql_handler(b"mysql_native_password", b"dialog"))

    def test_switch_to_sha256_without_tls_gets_no_password(self):
        self.check_refused("fake_my_sha256", mysql_handler(b"mysql_native_password",
                                                           b"sha256_password"))

    def test_required_tls_from_properties_refuses_a_server_without_tls(self):
        for i, props in enumerate(({"sslMode": "REQUIRED"}, {"requireSSL": "true"})):
            with self.subTest(props=props):
                fake = self.fake(mysql_handler(b"mysql_native_password",
                                               b"mysql_clear_password"))
                pw = "pw-" + random_key(20)
                body = self.probe("fake_my_req_%d" % i, "MySql", self.params(fake, pw, **props))
                self.assertIs(body["connectionOK"], False)
                self.assertNeverArrived(fake, pw)


class ProbeTlsRequireTests(FakeServerCase):
    server_options = {"extra_args": PROBE_ARGS + ["--probe-tls", "require"]}

    def test_postgresql_without_tls_is_refused(self):
        fake = self.fake(pg_handler(5))
        pw = "pw-" + random_key(20)
        body = self.probe("req_pg", "PostgreSQL", {"host": "127.0.0.1", "port": str(fake.port),
                                                   "user": "u", "password": pw})
        self.assertIs(body["connectionOK"], False)
        self.assertNotIn("startup", fake.events)
        self.assertNeverArrived(fake, pw)

    def test_postgresql_sslmode_disable_is_refused_without_a_connection(self):
        fake = self.fake(pg_handler(5))
        body = self.probe("req_pg_disable", "PostgreSQL", {
            "host": "127.0.0.1", "port": str(fake.port), "user": "u",
            "password": "pw-" + random_key(8),
            "properties": [{"name": "sslmode", "value": "disable"}]})
        self.assertIs(body["connectionOK"], False)
        self.assertIn("probe-tls", body["message"])
        self.assertEqual(fake.events, [])

    def test_mysql_without_tls_is_refused(self):
        fake = self.fake(mysql_handler(b"mysql_native_password"))
        pw = "pw-" + random_key(20)
        body = self.probe("req_my", "MySql", {"host": "127.0.0.1", "port": str(fake.port),
                                              "user": "u", "password": pw})
        self.assertIs(body["connectionOK"], False)
        self.assertNeverArrived(fake, pw)

    def test_http_url_is_refused(self):
        body = self.probe("req_http", "HTTP", {"url": "http://127.0.0.1:9/",
                                               "password": "pw-" + random_key(8), "user": "u"})
        self.assertIs(body["connectionOK"], False)
        self.assertIn("probe-tls", body["message"])

    def test_bad_setting_refuses_to_start(self):
        s = Server(extra_args=["--probe-tls", "sometimes"])
        self.addCleanup(s.cleanup)
        open(s.stderr_path, "w").close()
        rc, err = s.start_expecting_exit()
        self.assertNotEqual(rc, 0)
        self.assertIn("probe-tls", err)


if __name__ == "__main__":
    unittest.main()
