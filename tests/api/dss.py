# SPDX-License-Identifier: Apache-2.0
"""What the DSS Python client (dataikuapi) sends, byte for byte, for the areas Switchboard
serves: connections, users, groups, API keys, projects and datasets, variables.

Written by reading the client's public source (dataiku/dataiku-api-client-python:
dataikuapi/dssclient.py, dss/admin.py, dss/project.py, dss/dataset.py, dss/future.py,
dss/utils.py, utils.py); no code of it is copied and nothing here imports it. Every method
names, in its comment, the client call it stands for, and sends what that call sends:

- the URL is "<host>/dip/publicapi" + the path the client formats with "%s" (names are NOT
  quoted by the client; `requests` then re-quotes only what is unsafe in a URL, like
  requote_uri), and the query `requests` builds from `params` (a None value left out, a bool
  as "True"/"False", a list as repeated keys, an empty list as nothing);
- the body is json.dumps(body) with the default separators, sent as a str, so `requests`
  adds no Content-Type; Content-Length is sent for every body, and "0" for a method other
  than GET/HEAD without a body;
- the headers of a requests.Session in its order (User-Agent, Accept-Encoding, Accept,
  Connection, then the session's extra headers such as X-DKU-ProxyUser), then
  Content-Length, then Authorization: Basic base64("<key>:").

Answers are read as the client reads them: _perform_json parses JSON, _perform_text keeps
the text (and callers json.loads it where the client does), _perform_empty ignores it. An
answer of 400 or more raises DataikuException("<errorType>: <detailedMessage>"), as the
client's handle_http_exception does. `last_request` holds the last request as sent
(method, target, [(header, value)...], body bytes or None), for tests of the wire shape.
"""

import base64
import datetime
import http.client
import json
import ssl
import urllib.parse

USER_AGENT = "python-requests/2.32.3"
# what requests.utils.requote_uri leaves unquoted
_URI_SAFE = "!#$%&'()*+,/:;=?@[]~"


class DataikuException(Exception):
    pass


def _ts(timestamp_ms):
    """utils._timestamp_ms_to_zoned_datetime: None for a missing, zero or negative time."""
    if timestamp_ms and timestamp_ms > 0:
        return datetime.datetime.fromtimestamp(timestamp_ms / 1000, tz=datetime.timezone.utc)
    return None


def _query(params):
    """The query string requests builds from `params`."""
    pairs = []
    for k, v in (params or {}).items():
        if v is None:
            continue
        for item in (v if isinstance(v, (list, tuple)) else [v]):
            if item is not None:
                pairs.append((k, str(item)))
    return urllib.parse.urlencode(pairs)


class DSSFuture:
    """dss/future.py DSSFuture.from_resp: the answer is the state; jobId may be absent."""

    def __init__(self, client, job_id, state=None):
        self.client = client
        self.job_id = job_id
        self.state = state

    @staticmethod
    def from_resp(client, resp):
        return DSSFuture(client, resp.get("jobId", None), state=resp)


