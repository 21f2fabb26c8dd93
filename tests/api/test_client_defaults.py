# SPDX-License-Identifier: Apache-2.0
"""Defaults the DSS client reads without a guard (issue 13, point 5), each through the
client property that would raise a KeyError without it: DSSConnectionSettings
.allow_knowledge_banks, DSSUserSettings.preferences (every DSSUserPreferences key),
DSSDatasetListItem.tags/.schema/.get_column, DSSDatasetSettings.tags, and DSSDataset.exists().
The users and projects modules test the same fields in their flows; this one keeps point 5 in
one place."""

import json
import os
import sqlite3
import unittest

from dss import PREFERENCE_KEYS, DSSClient
from server import STORE, OwnServerTestCase, ServerTestCase


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


class StoredBeforeTheDefaultTest(OwnServerTestCase):

    @unittest.skipIf(STORE != "sqlite", "edits the SQLite file")
    def test_connection_stored_without_allow_knowledge_banks_is_served_with_it(self):
        s = self.server
        s.create_connection("df_old")
        s.stop()
        db = sqlite3.connect(os.path.join(s.data_dir, "switchboard.db"))
        try:
            (text,) = db.execute("SELECT definition FROM connections WHERE name = 'df_old'")\
                .fetchone()
            old = json.loads(text)
            del old["allowKnowledgeBanks"]  # as written before the field existed
            db.execute("UPDATE connections SET definition = ? WHERE name = 'df_old'",
                       (json.dumps(old),))
            db.commit()
        finally:
            db.close()
        s.start()
        client = DSSClient(s.base_url, s.admin_key)
        self.addCleanup(client.close)
        self.assertIs(client.get_connection("df_old").get_settings().allow_knowledge_banks, True)
        self.assertIs(client.list_connections()["df_old"]["allowKnowledgeBanks"], True)


if __name__ == "__main__":
    unittest.main()
