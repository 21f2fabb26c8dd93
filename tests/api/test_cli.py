# SPDX-License-Identifier: Apache-2.0
"""The command-line client (`switchboard connections|keys|users|groups|projects|completion`)
and the example program built on the client library, driven as processes against live servers.

Every run goes through `Cli.run`, which gives the binary a fresh HOME and TMPDIR, checks the
exit code, fails on any sanitizer report (leaks included: the CLI must free everything), fails
when a known secret appears on stderr, and appends stderr to the server's log so that the
harness's log checks see it too.
"""

import json
import os
import pty
import shutil
import stat
import subprocess
import tempfile
import unittest

from server import (DEFAULT_BIN, REPO, Server, ServerTestCase, free_port, random_key)

BIN = os.environ.get("SWITCHBOARD_BIN", DEFAULT_BIN)
SANITIZER_MARKERS = ("Sanitizer", "runtime error:")


def cli_env(home, tmp, server=None, key=None, extra=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SWITCHBOARD_") and k not in ("EDITOR", "VISUAL")}
    env["HOME"] = home
    env["TMPDIR"] = tmp
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    if server is not None:
        env["SWITCHBOARD_URL"] = server.base_url
    if key is not None:
        env["SWITCHBOARD_API_KEY"] = key
    env.update(extra or {})
    return env


class Cli:
    """Runs the binary for one test class; remembers secrets that must never reach stderr."""

    def __init__(self, test):
        self.test = test
        self.tmp = tempfile.mkdtemp(prefix="switchboard-cli-")
        self.home = os.path.join(self.tmp, "home")
        self.tmpdir = os.path.join(self.tmp, "tmp")
        os.mkdir(self.home, 0o700)
        os.mkdir(self.tmpdir, 0o700)
        self.secrets = set()

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run(self, *args, server=None, key=None, expect=0, input=None, env=None, log_to=None,
            timeout=60):
        """Runs `switchboard ARGS` with SWITCHBOARD_URL/API_KEY of SERVER/KEY (None: unset);
        asserts the exit code EXPECT (None: any). Returns the CompletedProcess."""
        proc = subprocess.run([BIN] + [str(a) for a in args], input=input, capture_output=True,
                              text=True, timeout=timeout,
                              env=cli_env(self.home, self.tmpdir, server, key, env))
        target = log_to or server
        if target is not None:
            with open(target.stderr_path, "a") as f:
                f.write(proc.stderr)
        self.check_stderr(proc.stderr, args)
        if expect is not None and proc.returncode != expect:
            self.test.fail("switchboard %s exited %d, expected %d\nstdout: %s\nstderr: %s"
                           % (self.describe(args), proc.returncode, expect,
                              self.redact(proc.stdout[:2000]), self.redact(proc.stderr[:2000])))
        return proc

    def check_stderr(self, text, args):
        for marker in SANITIZER_MARKERS:
            if marker in text:
                self.test.fail("sanitizer report from switchboard %s:\n%s"
                               % (self.describe(args), self.redact(text[:4000])))
        for s in self.secrets:
            if s in text:
                self.test.fail("a secret appears on the stderr of switchboard %s (value not "
                               "shown)" % self.describe(args))

    def redact(self, text):
        for s in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(s, "<redacted>")
        return text

    def describe(self, args):
        return self.redact(" ".join(str(a) for a in args))

    def write(self, name, text, mode=0o600):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path


class CliTestCase(ServerTestCase):
    """One live server per class; `self.run_cli(...)` talks to it as its admin."""

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(BIN):
            raise unittest.SkipTest("switchboard binary not found at %s" % BIN)
        super().setUpClass()

    def setUp(self):
        self.cli = Cli(self)
        self.addCleanup(self.cli.cleanup)
        self.cli.secrets.add(self.server.admin_key)

    def run_cli(self, *args, key=None, **kwargs):
        return self.cli.run(*args, server=self.server,
                            key=self.server.admin_key if key is None else key, **kwargs)

    def assertRefused(self, proc, error_type):
        """Exit 1 was checked by run(); stderr starts `switchboard: <errorType>: `."""
        first = proc.stderr.splitlines()[0] if proc.stderr else ""
        self.assertTrue(first.startswith("switchboard: %s: " % error_type),
                        "stderr: %s" % self.cli.redact(proc.stderr))

    def assertUsage(self, proc, words=None):
        self.assertIn("\nhint: ", "\n" + proc.stderr)
        if words:
            self.assertIn(words, proc.stderr)


class CliBasicsTest(CliTestCase):

    def test_help_lists_commands_and_options(self):
        out = self.cli.run("--help").stdout
        for words in ("connections create NAME --type TYPE", "connections export",
                      "keys create", "users create LOGIN", "groups delete NAME",
                      "projects change-connection KEY --from CONNECTION --to CONNECTION",
                      "completion SHELL", "--api-key KEY", "serve"):
            self.assertIn(words, out)
        out = self.cli.run("connections", "--help").stdout
        self.assertIn("revert", out)
        out = self.cli.run("connections", "import", "--help").stdout
        self.assertIn("--on-conflict MODE", out)
        self.assertIn("--dry-run", out)

    def test_usage_errors_exit_2_with_a_hint(self):
        cases = [
            (("connectionz", "list"), "unknown command"),
            (("connections",), "needs a command"),
            (("connections", "get"), "missing argument"),
            (("connections", "get", "a", "b"), "too many arguments"),
            (("connections", "list", "--bogus"), "unknown option"),
            (("connections", "create", "x"), "--type TYPE' is required"),
            (("connections", "import", "f", "--on-conflict", "merge"), "must be one of"),
            (("completion", "fish"), "not one of"),
        ]
        for args, words in cases:
            with self.subTest(args=args):
                proc = self.run_cli(*args, expect=2)
                self.assertUsage(proc, words)

    def test_usage_errors_found_when_running_exit_2(self):
        proc = self.run_cli("connections", "revert", "x", "seven", expect=2)
        self.assertUsage(proc, "VERSION")
        proc = self.run_cli("connections", "create", "x", "--type", "Filesystem", "--param",
                            "no-equals-sign-hunter2", expect=2)
        self.assertUsage(proc, "KEY=VALUE")
        self.assertNotIn("hunter2", proc.stderr)
        proc = self.run_cli("connections", "set", "x", os.path.join(self.cli.tmp, "missing"),
                            expect=2)
        self.assertUsage(proc, "cannot open")
        proc = self.run_cli("connections", "set", "x", "-", input="{not json: 'hunter3'}",
                            expect=2)
        self.assertUsage(proc, "not valid JSON")
        self.assertNotIn("hunter3", proc.stderr)
        # no key from anywhere
        proc = self.cli.run("connections", "list", server=self.server, key=None, expect=2)
        self.assertUsage(proc, "no API key")
        proc = self.cli.run("connections", "list", "--url", "ftp://x", "--api-key", "k",
                            expect=2)
        self.assertUsage(proc, "http://")

    def test_unreachable_server_exits_3(self):
        url = "http://127.0.0.1:%d" % free_port()
        proc = self.run_cli("connections", "list", "--url", url, expect=3)
        self.assertTrue(proc.stderr.startswith("switchboard: Unreachable: "))
        self.assertUsage(proc, "--url")
        self.run_cli("keys", "list", env={"SWITCHBOARD_URL": url}, expect=3)

    def test_wrong_key_exits_1_unauthorized(self):
        proc = self.run_cli("connections", "list", key="not-a-valid-key-at-all", expect=1)
        self.assertRefused(proc, "Unauthorized")
        self.assertIn("hint: check the API key", proc.stderr)

    def test_create_get_list_and_delete(self):
        root = tempfile.mkdtemp(dir=self.cli.tmp)
        proc = self.run_cli("connections", "create", "cli_fs", "--type", "Filesystem",
                            "--param", "root=" + root, "--description", "made by the CLI")
        self.assertIn("cli_fs", proc.stdout)
        d = self.server.api("GET", "/admin/connections/cli_fs").json
        self.assertEqual(d["params"]["root"], root)
        self.assertEqual(d["description"], "made by the CLI")
        self.assertEqual(d["usableBy"], "ALL")

        self.server.create_group("cli_team")
        self.run_cli("connections", "create", "cli_pg", "--type", "PostgreSQL",
                     "--param", "host=db.example", "--param", "user=etl",
                     "--param-json", "port=6543", "--usable-by", "cli_team",
                     "--usable-by", "admins")
        d = self.server.api("GET", "/admin/connections/cli_pg").json
        self.assertEqual(d["usableBy"], "ALLOWED")
        self.assertEqual(d["allowedGroups"], ["cli_team", "admins"])
        self.assertEqual(d["params"]["port"], 6543)

        got = json.loads(self.run_cli("connections", "get", "cli_pg").stdout)
        self.assertEqual(got, d)

        listed = json.loads(self.run_cli("connections", "list", "--json").stdout)
        self.assertEqual(listed, self.server.api("GET", "/admin/connections/").json)
        table = self.run_cli("connections", "list").stdout.splitlines()
        self.assertEqual(table[0].split(), ["NAME", "TYPE", "USABLE", "BY", "VERSION",
                                            "DESCRIPTION"])
        rows = {line.split()[0]: line for line in table[1:]}
        self.assertIn("groups: cli_team, admins", rows["cli_pg"])
        self.assertIn("made by the CLI", rows["cli_fs"])
        # columns line up: every row starts its TYPE where the header does
        col = table[0].index("TYPE")
        for line in table[1:]:
            self.assertNotEqual(line[col], " ")
            self.assertEqual(line[col - 1], " ")
        only = json.loads(self.run_cli("connections", "list", "--type", "Filesystem",
                                       "--json").stdout)
        self.assertTrue(only)
        self.assertEqual({v["type"] for v in only.values()}, {"Filesystem"})

        proc = self.run_cli("connections", "create", "cli_fs", "--type", "Filesystem",
                            "--param", "root=/tmp", expect=1)
        self.assertRefused(proc, "Conflict")

        self.run_cli("connections", "delete", "cli_fs")
        proc = self.run_cli("connections", "get", "cli_fs", expect=1)
        self.assertRefused(proc, "NotFound")
        proc = self.run_cli("connections", "delete", "cli_fs", "--json", expect=1)
        self.assertRefused(proc, "NotFound")

    def test_create_refused_by_the_server_exits_1(self):
        proc = self.run_cli("connections", "create", "cli_bad", "--type", "NoSuchType", expect=1)
        self.assertRefused(proc, "BadRequest")
        proc = self.run_cli("connections", "create", "bad name!", "--type", "Filesystem",
                            "--param", "root=/tmp", expect=1)
        self.assertRefused(proc, "BadRequest")

    def test_set_from_file_and_from_stdin(self):
        self.server.create_connection("cli_set")
        d = self.server.api("GET", "/admin/connections/cli_set").json
        d["description"] = "from a file"
        path = self.cli.write("def.json", json.dumps(d))
        proc = self.run_cli("connections", "set", "cli_set", path)
        self.assertIn("version 2", proc.stdout)
        self.assertEqual(self.server.api("GET", "/admin/connections/cli_set").json
                         ["description"], "from a file")
        # the file still carries version 1: set sends it as If-Match; someone else's change
        # would be lost -> 412
        proc = self.run_cli("connections", "set", "cli_set", path, expect=1)
        self.assertRefused(proc, "PreconditionFailed")
        self.assertIn("hint:", proc.stderr)
        del d["creationTag"]
        d["description"] = "from stdin"
        out = json.loads(self.run_cli("connections", "set", "cli_set", "-", "--json",
                                      input=json.dumps(d)).stdout)
        self.assertEqual(out["description"], "from stdin")
        self.assertEqual(out["creationTag"]["versionNumber"], 3)
        proc = self.run_cli("connections", "set", "cli_set", "-", input="[1, 2]", expect=2)
        self.assertUsage(proc, "JSON object")

    def test_test_exit_codes(self):
        root = tempfile.mkdtemp(dir=self.cli.tmp)
        self.server.create_connection("cli_ok", params={"root": root})
        self.server.create_connection("cli_broken",
                                      params={"root": os.path.join(root, "missing")})
        proc = self.run_cli("connections", "test", "cli_ok")
        self.assertTrue(proc.stdout.startswith("cli_ok: OK"))
        proc = self.run_cli("connections", "test", "cli_broken", expect=1)
        self.assertTrue(proc.stdout.startswith("cli_broken: FAILED"))
        result = json.loads(self.run_cli("connections", "test", "cli_broken", "--json",
                                         expect=1).stdout)
        self.assertIs(result["connectionOK"], False)
        result = json.loads(self.run_cli("connections", "test", "cli_ok", "--json").stdout)
        self.assertIs(result["connectionOK"], True)
        proc = self.run_cli("connections", "test", "cli_nowhere", expect=1)
        self.assertRefused(proc, "NotFound")

    def test_info_prints_plaintext_on_stdout_only(self):
        password = "pw-" + random_key(20)
        self.cli.secrets.add(password)
        self.server.remember_secret(password)
        self.server.create_connection("cli_info", type="PostgreSQL", params={
            "host": "db.example", "user": "etl", "password": password, "db": "${dbname}"})
        proc = self.run_cli("connections", "info", "cli_info")
        info = json.loads(proc.stdout)
        self.assertEqual(info["resolvedParams"]["password"], password)
        self.assertEqual(info["resolvedBasicCredential"], {"user": "etl", "password": password})
        got = self.run_cli("connections", "get", "cli_info").stdout
        self.assertNotIn(password, got)
        self.assertIn('"e:', got)

    def test_usages_history_revert_and_forced_delete(self):
        self.server.create_connection("cli_used")
        r = self.server.api("POST", "/projects/", {"projectKey": "CLIP", "name": "cli project",
                                                   "owner": "admin"})
        self.assertStatus(r, 200)
        r = self.server.api("POST", "/projects/CLIP/datasets/", {
            "projectKey": "CLIP", "name": "ds1", "type": "Filesystem",
            "params": {"connection": "cli_used", "path": "/x"}})
        self.assertStatus(r, 200)
        table = self.run_cli("connections", "usages", "cli_used").stdout.splitlines()
        self.assertEqual(table[0].split(), ["PROJECT", "DATASET", "TYPE"])
        self.assertEqual(table[1].split(), ["CLIP", "ds1", "Filesystem"])
        usages = json.loads(self.run_cli("connections", "usages", "cli_used", "--json").stdout)
        self.assertEqual(usages, [{"projectKey": "CLIP", "datasetName": "ds1",
                                   "datasetType": "Filesystem"}])

        d = self.server.api("GET", "/admin/connections/cli_used").json
        d["description"] = "second"
        self.assertStatus(self.server.api("PUT", "/admin/connections/cli_used", d), 200)
        table = self.run_cli("connections", "history", "cli_used").stdout.splitlines()
        self.assertEqual(table[0].split()[:3], ["VERSION", "ACTION", "BY"])
        self.assertEqual([line.split()[:2] for line in table[1:]],
                         [["1", "create"], ["2", "update"]])
        history = json.loads(self.run_cli("connections", "history", "cli_used",
                                          "--json").stdout)
        self.assertEqual(len(history), 2)
        proc = self.run_cli("connections", "revert", "cli_used", "1")
        self.assertIn("version 3", proc.stdout)
        self.assertEqual(self.server.api("GET", "/admin/connections/cli_used").json
                         ["description"], "")
        proc = self.run_cli("connections", "revert", "cli_used", "99", expect=1)
        self.assertRefused(proc, "NotFound")

        # as in DSS, a connection in use is deleted (CliWriteGuardsTest: the guarded server)
        self.run_cli("connections", "delete", "cli_used")
        self.assertStatus(self.server.api("GET", "/admin/connections/cli_used"), 404)

    def test_global_api_keys(self):
        self.server.create_group("cli_keys_team")
        proc = self.run_cli("keys", "create", "--label", "cli ci", "--description", "for CI",
                            "--group", "cli_keys_team")
        key = proc.stdout.split()[-1]
        self.cli.secrets.add(key)
        self.server.remember_secret(key)
        # the new key works, and is not an admin
        proc = self.run_cli("keys", "list", key=key, expect=1)
        self.assertRefused(proc, "Forbidden")
        listed = json.loads(self.run_cli("keys", "list", "--json").stdout)
        mine = [k for k in listed if k["label"] == "cli ci"]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0]["groups"], ["cli_keys_team"])
        self.assertKeyHint(mine[0], key)
        self.assertIs(mine[0]["globalPermissions"]["admin"], False)
        table = self.run_cli("keys", "list").stdout
        self.assertIn(mine[0]["id"], table)
        self.assertNotIn(key, table)

        created = json.loads(self.run_cli("keys", "create", "--admin", "--json").stdout)
        self.cli.secrets.add(created["key"])
        self.server.remember_secret(created["key"])
        self.assertIs(created["globalPermissions"]["admin"], True)
        self.run_cli("keys", "list", key=created["key"])

        self.run_cli("keys", "delete", mine[0]["id"])
        proc = self.run_cli("keys", "list", key=key, expect=1)
        self.assertRefused(proc, "Unauthorized")
        proc = self.run_cli("keys", "delete", mine[0]["id"], expect=1)
        self.assertRefused(proc, "NotFound")

    def test_users_and_groups(self):
        self.run_cli("groups", "create", "cli_g", "--description", "CLI group")
        self.run_cli("groups", "create", "cli_admins", "--admin")
        groups = {g["name"]: g for g in json.loads(self.run_cli("groups", "list",
                                                                "--json").stdout)}
        self.assertEqual(groups["cli_g"]["description"], "CLI group")
        self.assertIs(groups["cli_admins"]["admin"], True)
        table = self.run_cli("groups", "list").stdout
        self.assertIn("cli_admins", table)
        proc = self.run_cli("groups", "create", "cli_g", expect=1)
        self.assertRefused(proc, "Conflict")

        password = "upw-" + random_key(20)
        self.cli.secrets.add(password)
        self.server.remember_secret(password)
        self.run_cli("users", "create", "cli_user", "--password-stdin", "--group", "cli_g",
                     "--display-name", "CLI User", "--email", "cli@example.com",
                     input=password + "\n")
        users = {u["login"]: u for u in json.loads(self.run_cli("users", "list",
                                                                "--json").stdout)}
        self.assertEqual(users["cli_user"]["groups"], ["cli_g"])
        self.assertEqual(users["cli_user"]["displayName"], "CLI User")
        self.assertEqual(users["cli_user"]["email"], "cli@example.com")
        table = self.run_cli("users", "list").stdout
        self.assertIn("cli@example.com", table)
        self.assertNotIn(password, table)
        proc = self.run_cli("users", "create", "cli_user2", "--password", "x",
                            "--password-stdin", input="y\n", expect=2)
        self.assertUsage(proc, "not both")

        self.run_cli("users", "delete", "cli_user")
        proc = self.run_cli("users", "delete", "cli_user", expect=1)
        self.assertRefused(proc, "NotFound")
        self.run_cli("groups", "delete", "cli_admins")
        self.assertStatus(self.server.api("GET", "/admin/groups/cli_admins"), 404)

    def test_projects_change_connection(self):
        self.server.create_connection("cli_from")
        self.server.create_connection("cli_to")
        self.assertStatus(self.server.api("POST", "/projects/", {
            "projectKey": "CLIMOVE", "name": "move", "owner": "admin"}), 200)
        for name in ("a", "b"):
            self.assertStatus(self.server.api("POST", "/projects/CLIMOVE/datasets/", {
                "projectKey": "CLIMOVE", "name": name, "type": "Filesystem",
                "params": {"connection": "cli_from", "path": "/" + name}}), 200)

        def connection_of(name):
            return self.server.api("GET", "/projects/CLIMOVE/datasets/" + name).json[
                "params"]["connection"]

        proc = self.run_cli("projects", "change-connection", "CLIMOVE", "--from", "cli_from",
                            "--to", "cli_to", "--dry-run")
        self.assertIn("dry run", proc.stdout)
        self.assertEqual(connection_of("a"), "cli_from")
        out = json.loads(self.run_cli("projects", "change-connection", "CLIMOVE", "--from",
                                      "cli_from", "--to", "cli_to", "--dataset", "a",
                                      "--json").stdout)
        self.assertEqual(out["changed"], ["a"])
        self.assertEqual((connection_of("a"), connection_of("b")), ("cli_to", "cli_from"))
        proc = self.run_cli("projects", "change-connection", "CLIMOVE", "--from", "cli_from",
                            "--to", "cli_to")
        self.assertIn("changed  1: b", proc.stdout)
        proc = self.run_cli("projects", "change-connection", "NOPE", "--from", "cli_from",
                            "--to", "cli_to", expect=1)
        self.assertRefused(proc, "NotFound")

    def test_profile_file_and_precedence(self):
        closed = "http://127.0.0.1:%d" % free_port()
        cfg_dir = os.path.join(self.cli.home, ".config", "switchboard")
        os.makedirs(cfg_dir)
        with open(os.path.join(cfg_dir, "config"), "w") as f:
            f.write("# profiles for the CLI tests\n"
                    "[default]\n"
                    "url = %s\n"
                    "api_key = %s\n"
                    "\n"
                    "[live]\n"
                    "url = %s\n"
                    "api_key = \"%s\"\n"
                    % (closed, self.server.admin_key, self.server.base_url,
                       self.server.admin_key))
        os.chmod(os.path.join(cfg_dir, "config"), 0o600)
        # the default profile points at a closed port
        self.cli.run("groups", "list", log_to=self.server, expect=3)
        self.cli.run("groups", "list", "--profile", "live", log_to=self.server, expect=0)
        # environment over profile, flag over environment
        self.cli.run("groups", "list", env={"SWITCHBOARD_URL": self.server.base_url},
                     log_to=self.server, expect=0)
        self.cli.run("groups", "list", "--url", closed, "--profile", "live",
                     log_to=self.server, expect=3)
        proc = self.cli.run("groups", "list", "--profile", "live", "--api-key", "bad-key-123",
                            log_to=self.server, expect=1)
        self.assertRefused(proc, "Unauthorized")
        proc = self.cli.run("groups", "list", "--profile", "missing", log_to=self.server,
                            expect=2)
        self.assertUsage(proc, "profile 'missing' not found")

    def test_completion_bash_from_the_command_table(self):
        script = self.cli.run("completion", "bash").stdout
        self.assertIn("complete -F _switchboard switchboard", script)
        path = self.cli.write("completion.bash", script)
        if shutil.which("bash") is None:
            self.skipTest("bash is needed")
        probe = ('source "%s"\n'
                 't() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); '
                 'COMPREPLY=(); _switchboard; echo "${COMPREPLY[*]}"; }\n'
                 't switchboard conn\n'
                 't switchboard connections ""\n'
                 't switchboard connections import f --on-conflict ""\n'
                 't switchboard --url x connections create n --para\n'
                 't switchboard keys create --\n' % path)
        out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True,
                             timeout=30, check=True).stdout.splitlines()
        self.assertEqual(out[0], "connections")
        self.assertEqual(out[1].split()[:13], ["list", "get", "create", "set", "edit",
                                               "delete", "test", "info", "usages", "history",
                                               "revert", "export", "import"])
        self.assertEqual(out[2].split(), ["fail", "skip", "overwrite"])
        self.assertEqual(out[3].split(), ["--param", "--param-json"])
        self.assertIn("--admin", out[4].split())
        self.assertIn("--label", out[4].split())

    def test_completion_zsh_from_the_command_table(self):
        script = self.cli.run("completion", "zsh").stdout
        self.assertTrue(script.startswith("#compdef switchboard\n"))
        path = self.cli.write("_switchboard", script)
        if shutil.which("zsh") is None:
            self.skipTest("zsh is needed")
        # compadd and _files stand in for zsh's completion system: they print the candidates
        probe = ('compdef() { : }\nsource "%s"\n'
                 'compadd() { [[ $1 == -- ]] && shift; print -r -- "$*" }\n'
                 '_files() { print -r -- FILES }\n'
                 't() { words=("$@"); CURRENT=${#words}; _switchboard }\n'
                 "t switchboard conn\n"
                 "t switchboard connections ''\n"
                 "t switchboard connections import f --on-conflict ''\n"
                 "t switchboard --url x connections create n --para\n"
                 "t switchboard connections import ''\n"
                 "t switchboard completion ''\n" % path)
        out = subprocess.run(["zsh", "-f", "-c", probe], capture_output=True, text=True,
                             timeout=30, check=True).stdout.splitlines()
        self.assertIn("connections", out[0].split())
        self.assertEqual(out[1].split()[:13], ["list", "get", "create", "set", "edit",
                                               "delete", "test", "info", "usages", "history",
                                               "revert", "export", "import"])
        self.assertEqual(out[2].split(), ["fail", "skip", "overwrite"])
        self.assertIn("--param", out[3].split())
        self.assertIn("--param-json", out[3].split())
        self.assertEqual(out[4], "FILES")
        self.assertEqual(out[5].split(), ["bash", "zsh"])