class DSSClient:
    def __init__(self, host, api_key=None, extra_headers=None, ca_file=None):
        """DSSClient(host, api_key, extra_headers=...). ca_file: the CA bundle an https host is
        verified against (what `requests` calls `verify`)."""
        url = urllib.parse.urlsplit(host)
        self.host = host
        self.api_key = api_key
        self.netloc = url.netloc
        self.https = url.scheme == "https"
        self.ca_file = ca_file
        self.extra_headers = dict(extra_headers or {})
        self.last_request = None
        self._conn = None

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # ---- transport: _perform_http and its three readers ------------------------------------

    def _perform_http(self, method, path, params=None, body=None):
        target = urllib.parse.quote("/dip/publicapi" + path, safe=_URI_SAFE)
        query = _query(params)
        if query:
            target += "?" + query
        data = json.dumps(body).encode("utf-8") if body is not None else None
        headers = [("User-Agent", USER_AGENT), ("Accept-Encoding", "gzip, deflate"),
                   ("Accept", "*/*"), ("Connection", "keep-alive")]
        headers += list(self.extra_headers.items())
        if data is not None:
            headers.append(("Content-Length", str(len(data))))
        elif method not in ("GET", "HEAD"):
            headers.append(("Content-Length", "0"))
        auth = base64.b64encode((self.api_key + ":").encode("latin-1")).decode("ascii")
        headers.append(("Authorization", "Basic " + auth))
        self.last_request = (method, target, headers, data)
        for attempt in (1, 2):
            if self._conn is None:
                if self.https:
                    ctx = ssl.create_default_context(cafile=self.ca_file)
                    self._conn = http.client.HTTPSConnection(self.netloc, timeout=15,
                                                             context=ctx)
                else:
                    self._conn = http.client.HTTPConnection(self.netloc, timeout=15)
            try:
                self._conn.putrequest(method, target, skip_accept_encoding=True)
                for name, value in headers:
                    self._conn.putheader(name, value)
                self._conn.endheaders(data)
                resp = self._conn.getresponse()
                raw = resp.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt == 2:
                    raise
        if resp.will_close:
            self.close()
        if resp.status >= 400:
            try:
                err = json.loads(raw)
                message = "%s: %s" % (err.get("errorType"), err.get("detailedMessage"))
            except ValueError:
                message = "HTTP %d: %s" % (resp.status, raw[:200].decode("utf-8", "replace"))
            raise DataikuException(message)
        return raw

    def _perform_json(self, method, path, params=None, body=None):
        return json.loads(self._perform_http(method, path, params, body))

    def _perform_text(self, method, path, params=None, body=None):
        return self._perform_http(method, path, params, body).decode("utf-8")

    def _perform_empty(self, method, path, params=None, body=None):
        self._perform_http(method, path, params, body)

    # ---- users and groups (non-admin) ------------------------------------------------------

    def list_users_info(self):
        # DSSClient.list_users_info
        return [DSSUserInfo(u) for u in self._perform_json("GET", "/users")]

    def list_groups_info(self):
        # DSSClient.list_groups_info
        return [DSSGroupInfo(g) for g in self._perform_json("GET", "/groups")]

    # ---- users -----------------------------------------------------------------------------

    def list_users(self, as_objects=False, include_settings=False):
        # DSSClient.list_users
        users = self._perform_json("GET", "/admin/users/",
                                   params={"includeSettings": include_settings})
        if as_objects:
            return [DSSUser(self, u["login"]) for u in users]
        return users

    def get_user(self, login):
        # DSSClient.get_user (no request)
        return DSSUser(self, login)

    def create_user(self, login, password, display_name='', source_type='LOCAL', groups=None,
                    profile='DATA_SCIENTIST', email=None):
        # DSSClient.create_user
        self._perform_text("POST", "/admin/users/", body={
            "login": login, "password": password, "displayName": display_name,
            "sourceType": source_type, "groups": groups if groups is not None else [],
            "userProfile": profile, "email": email})
        return DSSUser(self, login)

    def create_users(self, users):
        # DSSClient.create_users: fills the missing keys of each dict in place, in this order
        for user in users:
            user.setdefault("login", "")
            user.setdefault("displayName", "")
            user.setdefault("sourceType", "LOCAL")
            user.setdefault("groups", [])
            user.setdefault("userProfile", "DATA_SCIENTIST")
            user.setdefault("email", None)
            if user["groups"] is None:
                user["groups"] = []
        return json.loads(self._perform_text("POST", "/admin/users/actions/bulk", body=users))

    def edit_users(self, user_changes):
        # DSSClient.edit_users
        return json.loads(self._perform_text("PUT", "/admin/users/actions/bulk",
                                             body=user_changes))

    def delete_users(self, user_logins, allow_self_deletion=False):
        # DSSClient.delete_users: a DELETE with a body and a query
        return json.loads(self._perform_text("DELETE", "/admin/users/actions/bulk",
                                             params={"allowSelfDeletion": allow_self_deletion},
                                             body=user_logins))

    def get_own_user(self):
        # DSSClient.get_own_user (no request)
        return DSSOwnUser(self)

    def list_users_activity(self, enabled_users_only=False):
        # DSSClient.list_users_activity
        answer = self._perform_json("GET", "/admin/users-activity",
                                    params={"enabledUsersOnly": enabled_users_only})
        return [DSSUserActivity(self, a["login"], a) for a in answer]

    def list_expired_trial_users(self):
        # DSSClient.list_expired_trial_users
        return self._perform_json("GET", "/admin/list-trial-expired-users")

    def get_authorization_matrix(self):
        # DSSClient.get_authorization_matrix
        return DSSAuthorizationMatrix(self._perform_json("GET", "/admin/authorization-matrix"))

    def start_resync_users_from_supplier(self, logins):
        # DSSClient.start_resync_users_from_supplier (out of scope: answers 404)
        return DSSFuture.from_resp(self, self._perform_json(
            "POST", "/admin/users/actions/resync-multi", body=logins))

    def start_resync_all_users_from_supplier(self):
        # DSSClient.start_resync_all_users_from_supplier (out of scope)
        return DSSFuture.from_resp(self, self._perform_json(
            "POST", "/admin/users/actions/resync-multi"))

    def start_fetch_external_groups(self, user_source_type):
        # DSSClient.start_fetch_external_groups (out of scope)
        return DSSFuture.from_resp(self, self._perform_json(
            "GET", "/admin/external-groups", params={"userSourceType": user_source_type}))

    def start_fetch_external_users(self, user_source_type, login=None, email=None,
                                   group_name=None):
        # DSSClient.start_fetch_external_users (out of scope)
        return DSSFuture.from_resp(self, self._perform_json(
            "GET", "/admin/external-users", params={
                "userSourceType": user_source_type, "login": login, "email": email,
                "groupName": group_name}))

    def start_provision_users(self, user_source_type, users):
        # DSSClient.start_provision_users (out of scope)
        return DSSFuture.from_resp(self, self._perform_json(
            "POST", "/admin/users/actions/provision",
            body={"userSourceType": user_source_type, "users": users}))

    # ---- groups ----------------------------------------------------------------------------

    def list_groups(self):
        # DSSClient.list_groups
        return self._perform_json("GET", "/admin/groups/")

    def get_group(self, name):
        # DSSClient.get_group (no request)
        return DSSGroup(self, name)

    def create_group(self, name, description=None, source_type='LOCAL'):
        # DSSClient.create_group
        self._perform_text("POST", "/admin/groups/", body={
            "name": name, "description": description, "sourceType": source_type})
        return DSSGroup(self, name)

    # ---- connections -----------------------------------------------------------------------

    def list_connections(self, as_type="dictitems"):
        # DSSClient.list_connections
        items = self._perform_json("GET", "/admin/connections/")
        if as_type in ("dictitems", "dictitem"):
            return {name: DSSConnectionListItem(self, items[name]) for name in items}
        if as_type in ("listitems", "listitem"):
            return [DSSConnectionListItem(self, items[name]) for name in items]
        if as_type in ("objects", "object"):
            return [DSSConnection(self, name) for name in items]
        raise ValueError("Unknown as_type")

    def list_connections_names(self, connection_type):
        # DSSClient.list_connections_names
        return self._perform_json("GET", "/connections/get-names",
                                  params={"type": connection_type})

    def get_connection(self, name):
        # DSSClient.get_connection (no request)
        return DSSConnection(self, name)

    def create_connection(self, name, type, params=None, usable_by='ALL', allowed_groups=None,
                          description=None):
        # DSSClient.create_connection
        self._perform_text("POST", "/admin/connections/", body={
            "name": name, "description": description, "type": type,
            "params": params if params is not None else {}, "usableBy": usable_by,
            "allowedGroups": allowed_groups if allowed_groups is not None else []})
        return DSSConnection(self, name)

    # ---- global API keys -------------------------------------------------------------------

    def list_global_api_keys(self, as_type='listitems'):
        # DSSClient.list_global_api_keys
        resp = self._perform_json("GET", "/admin/global-api-keys/")
        if as_type == "listitems":
            return [DSSGlobalApiKeyListItem(self, item) for item in resp]
        if as_type == "objects":
            return [DSSGlobalApiKey(self, item["key"], item["id"]) for item in resp]
        raise ValueError("Unknown as_type")

    def get_global_api_key(self, key):
        # DSSClient.get_global_api_key (deprecated: by secret)
        resp = self._perform_json("GET", "/admin/globalAPIKeys/%s" % key)
        return DSSGlobalApiKey(self, key, resp["id"])

    def get_global_api_key_by_id(self, id_):
        # DSSClient.get_global_api_key_by_id
        resp = self._perform_json("GET", "/admin/global-api-keys/%s" % id_)
        return DSSGlobalApiKey(self, resp["key"], id_)

    def _create_global_api_key(self, request_body):
        # DSSClient._create_global_api_key: reads messages.error, id and key
        resp = self._perform_json("POST", "/admin/global-api-keys/", body=request_body)
        if resp is None:
            raise Exception("API key creation returned no data")
        if resp.get("messages", {}).get("error", False):
            raise Exception("API key creation failed")
        if not resp.get("id", False):
            raise Exception("API key creation returned no key")
        return DSSGlobalApiKey(self, resp.get("key", ""), resp["id"])

    def create_global_api_key(self, label=None, description=None, admin=False):
        # DSSClient.create_global_api_key
        return self._create_global_api_key({"label": label, "description": description,
                                            "globalPermissions": {"admin": admin}})

    def create_global_api_key_with_groups(self, label=None, description=None, groups=None):
        # DSSClient.create_global_api_key_with_groups
        return self._create_global_api_key({"label": label, "description": description,
                                            "groups": groups if groups is not None else []})

    # ---- personal API keys -----------------------------------------------------------------

    def list_personal_api_keys(self, as_type='listitems'):
        # DSSClient.list_personal_api_keys
        resp = self._perform_json("GET", "/personal-api-keys/")
        if as_type == "listitems":
            return [DSSPersonalApiKeyListItem(self, item) for item in resp]
        if as_type == "objects":
            return [DSSPersonalApiKey(self, item.get("key", ""), item["id"]) for item in resp]
        raise ValueError("Unknown as_type")

    def get_personal_api_key(self, id):
        # DSSClient.get_personal_api_key (no request)
        return DSSPersonalApiKey(self, "", id)

    def create_personal_api_key(self, label="", description="", as_type='dict'):
        # DSSClient.create_personal_api_key
        resp = self._perform_json("POST", "/personal-api-keys/",
                                  body={"label": label, "description": description})
        if resp is None or not resp.get("id", False):
            raise Exception("API key creation returned no key")
        if as_type == "object":
            return DSSPersonalApiKey(self, resp.get("key", ""), resp["id"])
        return resp

    def list_all_personal_api_keys(self, as_type='listitems'):
        # DSSClient.list_all_personal_api_keys
        resp = self._perform_json("GET", "/admin/personal-api-keys/")
        if as_type == "listitems":
            return [DSSPersonalApiKeyListItem(self, item) for item in resp]
        if as_type == "objects":
            return [DSSPersonalApiKey(self, item.get("key", ""), item["id"]) for item in resp]
        raise ValueError("Unknown as_type")

    def create_personal_api_key_for_user(self, user, label="", description="",
                                         as_type='object'):
        # DSSClient.create_personal_api_key_for_user
        resp = self._perform_json("POST", "/admin/personal-api-keys/",
                                  body={"user": user, "label": label, "description": description})
        if resp is None or not resp.get("id", False):
            raise Exception("API key creation returned no key")
        if as_type == "object":
            return DSSPersonalApiKey(self, resp.get("key", ""), resp["id"])
        return resp

    # ---- variables -------------------------------------------------------------------------

    def get_variables(self):
        # DSSClient.get_variables (deprecated alias)
        return self.get_global_variables()

    def get_global_variables(self):
        # DSSClient.get_global_variables
        return DSSInstanceVariables(self, self._perform_json("GET", "/admin/variables/"))

    def set_variables(self, variables):
        # DSSClient.set_variables (deprecated): DSSInstanceVariables(...).save()
        return DSSInstanceVariables(self, variables).save()

    def get_resolved_variables(self, project_key, typed=False):
        # DSSClient.get_resolved_variables (the client falls back on dataiku's default
        # project when project_key is None; here it must be given)
        return self._perform_json("GET", "/projects/%s/variables-resolved" % project_key,
                                  params={"typed": "true" if typed else "false"})

    # ---- who am I --------------------------------------------------------------------------

    def get_auth_info(self, with_secrets=False):
        # DSSClient.get_auth_info
        return self._perform_json("GET", "/auth/info", params={"withSecrets": with_secrets})

    # ---- projects --------------------------------------------------------------------------

    def list_project_keys(self):
        # DSSClient.list_project_keys
        return [x["projectKey"] for x in self._perform_json("GET", "/projects/")]

    def list_projects(self, include_location=False):
        # DSSClient.list_projects
        return self._perform_json("GET", "/projects/",
                                  params={"includeLocation": include_location})

    def get_project(self, project_key):
        # DSSClient.get_project (no request)
        return DSSProject(self, project_key)

    def create_project(self, project_key, name, owner, description=None, settings=None,
                       project_folder_id=None, permissions=None, tags=[]):
        # DSSClient.create_project
        params = {}
        if project_folder_id is not None:
            params["projectFolderId"] = project_folder_id
        self._perform_text("POST", "/projects/", params=params, body={
            "projectKey": project_key, "name": name, "owner": owner, "settings": settings,
            "description": description,
            "permissions": permissions if permissions is not None else [], "tags": tags})
        return DSSProject(self, project_key)


