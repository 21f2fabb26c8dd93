# SPDX-License-Identifier: Apache-2.0
"""A minimal look-alike of what the DSS Python client (dataikuapi) sends for connections.

Written from a description of the client's wire behaviour, not from its code: requests go to
`<host>/dip/publicapi<path>` on one reused HTTP/1.1 connection, authenticated with
`Authorization: Basic base64("<apikey>:")`; JSON bodies go out with no Content-Type header;
an error answer becomes DataikuException("<errorType>: <detailedMessage>").

Covered: connections (list, names, create, get/set definition, settings with usability and
details readability, /info with its credential getters), users (create, settings, credentials,
secrets, delete with allow_self_deletion), the own user (/current-user), groups, personal API
keys, /auth/info and the instance variables. Query parameters follow `requests`: a None value
is left out and a bool is sent as "True"/"False". An "https://" host is verified against
`ca_file`.
"""

import base64
import http.client
import json
import ssl
import urllib.parse


class DataikuException(Exception):
    pass


class DSSClient:
    def __init__(self, host, api_key, ca_file=None):
        """host: "http://h:p" or "https://h:p"; ca_file: the CA bundle to verify an HTTPS
        server against (what `requests` calls `verify`)."""
        url = urllib.parse.urlsplit(host)
        self.netloc = url.netloc
        self.https = url.scheme == "https"
        self.ca_file = ca_file
        self.auth = "Basic " + base64.b64encode((api_key + ":").encode()).decode("ascii")
        self._conn = None

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _perform(self, method, path, params=None, body=None):
        url = "/dip/publicapi" + path
        # requests leaves out parameters whose value is None and sends a bool as str(bool)
        params = {k: v for k, v in (params or {}).items() if v is not None}
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = json.dumps(body).encode("utf-8") if body is not None else None
        # What a requests.Session adds on its own; never a Content-Type.
        headers = {"Authorization": self.auth, "Accept": "*/*", "Connection": "keep-alive",
                   "Accept-Encoding": "gzip, deflate", "User-Agent": "python-requests/2.31.0"}
        for attempt in (1, 2):
            if self._conn is None:
                if self.https:
                    ctx = ssl.create_default_context(cafile=self.ca_file)
                    self._conn = http.client.HTTPSConnection(self.netloc, timeout=15,
                                                             context=ctx)
                else:
                    self._conn = http.client.HTTPConnection(self.netloc, timeout=15)
            try:
                self._conn.request(method, url, body=data, headers=headers)
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
        return json.loads(raw) if raw else None

    # ---- connections -------------------------------------------------------------------------

    def list_connections(self):
        """dict: name -> DSSConnectionListItem."""
        answer = self._perform("GET", "/admin/connections/")
        return {name: DSSConnectionListItem(self, d) for name, d in answer.items()}

    def list_connections_names(self, connection_type):
        return self._perform("GET", "/connections/get-names", params={"type": connection_type})

    def get_connection(self, name):
        return DSSConnection(self, name)

    def create_connection(self, name, type, params=None, usable_by="ALL", allowed_groups=None):
        self._perform("POST", "/admin/connections/", body={
            "name": name,
            "type": type,
            "params": params if params is not None else {},
            "usableBy": usable_by,
            "allowedGroups": allowed_groups if allowed_groups is not None else [],
        })
        return DSSConnection(self, name)

    def get_auth_info(self, with_secrets=False):
        return self._perform("GET", "/auth/info", params={"withSecrets": with_secrets})

    # ---- users, groups, personal API keys --------------------------------------------------

    def list_users(self):
        return self._perform("GET", "/admin/users/")

    def get_user(self, login):
        return DSSUser(self, login)

    def get_own_user(self):
        return DSSOwnUser(self)

    def create_user(self, login, password, display_name="", source_type="LOCAL", groups=None,
                    profile="DATA_SCIENTIST"):
        self._perform("POST", "/admin/users/", body={
            "login": login,
            "password": password,
            "displayName": display_name,
            "sourceType": source_type,
            "groups": groups if groups is not None else [],
            "userProfile": profile,
        })
        return DSSUser(self, login)

    def list_groups(self):
        return self._perform("GET", "/admin/groups/")

    def get_group(self, name):
        return DSSGroup(self, name)

    def create_group(self, name, description=None, source_type="LOCAL"):
        self._perform("POST", "/admin/groups/", body={
            "name": name, "description": description, "sourceType": source_type})
        return DSSGroup(self, name)

    def create_personal_api_key_for_user(self, user, label="", description=""):
        """As the admin; returns the answer as a dict (it holds `key`)."""
        return self._perform("POST", "/admin/personal-api-keys/", body={
            "user": user, "label": label, "description": description})

    def list_personal_api_keys(self):
        return self._perform("GET", "/personal-api-keys/")

    def create_personal_api_key(self, label="", description=""):
        return self._perform("POST", "/personal-api-keys/", body={
            "label": label, "description": description})

    # ---- instance variables ------------------------------------------------------------

    def get_global_variables(self):
        return DSSInstanceVariables(self, self._perform("GET", "/admin/variables/"))

    def set_global_variables(self, variables):
        return self._perform("PUT", "/admin/variables/", body=variables)