class CliTestAllTest(CliTestCase):
    """`connections test --all` and the progress lines of `test --all` and `import`, which show
    only when stderr is a terminal (a pty here) and not with --quiet."""

    def run_on_tty(self, *args):
        """Runs the CLI with stderr on a pseudo-terminal; returns (exit code, stdout, what the
        terminal showed)."""
        import pty
        master, slave = pty.openpty()
        env = cli_env(self.cli.home, self.cli.tmpdir, self.server, self.server.admin_key)
        proc = subprocess.Popen([BIN] + list(args), stdout=subprocess.PIPE, stderr=slave,
                                stdin=subprocess.DEVNULL, env=env)
        os.close(slave)
        shown = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        out = proc.stdout.read().decode()
        proc.stdout.close()
        rc = proc.wait(60)
        os.close(master)
        text = shown.decode("utf-8", "replace")
        self.cli.check_stderr(text, args)
        return rc, out, text

    def setUp(self):
        super().setUp()
        if getattr(type(self), "made", False):
            return
        type(self).made = True
        root = tempfile.mkdtemp(prefix="switchboard-test-all-")
        self.addClassCleanup(shutil.rmtree, root, True)
        self.server.create_connection("all_fs_ok", params={"root": root})
        self.server.create_connection("all_fs_broken",
                                      params={"root": os.path.join(root, "missing")})
        # EC2 has no live tester: skipped, not failed
        self.server.create_connection("all_s3", type="EC2", params={"accessKey": "AKIA1"})

    def test_all_prints_a_table_and_a_summary_and_exits_1_when_one_fails(self):
        proc = self.run_cli("connections", "test", "--all", expect=1)
        lines = proc.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "RESULT", "TIME", "MESSAGE"])
        rows = {l.split()[0]: l.split()[1] for l in lines[1:-1]}
        self.assertEqual(rows, {"all_fs_ok": "OK", "all_fs_broken": "FAILED",
                                "all_s3": "SKIPPED"})
        self.assertEqual(lines[-1], "3 tested: 1 OK, 1 failed, 1 skipped (no live test)")
        self.assertNotIn("testing", proc.stderr)  # not a terminal: no progress

    def test_all_of_one_type_and_as_json(self):
        out = json.loads(self.run_cli("connections", "test", "--all", "--type", "Filesystem",
                                      "--json", expect=1).stdout)
        self.assertEqual(sorted(r["name"] for r in out), ["all_fs_broken", "all_fs_ok"])
        self.assertEqual({r["name"]: r["connectionOK"] for r in out},
                         {"all_fs_ok": True, "all_fs_broken": False})
        proc = self.run_cli("connections", "test", "--all", "--type", "EC2")
        self.assertTrue(proc.stdout.splitlines()[-1].startswith("1 tested: 0 OK, 0 failed"))

    def test_name_and_all_are_exclusive(self):
        for args, words in ((("all_fs_ok", "--all"), "not both"), ((), "expected NAME"),
                            (("all_fs_ok", "--type", "Filesystem"), "--type goes with --all")):
            with self.subTest(args=args):
                proc = self.run_cli("connections", "test", *args, expect=2)
                self.assertUsage(proc, words)

    def test_progress_line_on_a_terminal_and_none_with_quiet(self):
        rc, out, shown = self.run_on_tty("connections", "test", "--all")
        self.assertEqual(rc, 1)
        self.assertIn("testing 1/3 ", shown)
        self.assertIn("testing 3/3 ", shown)
        self.assertIn("3 tested:", out)
        rc, out, shown = self.run_on_tty("connections", "test", "--all", "--quiet")
        self.assertEqual(rc, 1)
        self.assertNotIn("testing", shown)

    def test_import_shows_upload_progress_on_a_terminal_only(self):
        items = [{"name": "imp_progress_%03d" % i, "type": "Filesystem",
                  "notes": "x" * 2000, "params": {"root": "/srv/%d" % i}}
                 for i in range(200)]
        path = self.cli.write("big.json", json.dumps({"connections": items}))
        rc, out, shown = self.run_on_tty("connections", "import", path, "--dry-run")
        self.assertEqual(rc, 0, shown)
        self.assertIn("uploading:", shown)
        self.assertIn("(100%)", shown)
        self.assertIn("created  200", out)
        proc = self.run_cli("connections", "import", path, "--dry-run")
        self.assertNotIn("uploading", proc.stderr)
        rc, out, shown = self.run_on_tty("connections", "import", path, "--dry-run", "-q")
        self.assertNotIn("uploading", shown)