# ==== dss/admin.py ===========================================================================

class DSSInstanceVariables(dict):
    # admin.DSSInstanceVariables
    def __init__(self, client, variables):
        super().__init__(variables)
        self.client = client

    def save(self):
        # DSSInstanceVariables.save
        return self.client._perform_empty("PUT", "/admin/variables/", body=self)


class DSSUserInfo:
    # admin.DSSUserInfo: reads login, displayName, groups, email, enabled
    def __init__(self, raw):
        self._raw = raw

    def get_raw(self):
        return self._raw

    @property
    def login(self):
        return self._raw["login"]

    @property
    def display_name(self):
        return self._raw["displayName"]

    @property
    def groups(self):
        return self._raw["groups"]

    @property
    def email(self):
        return self._raw["email"]

    @property
    def enabled(self):
        return self._raw["enabled"]


class DSSGroupInfo:
    # admin.DSSGroupInfo: reads name
    def __init__(self, raw):
        self._raw = raw

    def get_raw(self):
        return self._raw

    @property
    def name(self):
        return self._raw["name"]


class DSSAuthorizationMatrix:
    # admin.DSSAuthorizationMatrix: only .raw
    def __init__(self, authorization_matrix):
        self.authorization_matrix = authorization_matrix

    @property
    def raw(self):
        return self.authorization_matrix


class DSSUserActivity:
    # admin.DSSUserActivity: reads lastSuccessfulLogin, lastFailedLogin, lastSessionActivity
    def __init__(self, client, login, activity):
        self.client = client
        self.login = login
        self.activity = activity

    def get_raw(self):
        return self.activity

    @property
    def last_successful_login(self):
        return _ts(self.activity["lastSuccessfulLogin"])

    @property
    def last_failed_login(self):
        return _ts(self.activity["lastFailedLogin"])

    @property
    def last_session_activity(self):
        return _ts(self.activity["lastSessionActivity"])


