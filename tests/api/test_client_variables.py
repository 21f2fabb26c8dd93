# SPDX-License-Identifier: Apache-2.0
"""Wire-level conformance of the variables area of the DSS client (issue 13, point 6):
instance variables (get_global_variables, DSSInstanceVariables.save, the deprecated
get_variables/set_variables), project variables (get/set/update_variables) and
get_resolved_variables, plus their use by /connections/{name}/info. Every call sends what
dataikuapi sends (the client method is named in a comment and checked with assertWire)."""

import unittest

from client_wire import WireMixin
from dss import DataikuException, DSSClient, DSSInstanceVariables
from server import ServerTestCase


class VariablesClientTest(ServerTestCase, WireMixin):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = DSSClient(cls.server.base_url, cls.server.admin_key)
        cls.addClassCleanup(cls.admin.close)
        cls.server.create_group("vc_team")

    def client(self, key):
        c = DSSClient(self.server.base_url, key)
        self.addCleanup(c.close)
        return c

    def assertRaisesDss(self, error_type, call):
        with self.assertRaises(DataikuException) as cm:
            call()
        self.assertTrue(str(cm.exception).startswith(error_type + ": "), str(cm.exception))

    def test_instance_variables(self):
        # DSSClient.get_global_variables: GET /admin/variables/
        variables = self.admin.get_global_variables()
        self.assertWire(self.admin, "GET", "/admin/variables/")
        self.assertIsInstance(variables, DSSInstanceVariables)
        variables["vc_env"] = "prod"
        variables["vc_port"] = 5432
        variables["vc_list"] = [1, "a"]
        # DSSInstanceVariables.save: PUT /admin/variables/ with the dict, answer ignored
        self.assertIsNone(variables.save())
        self.assertWire(self.admin, "PUT", "/admin/variables/", dict(variables))
        again = self.admin.get_global_variables()
        self.assertEqual((again["vc_env"], again["vc_port"], again["vc_list"]),
                         ("prod", 5432, [1, "a"]))
        # DSSClient.get_variables / set_variables (deprecated): the same two requests
        old = self.admin.get_variables()
        self.assertWire(self.admin, "GET", "/admin/variables/")
        old["vc_env"] = "staging"
        self.admin.set_variables(old)
        self.assertWire(self.admin, "PUT", "/admin/variables/", dict(old))
        self.assertEqual(self.admin.get_global_variables()["vc_env"], "staging")

    def test_instance_variables_are_admin_only(self):
        plain = self.client(self.server.user_with_key("vc_plain"))
        self.assertRaisesDss("Forbidden", plain.get_global_variables)
        self.assertRaisesDss("Forbidden", lambda: DSSInstanceVariables(plain, {"x": 1}).save())

    def test_project_variables(self):
        project = self.admin.create_project("VC_P", "Vars", "vc_owner")
        # DSSProject.get_variables: GET /projects/{key}/variables/
        self.assertEqual(project.get_variables(), {"standard": {}, "local": {}})
        self.assertWire(self.admin, "GET", "/projects/VC_P/variables/")
        body = {"standard": {"db": "sales", "n": 3}, "local": {"db": "sales_dev"}}
        # DSSProject.set_variables: PUT /projects/{key}/variables/, answer ignored
        self.assertIsNone(project.set_variables(body))
        self.assertWire(self.admin, "PUT", "/projects/VC_P/variables/", body)
        self.assertEqual(project.get_variables(), body)
        # the client refuses, without a request, an object missing standard or local
        with self.assertRaises(ValueError):
            project.set_variables({"standard": {}})
        # DSSProject.update_variables: GET, update one part, PUT the whole
        project.update_variables({"extra": True})
        self.assertWire(self.admin, "PUT", "/projects/VC_P/variables/", {
            "standard": {"db": "sales", "n": 3, "extra": True}, "local": {"db": "sales_dev"}})
        project.update_variables({"db": "sales_local2"}, type="local")
        self.assertEqual(project.get_variables()["local"], {"db": "sales_local2"})
        self.assertRaisesDss("BadRequest", lambda: project.set_variables(
            {"standard": [], "local": {}}))

    def test_resolved_variables(self):
        variables = self.admin.get_global_variables()
        variables.update({"vc_r_a": "inst", "vc_r_b": "inst", "vc_r_c": "inst"})
        variables.save()
        project = self.admin.create_project("VC_R", "Resolved", "vc_owner")
        project.set_variables({"standard": {"vc_r_b": "std", "vc_r_c": "std", "vc_r_n": 7},
                               "local": {"vc_r_c": "local"}})
        # DSSClient.get_resolved_variables: GET /projects/{key}/variables-resolved?typed=false
        resolved = self.admin.get_resolved_variables("VC_R")
        self.assertWire(self.admin, "GET", "/projects/VC_R/variables-resolved?typed=false")
        self.assertEqual((resolved["vc_r_a"], resolved["vc_r_b"], resolved["vc_r_c"],
                          resolved["vc_r_n"]), ("inst", "std", "local", "7"))
        typed = self.admin.get_resolved_variables("VC_R", typed=True)
        self.assertWire(self.admin, "GET", "/projects/VC_R/variables-resolved?typed=true")
        self.assertEqual(typed["vc_r_n"], 7)
        self.assertRaisesDss("NotFound", lambda: self.admin.get_resolved_variables("VC_NONE"))
        outsider = self.client(self.server.user_with_key("vc_out"))
        self.assertRaisesDss("Forbidden", lambda: outsider.get_resolved_variables("VC_R"))

    def test_project_variables_resolve_in_connection_info(self):
        variables = self.admin.get_global_variables()
        variables["vc_i_root"] = "/srv/instance"
        variables.save()
        project = self.admin.create_project("VC_I", "Info", "vc_owner")
        project.update_variables({"vc_i_root": "/srv/project"}, type="local")
        self.admin.create_connection("vc_fs", "Filesystem", {"root": "${vc_i_root}/data"})
        conn = self.admin.get_connection("vc_fs")
        # DSSConnection.get_info: no query unless a contextual project is given
        info = conn.get_info()
        self.assertWire(self.admin, "GET", "/connections/vc_fs/info")
        self.assertEqual(info.get_resolved_params()["root"], "/srv/instance/data")
        self.assertEqual(info.get_params()["root"], "${vc_i_root}/data")
        info = conn.get_info("VC_I")
        self.assertWire(self.admin, "GET", "/connections/vc_fs/info?contextualProjectKey=VC_I")
        self.assertEqual(info.get_resolved_params()["root"], "/srv/project/data")


if __name__ == "__main__":
    unittest.main()