class CliEditTest(CliTestCase):
    """`connections edit` with EDITOR set to small scripts."""

    def editor(self, body):
        """An EDITOR script: BODY runs with the file to edit in $1."""
        return self.cli.write("editor-%d.sh" % len(os.listdir(self.cli.tmp)),
                              "#!/bin/sh\nset -e\n" + body + "\n", mode=0o700)

    def leftover_edit_files(self):
        return [f for f in os.listdir(self.cli.tmpdir) if f.startswith("switchboard-edit-")]

    def test_edit_saves_what_the_editor_wrote(self):
        self.server.create_connection("cli_edit", description="old words")
        record = os.path.join(self.cli.tmp, "mode")
        ed = self.editor('stat -c %%a "$1" > "%s"\nsed -i s/old/new/ "$1"' % record)
        proc = self.run_cli("connections", "edit", "cli_edit", env={"EDITOR": ed})
        self.assertIn("version 2", proc.stdout)
        d = self.server.api("GET", "/admin/connections/cli_edit").json
        self.assertEqual(d["description"], "new words")
        self.assertEqual(d["creationTag"]["versionNumber"], 2)
        with open(record) as f:
            self.assertEqual(f.read().strip(), "600")
        self.assertEqual(self.leftover_edit_files(), [])

    def test_editor_with_arguments_in_EDITOR(self):
        self.server.create_connection("cli_edit_args", description="alpha")
        self.run_cli("connections", "edit", "cli_edit_args",
                     env={"EDITOR": "sed -i s/alpha/beta/"})
        self.assertEqual(self.server.api("GET", "/admin/connections/cli_edit_args").json
                         ["description"], "beta")

    def test_edit_without_change_saves_nothing(self):
        self.server.create_connection("cli_edit_same")
        proc = self.run_cli("connections", "edit", "cli_edit_same", env={"EDITOR": "true"})
        self.assertIn("no change", proc.stdout)
        self.assertEqual(self.server.api("GET", "/admin/connections/cli_edit_same").json
                         ["creationTag"]["versionNumber"], 1)
        self.assertEqual(self.leftover_edit_files(), [])

    def test_edit_conflict_when_changed_meanwhile(self):
        self.server.create_connection("cli_race", description="old text")
        other = self.server.api("GET", "/admin/connections/cli_race").json
        del other["creationTag"]
        other["description"] = "someone else's"
        meanwhile = self.cli.write("meanwhile.json", json.dumps(other))
        # the editor script saves another change through the CLI, then edits the file
        ed = self.editor('"%s" connections set cli_race "%s" >/dev/null\n'
                         'sed -i s/old/new/ "$1"' % (BIN, meanwhile))
        proc = self.run_cli("connections", "edit", "cli_race", env={"EDITOR": ed}, expect=1)
        self.assertRefused(proc, "PreconditionFailed")
        self.assertIn("hint: ", proc.stderr)
        self.assertIn("switchboard connections edit cli_race", proc.stderr)
        d = self.server.api("GET", "/admin/connections/cli_race").json
        self.assertEqual(d["description"], "someone else's")
        self.assertEqual(d["creationTag"]["versionNumber"], 2)
        kept = self.leftover_edit_files()
        self.assertEqual(len(kept), 1)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.cli.tmpdir, kept[0])).st_mode),
                         0o600)
        # running edit again works
        self.run_cli("connections", "edit", "cli_race",
                     env={"EDITOR": "sed -i s/else/other/"})
        self.assertEqual(self.server.api("GET", "/admin/connections/cli_race").json
                         ["description"], "someone other's")

    def test_edit_invalid_json_or_failing_editor_saves_nothing(self):
        self.server.create_connection("cli_edit_bad")
        proc = self.run_cli("connections", "edit", "cli_edit_bad",
                            env={"EDITOR": self.editor('echo "{ broken" > "$1"')}, expect=1)
        self.assertIn("not valid", proc.stderr)
        self.assertIn("connections set cli_edit_bad", proc.stderr)
        proc = self.run_cli("connections", "edit", "cli_edit_bad", env={"EDITOR": "false"},
                            expect=1)
        self.assertIn("exited with status 1", proc.stderr)
        self.assertEqual(self.server.api("GET", "/admin/connections/cli_edit_bad").json
                         ["creationTag"]["versionNumber"], 1)
        proc = self.run_cli("connections", "edit", "cli_edit_missing", env={"EDITOR": "true"},
                            expect=1)
        self.assertRefused(proc, "NotFound")