class DSSUser:
    # admin.DSSUser
    def __init__(self, client, login):
        self.client = client
        self.login = login

    def delete(self, allow_self_deletion=False):
        # DSSUser.delete
        return self.client._perform_empty("DELETE", "/admin/users/%s" % self.login,
                                          params={"allowSelfDeletion": allow_self_deletion})

    def get_settings(self):
        # DSSUser.get_settings
        raw = self.client._perform_json("GET", "/admin/users/%s" % self.login)
        return DSSUserSettings(self.client, self.login, raw)

    def get_activity(self):
        # DSSUser.get_activity
        activity = self.client._perform_json("GET", "/admin/users/%s/activity" % self.login)
        return DSSUserActivity(self.client, self.login, activity)

    def get_info(self):
        # DSSUser.get_info
        return DSSUserInfo(self.client._perform_json("GET", "/users/%s" % self.login))

    def start_resync_from_supplier(self):
        # DSSUser.start_resync_from_supplier (out of scope)
        return DSSFuture.from_resp(self.client, self.client._perform_json(
            "POST", "/admin/users/%s/actions/resync" % self.login))

    def get_definition(self):
        # DSSUser.get_definition (deprecated)
        return self.client._perform_json("GET", "/admin/users/%s" % self.login)

    def set_definition(self, definition):
        # DSSUser.set_definition (deprecated)
        return self.client._perform_json("PUT", "/admin/users/%s" % self.login,
                                         body=definition)

    def get_client_as(self):
        # DSSUser.get_client_as: same key, plus the session header X-DKU-ProxyUser
        return DSSClient(self.client.host, self.client.api_key,
                         extra_headers={"X-DKU-ProxyUser": self.login},
                         ca_file=self.client.ca_file)


class DSSOwnUser:
    # admin.DSSOwnUser
    def __init__(self, client):
        self.client = client

    def get_settings(self):
        # DSSOwnUser.get_settings
        return DSSOwnUserSettings(self.client, self.client._perform_json("GET", "/current-user"))


class DSSUserSettingsBase:
    # admin.DSSUserSettingsBase: reads secrets, credentials, userProperties
    def __init__(self, settings):
        self.settings = settings

    def get_raw(self):
        return self.settings

    def add_secret(self, name, value):
        self.remove_secret(name)
        return self.settings["secrets"].append({"name": name, "value": value, "secret": True})

    def remove_secret(self, name):
        self.settings["secrets"] = [x for x in self.settings["secrets"] if x["name"] != name]

    @property
    def user_properties(self):
        return self.settings["userProperties"]

    def set_basic_connection_credential(self, connection, login, password):
        self.settings["credentials"][connection] = {
            "type": "BASIC", "user": login, "password": password}

    def remove_connection_credential(self, connection):
        if connection in self.settings["credentials"]:
            del self.settings["credentials"][connection]

    @staticmethod
    def _plugin_credential_name(plugin_id, param_set_id, preset_id, param_name):
        return json.dumps(["PLUGIN", plugin_id, param_set_id, preset_id, param_name])[1:-1]

    def set_basic_plugin_credential(self, plugin_id, param_set_id, preset_id, param_name, login,
                                    password):
        name = self._plugin_credential_name(plugin_id, param_set_id, preset_id, param_name)
        self.settings["credentials"][name] = {"type": "BASIC", "user": login,
                                              "password": password}

    def set_oauth2_plugin_credential(self, plugin_id, param_set_id, preset_id, param_name,
                                     refresh_token):
        name = self._plugin_credential_name(plugin_id, param_set_id, preset_id, param_name)
        self.settings["credentials"][name] = {"type": "OAUTH_REFRESH_TOKEN",
                                              "refreshToken": refresh_token}

    def remove_plugin_credential(self, plugin_id, param_set_id, preset_id, param_name):
        name = self._plugin_credential_name(plugin_id, param_set_id, preset_id, param_name)
        if name in self.settings["credentials"]:
            del self.settings["credentials"][name]


# admin.DSSUserPreferences: attribute name -> the key it reads and writes
PREFERENCE_KEYS = {
    "ui_language": "uiLanguage",
    "mention_emails": "mentionEmails",
    "discussion_emails": "discussionEmails",
    "access_request_emails": "accessRequestEmails",
    "granted_access_emails": "grantedAccessEmails",
    "granted_plugin_request_emails": "grantedPluginRequestEmails",
    "plugin_request_emails": "pluginRequestEmails",
    "instance_access_requests_emails": "instanceAccessRequestsEmails",
    "profile_upgrade_requests_emails": "profileUpgradeRequestsEmails",
    "code_env_creation_request_emails": "codeEnvCreationRequestEmails",
    "granted_code_env_creation_request_emails": "grantedCodeEnvCreationRequestEmails",
    "daily_digests_emails": "dailyDigestsEmails",
    "offline_activity_emails": "offlineActivityEmails",
    "remember_position_flow": "rememberPositionFlow",
    "login_logout_notifications": "loginLogoutNotifications",
    "watched_objects_editions_notifications": "watchedObjectsEditionsNotifications",
    "object_on_current_project_created_deleted_notifications":
        "objectOnCurrentProjectCreatedDeletedNotifications",
    "any_object_on_current_project_edited_notifications":
        "anyObjectOnCurrentProjectEditedNotifications",
    "watch_star_on_current_project_notifications": "watchStarOnCurrentProjectNotifications",
    "other_users_jobs_tasks_notifications": "otherUsersJobsTasksNotifications",
    "request_access_notifications": "requestAccessNotifications",
    "scenario_run_notifications": "scenarioRunNotifications",
}


class DSSUserPreferences:
    # admin.DSSUserPreferences: every property reads preferences[key] without a guard
    def __init__(self, preferences):
        self.__dict__["preferences"] = preferences

    def __getattr__(self, name):
        if name not in PREFERENCE_KEYS:
            raise AttributeError(name)
        return self.preferences[PREFERENCE_KEYS[name]]

    def __setattr__(self, name, value):
        if name not in PREFERENCE_KEYS:
            raise AttributeError(name)
        self.preferences[PREFERENCE_KEYS[name]] = value


