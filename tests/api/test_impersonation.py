# SPDX-License-Identifier: Apache-2.0
"""Impersonation with X-DKU-ProxyUser (docs/API.md §2): what DSSUser.get_client_as() sends. An admin
principal acts as the user named by the header for that request (the user's groups and rights,
nothing more); a non-admin sending it is refused; an unknown or disabled login is a clear
error; the audit names both the real principal and the user acted as."""

import unittest

from server import ServerTestCase


def as_user(login):
    # DSSUser.get_client_as(): DSSClient(host, api_key, extra_headers={"X-DKU-ProxyUser": login})
    # -> every request of that client carries the header, with the admin's own key
    return {"X-DKU-ProxyUser": login}


class ProxyUserTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        s.create_group("px_team")
        s.create_group("px_admins", admin=True)
        s.create_user("px_ana", groups=["px_team"])
        s.create_user("px_boss", groups=["px_admins"])
        s.create_user("px_off")
        u = s.api("GET", "/admin/users/px_off").json
        u["enabled"] = False
        r = s.api("PUT", "/admin/users/px_off", u)
        if r.status != 200:
            raise AssertionError("disabling px_off: HTTP %d" % r.status)
        s.create_connection("px_team_conn", usableBy="ALLOWED", allowedGroups=["px_team"],
                            detailsReadability={"readableBy": "ALLOWED",
                                                "allowedGroups": ["px_team"]})
        s.create_connection("px_other_conn", usableBy="ALLOWED", allowedGroups=["px_other"])
        cls.ana_key = s.create_personal_key("px_ana")["key"]

    def test_admin_acts_as_the_user(self):
        info = self.server.api("GET", "/auth/info", headers=as_user("px_ana"))
        self.assertStatus(info, 200)
        self.assertEqual(info.json, {"authIdentifier": "px_ana", "principalType": "USER",
                                     "groups": ["px_team"], "admin": False})

    def test_user_rights_not_the_admins(self):
        h = as_user("px_ana")
        names = self.server.api("GET", "/connections/get-names?type=all", headers=h).json
        self.assertIn("px_team_conn", names)
        self.assertNotIn("px_other_conn", names)
        r = self.server.api("GET", "/connections/px_other_conn/info", headers=h)
        self.assertError(r, 403, "Forbidden", mentions="px_ana")
        r = self.server.api("GET", "/connections/px_other_conn/test", headers=h)
        self.assertError(r, 403, "Forbidden", mentions="px_ana")
        self.assertError(self.server.api("GET", "/admin/connections/", headers=h), 403,
                         "Forbidden")
        self.assertStatus(self.server.api("GET", "/connections/px_team_conn/info", headers=h),
                          200)
        # without the header the same key is the admin again
        self.assertStatus(self.server.api("GET", "/admin/connections/"), 200)

    def test_acting_as_an_admin_user_gives_admin_rights(self):
        r = self.server.api("GET", "/admin/connections/", headers=as_user("px_boss"))
        self.assertStatus(r, 200)
        info = self.server.api("GET", "/auth/info", headers=as_user("px_boss")).json
        self.assertEqual(info["authIdentifier"], "px_boss")
        self.assertIs(info["admin"], True)

    def test_non_admin_sending_the_header_is_forbidden(self):
        for login in ("px_ana", "px_boss", "nobody_at_all"):
            with self.subTest(login=login):
                r = self.server.api("GET", "/auth/info", key=self.ana_key, headers=as_user(login))
                self.assertError(r, 403, "Forbidden", mentions="X-DKU-ProxyUser")
        key = self.server.create_key(groups=["px_team"])["key"]
        r = self.server.api("GET", "/connections/get-names", key=key, headers=as_user("px_boss"))
        self.assertError(r, 403, "Forbidden", mentions="X-DKU-ProxyUser")

    def test_unknown_login_is_not_found_naming_it(self):
        r = self.server.api("GET", "/auth/info", headers=as_user("px_nobody"))
        self.assertError(r, 404, "NotFound", mentions="'px_nobody'")
        self.assertIn("X-DKU-ProxyUser", r.json["detailedMessage"])

    def test_disabled_login_is_forbidden_naming_it(self):
        r = self.server.api("GET", "/auth/info", headers=as_user("px_off"))
        self.assertError(r, 403, "Forbidden", mentions="'px_off'")

    def test_empty_header_is_ignored(self):
        info = self.server.api("GET", "/auth/info", headers=as_user(""))
        self.assertStatus(info, 200)
        self.assertEqual(info.json["principalType"], "GLOBAL_API_KEY")

    def test_unauthenticated_request_is_still_unauthorized(self):
        r = self.server.api("GET", "/auth/info", key=None, headers=as_user("px_ana"))
        self.assertError(r, 401, "Unauthorized")

    def test_writes_are_done_and_audited_as_the_user_with_the_real_principal(self):
        s = self.server
        r = s.api("GET", "/connections/px_team_conn/test", headers=as_user("px_ana"))
        self.assertStatus(r, 200)
        admin_login = s.auth_info()["authIdentifier"]
        audit = s.api("GET", "/admin/audit?limit=20").json
        mine = [a for a in audit if a["action"] == "connection.test"
                and a["object"] == "px_team_conn"]
        self.assertTrue(mine, audit)
        self.assertEqual(mine[0]["principal"], admin_login)
        self.assertEqual(mine[0]["actingAs"], "px_ana")
        # acting as an admin user, a change carries the user in its creationTag
        r = s.api("POST", "/admin/connections/",
                  {"name": "px_made_by_boss", "type": "Filesystem", "params": {"root": "/tmp"}},
                  headers=as_user("px_boss"))
        self.assertStatus(r, 200)
        self.assertEqual(r.json["creationTag"]["lastModifiedBy"]["login"], "px_boss")
        audit = s.api("GET", "/admin/audit?limit=5").json
        made = [a for a in audit if a["object"] == "px_made_by_boss"]
        self.assertEqual((made[0]["principal"], made[0]["actingAs"]), (admin_login, "px_boss"))

    def test_refused_attempts_are_audited(self):
        s = self.server
        r = s.api("GET", "/auth/info", key=self.ana_key, headers=as_user("px_boss"))
        self.assertStatus(r, 403)
        r = s.api("GET", "/auth/info", headers=as_user("px_ghost"))
        self.assertStatus(r, 404)
        audit = s.api("GET", "/admin/audit?limit=20").json
        tried = [(a["principal"], a["object"], a["outcome"]) for a in audit
                 if a["action"] == "user.impersonate"]
        self.assertIn(("px_ana", "px_boss", "denied"), tried)
        self.assertIn((s.auth_info()["authIdentifier"], "px_ghost", "failed"), tried)

    def test_audit_of_a_plain_request_has_no_acting_as(self):
        self.server.api("GET", "/connections/px_team_conn/test")
        audit = self.server.api("GET", "/admin/audit?limit=5").json
        plain = [a for a in audit if a["action"] == "connection.test"][0]
        self.assertNotIn("actingAs", plain)


if __name__ == "__main__":
    unittest.main()