class CliWriteGuardsTest(CliTestCase):
    """The CLI against a server with --write-guards (docs/API.md §4.7)."""

    server_options = {"extra_args": ["--write-guards"]}

    def test_delete_of_a_used_connection_needs_force(self):
        self.server.create_connection("cli_guarded")
        self.assertStatus(self.server.api("POST", "/projects/", {
            "projectKey": "CLIG", "name": "guarded", "owner": "admin"}), 200)
        self.assertStatus(self.server.api("POST", "/projects/CLIG/datasets/", {
            "projectKey": "CLIG", "name": "ds1", "type": "Filesystem",
            "params": {"connection": "cli_guarded", "path": "/x"}}), 200)
        proc = self.run_cli("connections", "delete", "cli_guarded", expect=1)
        self.assertRefused(proc, "Conflict")
        self.assertIn("--force", proc.stderr)
        self.run_cli("connections", "delete", "cli_guarded", "--force")
        self.assertStatus(self.server.api("GET", "/admin/connections/cli_guarded"), 404)

    def test_set_of_a_stale_file_is_refused(self):
        self.server.create_connection("cli_guarded_set")
        d = self.server.api("GET", "/admin/connections/cli_guarded_set").json
        path = self.cli.write("guarded.json", json.dumps(dict(d, description="one")))
        self.run_cli("connections", "set", "cli_guarded_set", path)
        proc = self.run_cli("connections", "set", "cli_guarded_set", path, expect=1)
        self.assertIn(proc.stderr.split(":")[1].strip(), ("Conflict", "PreconditionFailed"))
        self.assertIn("hint:", proc.stderr)