class DSSUserSettings(DSSUserSettingsBase):
    # admin.DSSUserSettings
    def __init__(self, client, login, settings):
        super().__init__(settings)
        self.client = client
        self.login = login

    @property
    def admin_properties(self):
        return self.settings["adminProperties"]

    @property
    def enabled(self):
        return self.settings["enabled"]

    @enabled.setter
    def enabled(self, new_value):
        self.settings["enabled"] = new_value

    @property
    def creation_date(self):
        return _ts(self.settings["creationDate"] if "creationDate" in self.settings else None)

    @property
    def preferences(self):
        return DSSUserPreferences(self.settings["preferences"])

    def save(self):
        # DSSUserSettings.save
        self.client._perform_json("PUT", "/admin/users/%s" % self.login, body=self.settings)


class DSSOwnUserSettings(DSSUserSettingsBase):
    # admin.DSSOwnUserSettings
    def __init__(self, client, settings):
        super().__init__(settings)
        self.client = client

    def save(self):
        # DSSOwnUserSettings.save
        self.client._perform_empty("PUT", "/current-user", body=self.settings)


class DSSGroup:
    # admin.DSSGroup
    def __init__(self, client, name):
        self.client = client
        self.name = name

    def delete(self):
        # DSSGroup.delete
        return self.client._perform_empty("DELETE", "/admin/groups/%s" % self.name)

    def get_definition(self):
        # DSSGroup.get_definition
        return self.client._perform_json("GET", "/admin/groups/%s" % self.name)

    def set_definition(self, definition):
        # DSSGroup.set_definition
        return self.client._perform_json("PUT", "/admin/groups/%s" % self.name,
                                         body=definition)


class DSSConnectionListItem(dict):
    # admin.DSSConnectionListItem: .name reads "id" and .type reads "label";
    # to_connection reads "name"
    def __init__(self, client, data):
        super().__init__(data)
        self.client = client

    def to_connection(self):
        return DSSConnection(self.client, self["name"])

    @property
    def name(self):
        return self["id"]

    @property
    def type(self):
        return self["label"]


class DSSConnectionInfo(dict):
    # admin.DSSConnectionInfo
    def get_type(self):
        return self["type"]

    def get_credential_mode(self):
        return self["credentialsMode"]

    def get_params(self):
        return self["params"]

    def get_resolved_params(self):
        return self["resolvedParams"]

    def get_basic_credential(self):
        if "resolvedBasicCredential" not in self:
            raise ValueError("No basic credential available")
        return self["resolvedBasicCredential"]

    def get_aws_credential(self):
        if "resolvedAWSCredential" not in self:
            raise ValueError("No AWS credential available")
        return self["resolvedAWSCredential"]

    def get_oauth2_credential(self):
        if "resolvedOAuth2Credential" not in self:
            raise ValueError("No OAUTH2 credential available")
        return self["resolvedOAuth2Credential"]


class DSSConnection:
    # admin.DSSConnection
    def __init__(self, client, name):
        self.client = client
        self.name = name

    def get_location_info(self):
        # DSSConnection.get_location_info (deprecated alias of get_info)
        return self.get_info()

    def get_info(self, contextual_project_key=None):
        # DSSConnection.get_info: params None (no query) unless a project is given
        params = ({"contextualProjectKey": contextual_project_key}
                  if contextual_project_key is not None else None)
        return DSSConnectionInfo(self.client._perform_json(
            "GET", "/connections/%s/info" % self.name, params=params))

    def delete(self):
        # DSSConnection.delete
        return self.client._perform_empty("DELETE", "/admin/connections/%s" % self.name)

    def get_settings(self):
        # DSSConnection.get_settings
        return DSSConnectionSettings(self, self.client._perform_json(
            "GET", "/admin/connections/%s" % self.name))

    def get_definition(self):
        # DSSConnection.get_definition (deprecated)
        return self.client._perform_json("GET", "/admin/connections/%s" % self.name)

    def set_definition(self, definition):
        # DSSConnection.set_definition (deprecated)
        return self.client._perform_json("PUT", "/admin/connections/%s" % self.name,
                                         body=definition)

    def sync_root_acls(self):
        # DSSConnection.sync_root_acls (out of scope: HDFS)
        resp = self.client._perform_json("POST", "/admin/connections/%s/sync" % self.name,
                                          body={"root": True})
        return DSSFuture(self.client, resp.get("jobId", None), resp)

    def sync_datasets_acls(self):
        # DSSConnection.sync_datasets_acls (out of scope: HDFS; the client sends root too)
        resp = self.client._perform_json("POST", "/admin/connections/%s/sync" % self.name,
                                          body={"root": True})
        return DSSFuture(self.client, resp.get("jobId", None), resp)

    def test(self):
        # DSSConnection.test
        return self.client._perform_json("GET", "/connections/%s/test" % self.name)


class DSSConnectionSettings:
    # admin.DSSConnectionSettings
    def __init__(self, connection, settings):
        self.connection = connection
        self.settings = settings

    def get_raw(self):
        return self.settings

    @property
    def type(self):
        return self.settings["type"]

    @property
    def allow_managed_datasets(self):
        return self.settings["allowManagedDatasets"]

    @allow_managed_datasets.setter
    def allow_managed_datasets(self, new_value):
        self.settings["allowManagedDatasets"] = new_value

    @property
    def allow_managed_folders(self):
        return self.settings["allowManagedFolders"]

    @allow_managed_folders.setter
    def allow_managed_folders(self, new_value):
        self.settings["allowManagedFolders"] = new_value

    @property
    def allow_knowledge_banks(self):
        return self.settings["allowKnowledgeBanks"]

    @allow_knowledge_banks.setter
    def allow_knowledge_banks(self, new_value):
        self.settings["allowKnowledgeBanks"] = new_value

    @property
    def allow_write(self):
        return self.settings["allowWrite"]

    @allow_write.setter
    def allow_write(self, new_value):
        self.settings["allowWrite"] = new_value

    @property
    def details_readability(self):
        return DSSConnectionDetailsReadability(self.settings["detailsReadability"])

    @property
    def usable_by(self):
        return self.settings["usableBy"]

    @property
    def usable_by_allowed_groups(self):
        return self.settings["allowedGroups"]

    def set_usability(self, all, *groups):
        # the client stores the *groups tuple itself; json.dumps sends it as a list
        if all:
            self.settings["usableBy"] = "ALL"
        else:
            self.settings["usableBy"] = "ALLOWED"
            self.settings["allowedGroups"] = groups

    def save(self):
        # DSSConnectionSettings.save
        self.connection.client._perform_json(
            "PUT", "/admin/connections/%s" % self.connection.name, body=self.settings)


