# SPDX-License-Identifier: Apache-2.0
"""Checks that a dss.py call put on the wire exactly what the real client sends.

The expected request of each test is transcribed from the client's source (the method named
in the test's comment); `dss.DSSClient.last_request` is what dss.py actually sent. Together
they pin the request: method, path and query, the header names in order (never a
Content-Type), Content-Length, and the body bytes (json.dumps with default separators)."""

import json

from dss import USER_AGENT

NO_BODY = object()


def expected_headers(has_body, method, extra=()):
    """The header names a requests.Session sends, in order."""
    names = ["User-Agent", "Accept-Encoding", "Accept", "Connection"] + list(extra)
    if has_body or method not in ("GET", "HEAD"):
        names.append("Content-Length")
    return names + ["Authorization"]


class WireMixin:
    """For unittest.TestCase subclasses."""

    def assertWire(self, client, method, target, body=NO_BODY, extra_headers=()):
        """The last request of CLIENT was METHOD TARGET (the path after /dip/publicapi, with
        its query) with BODY (a JSON value, serialised as the client does) and no
        Content-Type."""
        sent_method, sent_target, headers, data = client.last_request
        self.assertEqual(sent_method, method)
        self.assertEqual(sent_target, "/dip/publicapi" + target)
        names = [h for h, _ in headers]
        self.assertNotIn("content-type", [n.lower() for n in names])
        self.assertEqual(names, expected_headers(body is not NO_BODY, method,
                                                 [h for h, _ in extra_headers]))
        hdr = dict(headers)
        self.assertEqual(hdr["User-Agent"], USER_AGENT)
        self.assertTrue(hdr["Authorization"].startswith("Basic "))
        for name, value in extra_headers:
            self.assertEqual(hdr[name], value)
        if body is NO_BODY:
            self.assertIsNone(data)
            if method not in ("GET", "HEAD"):
                self.assertEqual(hdr["Content-Length"], "0")
        else:
            self.assertEqual(data, json.dumps(body).encode("utf-8"))
            self.assertEqual(hdr["Content-Length"], str(len(data)))