class CliTransferTest(unittest.TestCase):
    """export --with-secrets from one server, import into a second one with another master
    key; and what an encrypted export can and cannot do."""

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(BIN):
            raise unittest.SkipTest("switchboard binary not found at %s" % BIN)
        cls.source = Server()
        cls.addClassCleanup(cls.source.cleanup)
        cls.source.start()
        cls.target = Server()
        cls.addClassCleanup(cls.target.cleanup)
        cls.target.start()
        cls.secret_values = []

        def secret(label):
            value = "%s-%s" % (label, random_key(24))
            cls.secret_values.append(value)
            cls.source.remember_secret(value)
            cls.target.remember_secret(value)
            return value

        cls.definitions = {
            "t_pg": {"type": "PostgreSQL", "params": {
                "host": "pg.example", "user": "etl", "password": secret("pgpw"),
                "db": "${dbname}",
                "properties": [{"name": "sslmode", "value": "require"},
                               {"name": "sslpassword", "value": secret("prop"),
                                "secret": True}]},
                "usableBy": "ALLOWED", "allowedGroups": ["analysts"],
                "description": "with variables, secret properties"},
            "t_mysql": {"type": "MySql", "params": {
                "host": "my.example", "user": "app", "password": secret("mypw")}},
            "t_s3": {"type": "EC2", "params": {
                "bucket": "b", "accessKey": "AKIAEXAMPLE", "secretKey": secret("s3")}},
            "t_fs": {"type": "Filesystem", "params": {"root": "${dip.home}/files"}},
        }
        for name, d in cls.definitions.items():
            cls.source.create_connection(name, **d)

    @classmethod
    def tearDownClass(cls):
        for server in (cls.source, cls.target):
            server.stop()
            server.assert_log_clean()

    def setUp(self):
        self.cli = Cli(self)
        self.addCleanup(self.cli.cleanup)
        self.cli.secrets.update(self.secret_values)
        self.cli.secrets.update([self.source.admin_key, self.target.admin_key])

    def run_on(self, server, *args, **kwargs):
        return self.cli.run(*args, server=server, key=server.admin_key, **kwargs)

    def target_names(self):
        return sorted(self.target.api("GET", "/admin/connections/").json)

    def clear_target(self):
        for name in self.target_names():
            self.assertEqual(self.target.api("DELETE", "/admin/connections/%s?force=true"
                                             % name).status, 200)

    def info(self, server, name):
        r = server.api("GET", "/connections/%s/info" % name)
        self.assertEqual(r.status, 200, server.redact(r.raw))
        return r.json

    def test_export_with_secrets_then_import_into_another_server(self):
        self.clear_target()
        path = os.path.join(self.cli.tmp, "export.json")
        proc = self.run_on(self.source, "connections", "export", "--with-secrets", "-o", path)
        self.assertIn("exported 4 connections", proc.stdout)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with open(path) as f:
            doc = json.load(f)
        self.assertEqual([d["name"] for d in doc["connections"]],
                         ["t_fs", "t_mysql", "t_pg", "t_s3"])
        by_name = {d["name"]: d for d in doc["connections"]}
        for d in doc["connections"]:
            self.assertNotIn("id", d)
            self.assertNotIn("label", d)
        # plaintext secrets, and variables left as written
        self.assertEqual(by_name["t_pg"]["params"]["password"],
                         self.definitions["t_pg"]["params"]["password"])
        self.assertEqual(by_name["t_pg"]["params"]["db"], "${dbname}")
        self.assertEqual(by_name["t_pg"]["params"]["properties"],
                         self.definitions["t_pg"]["params"]["properties"])
        self.assertEqual(by_name["t_fs"]["params"]["root"], "${dip.home}/files")

        # dry run: a report, no change
        proc = self.run_on(self.target, "connections", "import", path, "--dry-run", "--json")
        report = json.loads(proc.stdout)
        self.assertEqual(sorted(report["created"]), ["t_fs", "t_mysql", "t_pg", "t_s3"])
        self.assertIs(report["dryRun"], True)
        self.assertEqual(self.target_names(), [])

        proc = self.run_on(self.target, "connections", "import", path)
        self.assertIn("created  4", proc.stdout)
        self.assertEqual(self.target_names(), ["t_fs", "t_mysql", "t_pg", "t_s3"])
        for name in self.definitions:
            src, dst = self.info(self.source, name), self.info(self.target, name)
            self.assertEqual(dst["type"], src["type"])
            if name == "t_fs":  # ${dip.home} is each server's own data directory
                self.assertEqual(dst["params"], src["params"])
            else:
                self.assertEqual(dst["resolvedParams"], src["resolvedParams"],
                                 "secrets of %s" % name)
        self.assertEqual(self.info(self.target, "t_pg")["resolvedBasicCredential"]["password"],
                         self.definitions["t_pg"]["params"]["password"])
        self.assertEqual(self.info(self.target, "t_s3")["resolvedAWSCredential"]["secretKey"],
                         self.definitions["t_s3"]["params"]["secretKey"])
        # the target re-encrypted them under its own key
        stored = self.target.api("GET", "/admin/connections/t_pg").json
        self.assertTrue(stored["params"]["password"].startswith("e:"))
        self.assertEqual(stored["allowedGroups"], ["analysts"])
        self.assertEqual(self.target.api("GET", "/admin/connections/t_fs").json["params"]
                         ["root"], "${dip.home}/files")

        # a second import refuses the existing names and changes nothing
        before = self.target.api("GET", "/admin/connections/").json
        proc = self.run_on(self.target, "connections", "import", path, expect=1)
        self.assertIn("switchboard: ImportError: ", proc.stderr)
        self.assertIn("--on-conflict", proc.stderr)
        self.assertEqual(self.target.api("GET", "/admin/connections/").json, before)
        proc = self.run_on(self.target, "connections", "import", path, "--on-conflict", "skip")
        self.assertIn("skipped  4", proc.stdout)
        report = json.loads(self.run_on(self.target, "connections", "import", path,
                                        "--on-conflict", "overwrite", "--json").stdout)
        self.assertEqual(sorted(report["updated"]), ["t_fs", "t_mysql", "t_pg", "t_s3"])
        self.assertEqual(self.info(self.target, "t_mysql")["resolvedParams"]["password"],
                         self.definitions["t_mysql"]["params"]["password"])

    def test_export_to_stdout_and_import_from_stdin(self):
        self.clear_target()
        proc = self.run_on(self.source, "connections", "export", "--with-secrets")
        doc = json.loads(proc.stdout)
        self.assertEqual(len(doc["connections"]), 4)
        self.run_on(self.target, "connections", "import", "-", input=proc.stdout)
        self.assertEqual(self.info(self.target, "t_s3")["resolvedParams"]["secretKey"],
                         self.definitions["t_s3"]["params"]["secretKey"])

    def test_encrypted_export_only_fits_its_own_server(self):
        self.clear_target()
        path = os.path.join(self.cli.tmp, "encrypted.json")
        self.run_on(self.source, "connections", "export", "-o", path)
        with open(path, "rb") as f:
            raw = f.read().decode()
        for v in self.secret_values:
            self.assertNotIn(v, raw)
        doc = json.loads(raw)
        self.assertTrue(next(d for d in doc["connections"] if d["name"] == "t_pg")
                        ["params"]["password"].startswith("e:"))
        # another master key cannot open them: refused, nothing imported
        proc = self.run_on(self.target, "connections", "import", path, expect=1)
        self.assertIn("switchboard: ImportError: t_pg: ", proc.stderr)
        self.assertEqual(self.target_names(), [])
        # the server that wrote them can take them back
        self.run_on(self.source, "connections", "import", path, "--on-conflict", "overwrite")
        self.assertEqual(self.info(self.source, "t_pg")["resolvedParams"]["password"],
                         self.definitions["t_pg"]["params"]["password"])

    def test_progress_shows_on_a_terminal_only(self):
        master, slave = pty.openpty()
        try:
            proc = subprocess.run([BIN, "connections", "export", "--with-secrets", "-o",
                                   os.path.join(self.cli.tmp, "p.json")],
                                  stdout=subprocess.PIPE, stderr=slave, text=True, timeout=60,
                                  env=cli_env(self.cli.home, self.cli.tmpdir, self.source,
                                              self.source.admin_key))
            os.close(slave)
            slave = None
            chunks = []
            while True:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    break
                if not data:
                    break
                chunks.append(data)
            tty_err = b"".join(chunks).decode("utf-8", "replace")
        finally:
            if slave is not None:
                os.close(slave)
            os.close(master)
        self.assertEqual(proc.returncode, 0)
        self.cli.check_stderr(tty_err, ["export (terminal)"])
        self.assertIn("exporting: 4/4 connections", tty_err)
        proc = self.run_on(self.source, "connections", "export", "--with-secrets", "-o",
                           os.path.join(self.cli.tmp, "q.json"))
        self.assertEqual(proc.stderr, "")


