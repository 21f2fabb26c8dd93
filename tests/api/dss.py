# SPDX-License-Identifier: Apache-2.0
"""A minimal look-alike of what the DSS Python client (dataikuapi) sends for connections.

Written from a description of the client's wire behaviour, not from its code: requests go to
`<host>/dip/publicapi<path>` on one reused HTTP/1.1 connection, authenticated with
`Authorization: Basic base64("<apikey>:")`; JSON bodies go out with no Content-Type header;
an error answer becomes DataikuException("<errorType>: <detailedMessage>").
"""

import base64
import http.client
import json
import urllib.parse


class DataikuException(Exception):
    pass


class DSSClient:
    def __init__(self, host, api_key):
        url = urllib.parse.urlsplit(host)
        self.netloc = url.netloc
        self.auth = "Basic " + base64.b64encode((api_key + ":").encode()).decode("ascii")
        self._conn = None

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _perform(self, method, path, params=None, body=None):
        url = "/dip/publicapi" + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = json.dumps(body).encode("utf-8") if body is not None else None
        # What a requests.Session adds on its own; never a Content-Type.
        headers = {"Authorization": self.auth, "Accept": "*/*", "Connection": "keep-alive",
                   "Accept-Encoding": "gzip, deflate", "User-Agent": "python-requests/2.31.0"}
        for attempt in (1, 2):
            if self._conn is None:
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

    def get_auth_info(self):
        return self._perform("GET", "/auth/info")


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

    def delete(self):
        return self.client._perform("DELETE", self._path())


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

    def set_usability(self, all, *groups):
        if all:
            self.settings["usableBy"] = "ALL"
        else:
            self.settings["usableBy"] = "ALLOWED"
            self.settings["allowedGroups"] = list(groups)

    def save(self):
        return self.connection.set_definition(self.settings)