class DSSConnectionDetailsReadability:
    # admin.DSSConnectionDetailsReadability
    def __init__(self, data):
        self._data = data

    @property
    def readable_by(self):
        return self._data["readableBy"]

    @property
    def allowed_groups(self):
        return self._data["allowedGroups"]

    def set_readability(self, all, *groups):
        if all:
            self._data["readableBy"] = "ALL"
        elif groups is None or len(groups) == 0:
            self._data["readableBy"] = "NONE"
        else:
            self._data["readableBy"] = "ALLOWED"
            self._data["allowedGroups"] = groups


class DSSGlobalApiKey:
    # admin.DSSGlobalApiKey
    def __init__(self, client, key, id_):
        self.client = client
        self.key = key
        self.id_ = id_

    def delete(self):
        # DSSGlobalApiKey.delete
        return self.client._perform_empty("DELETE", "/admin/global-api-keys/%s" % self.id_)

    def get_definition(self):
        # DSSGlobalApiKey.get_definition
        return DSSGlobalApiKeyDefinition(self.client, self.client._perform_json(
            "GET", "/admin/global-api-keys/%s" % self.id_))

    def set_definition(self, definition):
        # DSSGlobalApiKey.set_definition
        return self.client._perform_empty("PUT", "/admin/global-api-keys/%s" % self.id_,
                                          body=definition)


class DSSGlobalApiKeyDefinition(dict):
    # admin.DSSGlobalApiKeyDefinition
    def __init__(self, client, data):
        super().__init__(data)
        self.client = client

    @property
    def id(self):
        return self["id"]

    @property
    def label(self):
        return self["label"]

    @label.setter
    def label(self, new_value):
        self["label"] = new_value

    @property
    def description(self):
        return self.get("description")

    @description.setter
    def description(self, new_value):
        self["description"] = new_value

    @property
    def user_for_impersonation(self):
        return self.get("dssUserForImpersonation")

    @user_for_impersonation.setter
    def user_for_impersonation(self, new_value):
        self["dssUserForImpersonation"] = new_value

    @property
    def groups(self):
        return self.get("groups")

    @groups.setter
    def groups(self, new_value):
        self["groups"] = new_value

    @property
    def created_on(self):
        return _ts(self["createdOn"])

    @property
    def created_by(self):
        return self.get("createdBy")

    @property
    def expires_on(self):
        timestamp = self.get("expiresOn")
        if timestamp is None or timestamp == 0:
            return None
        return _ts(timestamp)

    @property
    def lifetime(self):
        return self.get("expiry")

    @lifetime.setter
    def lifetime(self, new_value):
        self["expiry"] = new_value

    def save(self):
        # DSSGlobalApiKeyDefinition.save
        return self.client._perform_empty("PUT", "/admin/global-api-keys/%s" % self.id,
                                          body=self)


class DSSGlobalApiKeyListItem(dict):
    # admin.DSSGlobalApiKeyListItem
    def __init__(self, client, data):
        super().__init__(data)
        self.client = client

    def to_global_api_key(self):
        return DSSGlobalApiKey(self.client, self["key"], self["id"])

    @property
    def id(self):
        return self["id"]

    @property
    def user_for_impersonation(self):
        return self.get("dssUserForImpersonation")

    @property
    def key(self):
        return self["key"]

    @property
    def label(self):
        return self["label"]

    @property
    def description(self):
        return self.get("description")

    @property
    def created_on(self):
        return _ts(self["createdOn"])

    @property
    def created_by(self):
        return self.get("createdBy")

    @property
    def groups(self):
        return self.get("groups")


class DSSPersonalApiKey:
    # admin.DSSPersonalApiKey
    def __init__(self, client, key, id_):
        self.client = client
        self.key = key
        self.id_ = id_

    def get_definition(self):
        # DSSPersonalApiKey.get_definition
        return self.client._perform_json("GET", "/personal-api-keys/%s" % self.id_)

    def set_definition(self, definition):
        # DSSPersonalApiKey.set_definition
        return self.client._perform_empty("PUT", "/personal-api-keys/%s" % self.id_,
                                          body=definition)

    def delete(self):
        # DSSPersonalApiKey.delete
        return self.client._perform_empty("DELETE", "/personal-api-keys/%s" % self.id_)


class DSSPersonalApiKeyListItem(dict):
    # admin.DSSPersonalApiKeyListItem
    def __init__(self, client, data):
        super().__init__(data)
        self.client = client

    def to_personal_api_key(self):
        return DSSPersonalApiKey(self.client, self.get("key", ""), self["id"])

    @property
    def id(self):
        return self["id"]

    @property
    def user(self):
        return self["user"]

    @property
    def key(self):
        return self["key"]

    @property
    def label(self):
        return self["label"]

    @property
    def description(self):
        return self["description"]

    @property
    def created_on(self):
        return _ts(self["createdOn"])

    @property
    def created_by(self):
        return self["createdBy"]


# ==== dss/project.py and dss/dataset.py ======================================================

