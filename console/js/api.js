// SPDX-License-Identifier: Apache-2.0
// The console's one way to the server: the public API under /dip/publicapi, authenticated by
// the session cookie (HttpOnly, sent by the browser) and the session's CSRF token, which lives
// only in this module's memory: never in the URL, never in the browser's storage.

const PREFIX = "/dip/publicapi";
let csrf = null;
let onSignedOut = () => {};

export class ApiError extends Error {
  constructor(status, body, headers) {
    const detail = body && (body.detailedMessage || body.message);
    super(detail || `The server answered HTTP ${status}.`);
    this.status = status;
    this.body = body;
    this.headers = headers;
    this.errorType = body && body.errorType;
  }
}

export function setCsrf(token) {
  csrf = token;
}

export function whenSignedOut(fn) {
  onSignedOut = fn;
}

// One request. OPTS: ifMatch (a version number), quiet401 (do not go to the sign-in page).
export async function api(method, path, body, opts = {}) {
  const headers = { Accept: "application/json" };
  if (csrf) headers["X-Switchboard-CSRF"] = csrf;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (opts.ifMatch !== undefined) headers["If-Match"] = `"${opts.ifMatch}"`;
  let resp;
  try {
    resp = await fetch(PREFIX + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch (e) {
    throw new ApiError(0, { detailedMessage: "The server cannot be reached. Retry in a moment." });
  }
  const text = await resp.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (e) {
      data = null;
    }
  }
  if (!resp.ok) {
    if (resp.status === 401 && !opts.quiet401) {
      csrf = null;
      onSignedOut(data && data.detailedMessage);
    }
    throw new ApiError(resp.status, data, resp.headers);
  }
  return { data, headers: resp.headers, status: resp.status };
}

export const get = (path, opts) => api("GET", path, undefined, opts).then((r) => r.data);

export function q(params) {
  const parts = [];
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  }
  return parts.length ? "?" + parts.join("&") : "";
}

export const enc = encodeURIComponent;