class CliTlsTest(CliTestCase):
    """TLS verification is on by default; --ca-file and --insecure."""

    @classmethod
    def setUpClass(cls):
        if shutil.which("openssl") is None:
            raise unittest.SkipTest("openssl is needed")
        cls.certdir = tempfile.mkdtemp(prefix="switchboard-cli-tls-")
        cls.addClassCleanup(shutil.rmtree, cls.certdir, True)
        cls.cert = os.path.join(cls.certdir, "c.pem")
        key = os.path.join(cls.certdir, "k.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                        "1", "-subj", "/CN=127.0.0.1", "-addext",
                        "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cls.cert],
                       check=True, capture_output=True, timeout=60)
        cls.server_options = {"tls_cert": cls.cert, "tls_key": key}
        super().setUpClass()

    def test_verification_on_by_default(self):
        proc = self.run_cli("groups", "list", expect=3)
        self.assertTrue(proc.stderr.startswith("switchboard: TransportError: "))
        self.assertIn("--ca-file", proc.stderr)

    def test_ca_file_and_insecure(self):
        self.run_cli("groups", "list", "--ca-file", self.cert)
        self.run_cli("groups", "list", "--insecure")


class ExampleProgramTest(CliTestCase):
    """`make examples` builds examples/*.c against the public header and the static library."""

    @classmethod
    def setUpClass(cls):
        if shutil.which("make") is None or shutil.which("cc") is None:
            raise unittest.SkipTest("make and cc are needed")
        build = subprocess.run(["make", "-s", "-C", REPO, "examples"], capture_output=True,
                               text=True, timeout=600)
        if build.returncode != 0:
            raise AssertionError("make examples failed:\n%s%s" % (build.stdout, build.stderr))
        super().setUpClass()

    def test_print_user_host(self):
        program = os.path.join(REPO, "build", "examples", "print_user_host")
        password = "expw-" + random_key(20)
        self.server.remember_secret(password)
        self.server.create_connection("ex_pg", type="PostgreSQL", params={
            "host": "db.example.org", "user": "reporting", "password": password})
        proc = subprocess.run([program, self.server.base_url, self.server.admin_key, "ex_pg"],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, "reporting@db.example.org\n")
        env = cli_env(self.cli.home, self.cli.tmpdir, self.server, self.server.admin_key)
        proc = subprocess.run([program, "ex_pg"], capture_output=True, text=True, timeout=30,
                              env=env)
        self.assertEqual(proc.stdout, "reporting@db.example.org\n")
        proc = subprocess.run([program, self.server.base_url, self.server.admin_key, "nope"],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 1)
        self.assertTrue(proc.stderr.startswith("NotFound: "))
        proc = subprocess.run([program, "http://127.0.0.1:%d" % free_port(), "k", "ex_pg"],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 3)
        for p in (proc,):
            self.assertNotIn(password, p.stderr)


if __name__ == "__main__":
    unittest.main()