class DSSProject:
    # project.DSSProject
    def __init__(self, client, project_key):
        self.client = client
        self.project_key = project_key

    def get_summary(self):
        # DSSProject.get_summary
        return self.client._perform_json("GET", "/projects/%s" % self.project_key)

    def delete(self, clear_managed_datasets=False, clear_output_managed_folders=False,
               clear_job_and_scenario_logs=True, **kwargs):
        # DSSProject.delete: a DELETE with four query parameters; the answer is a future
        if kwargs.get("drop_data"):
            clear_managed_datasets = True
        wait = "wait" not in kwargs or kwargs["wait"]
        ret = self.client._perform_json("DELETE", "/projects/%s" % self.project_key, params={
            "clearManagedDatasets": clear_managed_datasets,
            "clearOutputManagedFolders": clear_output_managed_folders,
            "clearJobAndScenarioLogs": clear_job_and_scenario_logs, "wait": wait})
        return DSSFuture.from_resp(self.client, ret)

    def get_metadata(self):
        # DSSProject.get_metadata
        return self.client._perform_json("GET", "/projects/%s/metadata" % self.project_key)

    def set_metadata(self, metadata):
        # DSSProject.set_metadata
        return self.client._perform_empty("PUT", "/projects/%s/metadata" % self.project_key,
                                          body=metadata)

    def get_permissions(self):
        # DSSProject.get_permissions
        return self.client._perform_json("GET", "/projects/%s/permissions" % self.project_key)

    def set_permissions(self, permissions):
        # DSSProject.set_permissions
        return self.client._perform_empty("PUT", "/projects/%s/permissions" % self.project_key,
                                          body=permissions)

    def list_datasets(self, as_type="listitems", include_shared=False, tags=None):
        # DSSProject.list_datasets
        items = self.client._perform_json("GET", "/projects/%s/datasets/" % self.project_key,
                                          params={"foreign": include_shared,
                                                  "tags": tags if tags is not None else []})
        if as_type in ("listitems", "listitem"):
            return [DSSDatasetListItem(self.client, item) for item in items]
        if as_type in ("objects", "object"):
            return [DSSDataset(self.client, item["projectKey"], item["name"]) for item in items]
        raise ValueError("Unknown as_type")

    def get_dataset(self, dataset_name):
        # DSSProject.get_dataset (no request)
        return DSSDataset(self.client, self.project_key, dataset_name)

    def _post_dataset(self, body):
        self.client._perform_json("POST", "/projects/%s/datasets/" % self.project_key,
                                  body=body)
        return DSSDataset(self.client, self.project_key, body["name"])

    def create_dataset(self, dataset_name, type, params=None, formatType=None,
                       formatParams=None):
        # DSSProject.create_dataset
        return self._post_dataset({
            "name": dataset_name, "projectKey": self.project_key, "type": type,
            "params": params if params is not None else {}, "formatType": formatType,
            "formatParams": formatParams if formatParams is not None else {}})

    def create_upload_dataset(self, dataset_name, connection=None):
        # DSSProject.create_upload_dataset
        obj = {"name": dataset_name, "projectKey": self.project_key, "type": "UploadedFiles",
               "params": {}}
        if connection is not None:
            obj["params"]["uploadConnection"] = connection
        return self._post_dataset(obj)

    def create_sample_dataset(self, dataset_name, plugin, sample):
        # DSSProject.create_sample_dataset
        return self._post_dataset({
            "name": dataset_name, "projectKey": self.project_key,
            "type": "Sample_" + plugin + "_" + sample,
            "params": {"pluginId": plugin, "sampleName": sample}})

    def new_managed_dataset(self, dataset_name):
        # DSSProject.new_managed_dataset (no request)
        return DSSManagedDatasetCreationHelper(self, dataset_name)

    def create_filesystem_dataset(self, dataset_name, connection, path_in_connection):
        # DSSProject.create_filesystem_dataset
        return self.create_fslike_dataset(dataset_name, "Filesystem", connection,
                                          path_in_connection)

    def create_s3_dataset(self, dataset_name, connection, path_in_connection, bucket=None):
        # DSSProject.create_s3_dataset
        extra = {"bucket": bucket} if bucket is not None else {}
        return self.create_fslike_dataset(dataset_name, "S3", connection, path_in_connection,
                                          extra)

    def create_gcs_dataset(self, dataset_name, connection, path_in_connection, bucket=None):
        # DSSProject.create_gcs_dataset
        extra = {"bucket": bucket} if bucket is not None else {}
        return self.create_fslike_dataset(dataset_name, "GCS", connection, path_in_connection,
                                          extra)

    def create_azure_blob_dataset(self, dataset_name, connection, path_in_connection,
                                  container=None):
        # DSSProject.create_azure_blob_dataset
        extra = {"container": container} if container is not None else {}
        return self.create_fslike_dataset(dataset_name, "Azure", connection,
                                          path_in_connection, extra)

    def create_fslike_dataset(self, dataset_name, dataset_type, connection, path_in_connection,
                              extra_params=None):
        # DSSProject.create_fslike_dataset
        body = {"name": dataset_name, "projectKey": self.project_key, "type": dataset_type,
                "params": {"connection": connection, "path": path_in_connection}}
        if extra_params is not None:
            body["params"].update(extra_params)
        return self._post_dataset(body)

    def create_sql_table_dataset(self, dataset_name, type, connection, table, schema,
                                 catalog=None):
        # DSSProject.create_sql_table_dataset
        return self._post_dataset({
            "name": dataset_name, "projectKey": self.project_key, "type": type,
            "params": {"connection": connection, "mode": "table", "table": table,
                       "schema": schema, "catalog": catalog}})

    def sync_datasets_acls(self):
        # DSSProject.sync_datasets_acls (out of scope: HDFS)
        resp = self.client._perform_json("POST", "/projects/%s/actions/sync" % self.project_key)
        return DSSFuture(self.client, resp.get("jobId", None), resp)

    def get_variables(self):
        # DSSProject.get_variables
        return self.client._perform_json("GET", "/projects/%s/variables/" % self.project_key)

    def set_variables(self, obj):
        # DSSProject.set_variables: refuses locally an object without standard or local
        if "standard" not in obj:
            raise ValueError("Missing 'standard' key in argument")
        if "local" not in obj:
            raise ValueError("Missing 'local' key in argument")
        self.client._perform_empty("PUT", "/projects/%s/variables/" % self.project_key,
                                   body=obj)

    def update_variables(self, variables, type="standard"):
        # DSSProject.update_variables: get, update one part, set
        current = self.get_variables()
        current[type].update(variables)
        self.set_variables(current)


class DSSManagedDatasetCreationHelper:
    # dataset.DSSManagedDatasetCreationHelper
    def __init__(self, project, dataset_name):
        self.project = project
        self.dataset_name = dataset_name
        self.creation_settings = {"specificSettings": {}}

    def get_creation_settings(self):
        return self.creation_settings

    def with_store_into(self, connection, type_option_id=None, format_option_id=None):
        self.creation_settings["connectionId"] = connection
        if type_option_id is not None:
            self.creation_settings["typeOptionId"] = type_option_id
        if format_option_id is not None:
            self.creation_settings["specificSettings"]["formatOptionId"] = format_option_id
        return self

    def with_copy_partitioning_from(self, dataset_ref, object_type='DATASET'):
        code = "dataset" if object_type == "DATASET" else "folder"
        self.creation_settings["partitioningOptionId"] = "copy:%s:%s" % (code, dataset_ref)
        return self

    def create(self, overwrite=False):
        # DSSManagedDatasetCreationHelper.create: with overwrite, an existing dataset is
        # deleted first (drop_data=True); then POST /projects/{key}/datasets/managed
        if overwrite and self.already_exists():
            self.project.get_dataset(self.dataset_name).delete(drop_data=True)
        self.project.client._perform_json(
            "POST", "/projects/%s/datasets/managed" % self.project.project_key,
            body={"name": self.dataset_name, "creationSettings": self.creation_settings})
        return DSSDataset(self.project.client, self.project.project_key, self.dataset_name)

    def already_exists(self):
        # DSSManagedDatasetCreationHelper.already_exists: whether get_metadata answers
        try:
            self.project.get_dataset(self.dataset_name).get_metadata()
            return True
        except Exception:
            return False