class DSSInstanceVariables(dict):
    """The instance variables as a dict; save() writes the whole dict back."""

    def __init__(self, client, data):
        super().__init__(data)
        self.client = client

    def save(self):
        return self.client._perform("PUT", "/admin/variables/", body=dict(self))


class DSSGroup:
    def __init__(self, client, name):
        self.client = client
        self.name = name

    def _path(self):
        return "/admin/groups/" + urllib.parse.quote(self.name, safe="")

    def get_definition(self):
        return self.client._perform("GET", self._path())

    def set_definition(self, definition):
        return self.client._perform("PUT", self._path(), body=definition)

    def delete(self):
        return self.client._perform("DELETE", self._path())


class DSSUser:
    def __init__(self, client, login):
        self.client = client
        self.login = login

    def _path(self):
        return "/admin/users/" + urllib.parse.quote(self.login, safe="")

    def get_settings(self):
        return DSSUserSettings(self.client, self._path(), self.client._perform("GET", self._path()))

    def delete(self, allow_self_deletion=False):
        return self.client._perform("DELETE", self._path(),
                                    params={"allowSelfDeletion": allow_self_deletion})


class DSSOwnUser:
    def __init__(self, client):
        self.client = client

    def get_settings(self):
        return DSSUserSettings(self.client, "/current-user",
                               self.client._perform("GET", "/current-user"))


class DSSUserSettings:
    """Settings of a user (admin view) or of oneself; save() PUTs the whole object back."""

    def __init__(self, client, path, settings):
        self.client = client
        self.path = path
        self.settings = settings

    def get_raw(self):
        return self.settings

    @property
    def user_properties(self):
        return self.settings["userProperties"]

    @property
    def admin_properties(self):
        return self.settings["adminProperties"]

    def add_secret(self, name, value):
        self.remove_secret(name)
        self.settings["secrets"].append({"name": name, "value": value, "secret": True})

    def remove_secret(self, name):
        self.settings["secrets"] = [s for s in self.settings["secrets"] if s["name"] != name]

    def set_basic_connection_credential(self, connection, user, password):
        self.settings["credentials"][connection] = {
            "type": "BASIC", "user": user, "password": password}

    def remove_connection_credential(self, connection):
        self.settings["credentials"].pop(connection, None)

    def save(self):
        return self.client._perform("PUT", self.path, body=self.settings)


class DSSConnectionListItem(dict):
    """A list entry: the definition plus `id` and `label`, read as attributes."""

    def __init__(self, client, data):
        super().__init__(data)
        self.client = client

    @property
    def name(self):
        return self["name"]

    @property
    def type(self):
        return self["type"]

    @property
    def id(self):
        return self["id"]

    @property
    def label(self):
        return self["label"]

    def to_connection(self):
        return DSSConnection(self.client, self["name"])


class DSSConnection:
    def __init__(self, client, name):
        self.client = client
        self.name = name

    def _path(self):
        return "/admin/connections/" + urllib.parse.quote(self.name, safe="")

    def get_definition(self):
        return self.client._perform("GET", self._path())

    def set_definition(self, definition):
        return self.client._perform("PUT", self._path(), body=definition)

    def get_settings(self):
        return DSSConnectionSettings(self, self.get_definition())

    def get_info(self, contextual_project_key=None):
        return DSSConnectionInfo(self.client._perform(
            "GET", "/connections/%s/info" % urllib.parse.quote(self.name, safe=""),
            params={"contextualProjectKey": contextual_project_key}))

    def delete(self):
        return self.client._perform("DELETE", self._path())


class DSSConnectionInfo(dict):
    """What /connections/{name}/info answers; the credential getters raise ValueError when
    the answer carries no such credential."""

    def get_type(self):
        return self["type"]

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


class DSSConnectionDetailsReadability:
    """A view on the `detailsReadability` object of connection settings."""

    def __init__(self, data):
        self._data = data

    @property
    def readable_by(self):
        return self._data["readableBy"]

    @property
    def allowed_groups(self):
        return self._data["allowedGroups"]

    def set_readability(self, all, *groups):
        """True: readable by all; False and no group: by nobody; else by those groups."""
        if all:
            self._data["readableBy"] = "ALL"
        elif not groups:
            self._data["readableBy"] = "NONE"
        else:
            self._data["readableBy"] = "ALLOWED"
            self._data["allowedGroups"] = list(groups)


class DSSConnectionSettings:
    def __init__(self, connection, settings):
        self.connection = connection
        self.settings = settings

    def get_raw(self):
        return self.settings

    @property
    def usable_by(self):
        return self.settings["usableBy"]

    @property
    def allowed_groups(self):
        return self.settings["allowedGroups"]

    @property
    def details_readability(self):
        return DSSConnectionDetailsReadability(self.settings["detailsReadability"])

    def set_usability(self, all, *groups):
        if all:
            self.settings["usableBy"] = "ALL"
        else:
            self.settings["usableBy"] = "ALLOWED"
            self.settings["allowedGroups"] = list(groups)

    def save(self):
        return self.connection.set_definition(self.settings)
