# SPDX-License-Identifier: Apache-2.0
"""Defaults the DSS client reads without a guard (issue 13, point 5), each through the
client property that would raise a KeyError without it: DSSConnectionSettings
.allow_knowledge_banks, DSSUserSettings.preferences (every DSSUserPreferences key),
DSSDatasetListItem.tags/.schema/.get_column, DSSDatasetSettings.tags, and DSSDataset.exists().
The users and projects modules test the same fields in their flows; this one keeps point 5 in
one place."""

import unittest

from dss import PREFERENCE_KEYS, DSSClient
from server import ServerTestCase


class ClientDefaultsTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = DSSClient(cls.server.base_url, cls.server.admin_key)
        cls.addClassCleanup(cls.admin.close)

    def test_connection_allow_knowledge_banks(self):
        conn = self.admin.create_connection("df_fs", "Filesystem", {"root": "/tmp/df_fs"})
        settings = conn.get_settings()
        self.assertIs(settings.allow_knowledge_banks, True)
        self.assertIs(self.admin.list_connections()["df_fs"]["allowKnowledgeBanks"], True)
        settings.allow_knowledge_banks = False
        settings.save()
        self.assertIs(conn.get_settings().allow_knowledge_banks, False)

    def test_user_preferences_have_every_key(self):
        self.server.create_user("df_user")
        prefs = self.admin.get_user("df_user").get_settings().preferences
        values = {attr: getattr(prefs, attr) for attr in PREFERENCE_KEYS}
        self.assertEqual(values.pop("ui_language"), "en")
        self.assertEqual(set(values.values()), {True})
        own = DSSClient(self.server.base_url, self.server.create_personal_key("df_user")["key"])
        self.addCleanup(own.close)
        raw = own.get_own_user().get_settings().get_raw()
        self.assertEqual(set(raw["preferences"]), set(PREFERENCE_KEYS.values()))

    def test_dataset_tags_schema_and_exists(self):
        project = self.admin.create_project("DF_P", "Defaults", "df_owner")
        ds = project.create_dataset("df_ds", "Inline")
        item = project.list_datasets()[0]
        self.assertEqual((item.tags, item.schema), ([], {"columns": [], "userModified": False}))
        self.assertIsNone(item.get_column("any"))
        self.assertEqual(ds.get_settings().tags, [])
        self.assertTrue(ds.exists())
        self.assertFalse(project.get_dataset("df_missing").exists())


if __name__ == "__main__":
    unittest.main()