class DSSDatasetListItem(dict):
    # dataset.DSSDatasetListItem (a DSSTaggableObjectListItem): reads name, type, schema,
    # params.connection, tags, projectKey
    def __init__(self, client, data):
        super().__init__(data)
        self._data = data
        self.client = client

    def to_dataset(self):
        return DSSDataset(self.client, self._data["projectKey"], self._data["name"])

    @property
    def tags(self):
        return self._data["tags"]

    @property
    def name(self):
        return self._data["name"]

    @property
    def id(self):
        return self._data["name"]

    @property
    def type(self):
        return self._data["type"]

    @property
    def schema(self):
        return self._data["schema"]

    @property
    def connection(self):
        if "params" not in self._data:
            return None
        return self._data["params"].get("connection", None)

    def get_column(self, column):
        matched = [col for col in self.schema["columns"] if col["name"] == column]
        return None if len(matched) == 0 else matched[0]


class DSSDataset:
    # dataset.DSSDataset
    def __init__(self, client, project_key, dataset_name):
        self.client = client
        self.project = client.get_project(project_key)
        self.project_key = project_key
        self.dataset_name = dataset_name

    @property
    def id(self):
        return self.dataset_name

    @property
    def name(self):
        return self.dataset_name

    def _path(self, rest=""):
        return "/projects/%s/datasets/%s%s" % (self.project_key, self.dataset_name, rest)

    def delete(self, drop_data=False):
        # DSSDataset.delete
        return self.client._perform_empty("DELETE", self._path(),
                                          params={"dropData": drop_data})

    def get_settings(self):
        # DSSDataset.get_settings
        return DSSDatasetSettings(self, self.client._perform_json("GET", self._path()))

    def get_definition(self):
        # DSSDataset.get_definition (deprecated)
        return self.client._perform_json("GET", self._path())

    def set_definition(self, definition):
        # DSSDataset.set_definition (deprecated)
        return self.client._perform_json("PUT", self._path(), body=definition)

    def exists(self):
        # DSSDataset.exists: whether get_metadata raises
        try:
            self.get_metadata()
            return True
        except Exception:
            return False

    def get_schema(self):
        # DSSDataset.get_schema
        return self.client._perform_json("GET", self._path("/schema"))

    def set_schema(self, schema):
        # DSSDataset.set_schema
        return self.client._perform_json("PUT", self._path("/schema"), body=schema)

    def get_metadata(self):
        # DSSDataset.get_metadata
        return self.client._perform_json("GET", self._path("/metadata"))

    def set_metadata(self, metadata):
        # DSSDataset.set_metadata
        return self.client._perform_json("PUT", self._path("/metadata"), body=metadata)


class DSSDatasetSettings:
    # dataset.DSSDatasetSettings (a DSSTaggableObjectSettings): reads params, type, schema,
    # tags, description, shortDesc, creationTag
    def __init__(self, dataset, settings):
        self._tod = settings
        self.dataset = dataset
        self.settings = settings

    @property
    def tags(self):
        return self._tod["tags"]

    @tags.setter
    def tags(self, tags):
        self._tod["tags"] = tags

    @property
    def description(self):
        return self._tod.get("description", None)

    @description.setter
    def description(self, description):
        self._tod["description"] = description

    @property
    def short_description(self):
        return self._tod.get("shortDesc", None)

    @short_description.setter
    def short_description(self, short_description):
        self._tod["shortDesc"] = short_description

    def get_raw(self):
        return self.settings

    def get_raw_params(self):
        return self.settings["params"]

    @property
    def type(self):
        return self.settings["type"]

    @property
    def schema_columns(self):
        return self.settings["schema"]["columns"]

    def add_raw_schema_column(self, column):
        self.settings["schema"]["columns"].append(column)

    # DSSDatasetSettings.remove_partitioning, add_discrete_partitioning_dimension,
    # add_time_partitioning_dimension (and FSLikeDatasetSettings.set_partitioning_file_pattern):
    # read and write "partitioning" and its "dimensions" unguarded
    def remove_partitioning(self):
        self.settings["partitioning"] = {"dimensions": []}

    def add_discrete_partitioning_dimension(self, dim_name):
        self.settings["partitioning"]["dimensions"].append({"name": dim_name, "type": "value"})

    def add_time_partitioning_dimension(self, dim_name, period="DAY"):
        self.settings["partitioning"]["dimensions"].append(
            {"name": dim_name, "type": "time", "params": {"period": period}})

    def set_partitioning_file_pattern(self, pattern):
        self.settings["partitioning"]["filePathPattern"] = pattern

    # FSLikeDatasetSettings (what DSSDataset.get_settings builds for file types such as
    # Filesystem, S3, GCS, Azure): get_raw_format_params reads "formatParams" unguarded;
    # set_format / set_csv_format write formatType and formatParams
    def get_raw_format_params(self):
        return self.settings["formatParams"]

    def set_format(self, format_type, format_params=None):
        self.settings["formatType"] = format_type
        self.settings["formatParams"] = format_params if format_params is not None else {}

    def set_csv_format(self, separator=",", style="excel", skip_rows_before=0, header_row=True,
                       skip_rows_after=0):
        self.set_format("csv", {"style": style, "separator": separator,
                                "skipRowsBeforeHeader": skip_rows_before,
                                "parseHeaderRow": header_row,
                                "skipRowsAfterHeader": skip_rows_after})

    # DSSDatasetSettings.is_feature_group / set_feature_group: "featureGroup", unguarded
    def is_feature_group(self):
        return self.settings["featureGroup"]

    def set_feature_group(self, status):
        self.settings["featureGroup"] = status

    @property
    def data_steward(self):
        if "dataSteward" in self.settings:
            return self.settings["dataSteward"]
        try:
            return self.settings["creationTag"]["lastModifiedBy"]["login"]
        except (KeyError, TypeError):
            return None

    def save(self):
        # DSSDatasetSettings.save
        self.dataset.client._perform_empty(
            "PUT", "/projects/%s/datasets/%s" % (self.dataset.project_key,
                                                 self.dataset.dataset_name),
            body=self.settings)
