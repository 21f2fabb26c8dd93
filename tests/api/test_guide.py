# SPDX-License-Identifier: Apache-2.0
"""The DSS developer-guide scenario on connections, end to end through a client that sends
what dataikuapi sends."""

import unittest

from dss import DataikuException, DSSClient
from server import ServerTestCase, random_key

GUIDE_PARAMS = {'db': 'mysql_test', 'host': 'localhost', 'password': 'admin',
                'properties': [{'name': 'useSSL', 'value': 'true'}], 'user': 'admin'}


class GuideScenarioTest(ServerTestCase):

    def client(self, key=None):
        c = DSSClient(self.server.base_url, key or self.server.admin_key)
        self.addCleanup(c.close)
        return c

    def assertParamsKept(self, params):
        """The guide's params, without ever showing the password's value."""
        for k in ('db', 'host', 'user', 'properties'):
            self.assertEqual(params.get(k), GUIDE_PARAMS[k], "params[%r]" % k)
        self.assertIn('password', params)
        self.assertTrue(isinstance(params['password'], str) and params['password'],
                        "password lost or emptied")

    def test_guide_scenario(self):
        client = self.client()

        connections = client.list_connections()
        self.assertIsInstance(connections, dict)
        self.assertNotIn('test_connection', connections)

        new_connection = client.create_connection(
            'test_connection', type='MySql', params=GUIDE_PARAMS,
            usable_by='ALLOWED', allowed_groups=['administrators', 'data_team'])

        item = client.list_connections()['test_connection']
        self.assertEqual(item.name, 'test_connection')
        self.assertEqual(item.type, 'MySql')
        self.assertEqual(item['id'], 'test_connection')
        self.assertEqual(item['label'], 'MySql')
        self.assertParamsKept(item['params'])
        self.assertEqual(item['usableBy'], 'ALLOWED')
        self.assertEqual(item['allowedGroups'], ['administrators', 'data_team'])
        self.assertIs(item['allowWrite'], True)
        self.assertIs(item['allowManagedDatasets'], True)
        self.assertEqual(item['maxActivities'], 0)

        definition = new_connection.get_definition()
        definition['usableBy'] = 'ALL'
        definition['allowWrite'] = False
        new_connection.set_definition(definition)
        reread = new_connection.get_definition()
        self.assertEqual(reread['usableBy'], 'ALL')
        self.assertIs(reread['allowWrite'], False)
        self.assertParamsKept(reread['params'])
        self.assertEqual(reread['creationTag']['versionNumber'], 2)

        settings = new_connection.get_settings()
        settings.set_usability(False, 'data_team')
        settings.save()
        reread = client.get_connection('test_connection').get_definition()
        self.assertEqual(reread['usableBy'], 'ALLOWED')
        self.assertEqual(reread['allowedGroups'], ['data_team'])
        self.assertIs(reread['allowWrite'], False)
        self.assertParamsKept(reread['params'])

        self.assertIn('test_connection', client.list_connections_names('MySql'))
        self.assertNotIn('test_connection', client.list_connections_names('PostgreSQL'))

        client.get_connection('test_connection').delete()
        with self.assertRaises(DataikuException) as cm:
            new_connection.get_definition()
        self.assertTrue(str(cm.exception).startswith('NotFound: '),
                        self.server.redact(str(cm.exception)))
        self.assertNotIn('test_connection', client.list_connections())

    def test_set_usability_all_makes_connection_usable_by_everyone(self):
        client = self.client()
        conn = client.create_connection('usable_flip', type='PostgreSQL',
                                        params={'host': 'localhost', 'db': 'd'},
                                        usable_by='ALLOWED', allowed_groups=['finance'])
        team = self.server.create_key(groups=['data_team'], label='team')
        team_client = self.client(team['key'])
        self.assertNotIn('usable_flip', team_client.list_connections_names('PostgreSQL'))
        settings = conn.get_settings()
        settings.set_usability(True)
        settings.save()
        self.assertEqual(conn.get_definition()['usableBy'], 'ALL')
        self.assertIn('usable_flip', team_client.list_connections_names('PostgreSQL'))
        self.assertIn('usable_flip', team_client.list_connections_names('all'))

    def test_create_existing_name_raises_conflict(self):
        client = self.client()
        client.create_connection('guide_dup', type='PostgreSQL', params={'host': 'h'})
        with self.assertRaises(DataikuException) as cm:
            client.create_connection('guide_dup', type='PostgreSQL', params={'host': 'h'})
        self.assertTrue(str(cm.exception).startswith('Conflict: '),
                        self.server.redact(str(cm.exception)))

    def test_non_admin_client_gets_forbidden(self):
        user = self.server.create_key(groups=['data_team'], label='guide user')
        client = self.client(user['key'])
        with self.assertRaises(DataikuException) as cm:
            client.list_connections()
        self.assertTrue(str(cm.exception).startswith('Forbidden: '),
                        self.server.redact(str(cm.exception)))
        self.assertIsInstance(client.list_connections_names('all'), list)
        info = client.get_auth_info()
        self.assertIs(info['admin'], False)

    def test_unknown_key_client_gets_unauthorized(self):
        unknown = random_key()
        self.server.remember_secret(unknown)
        client = self.client(unknown)
        with self.assertRaises(DataikuException) as cm:
            client.list_connections()
        self.assertTrue(str(cm.exception).startswith('Unauthorized: '),
                        self.server.redact(str(cm.exception)))

    def test_invalid_definition_raises_bad_request(self):
        client = self.client()
        with self.assertRaises(DataikuException) as cm:
            client.create_connection('bad name!', type='MySql', params={'host': 'h'})
        self.assertTrue(str(cm.exception).startswith('BadRequest: '),
                        self.server.redact(str(cm.exception)))
        self.assertIn("'name'", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
