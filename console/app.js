// SPDX-License-Identifier: Apache-2.0
// The console's entry: sign-in, the layout (left navigation, one page), and the hash router
// (every page has a URL: #/connections/pg_main/history). Pages live in js/*.js.
import { api, setCsrf, whenSignedOut, ApiError } from "./js/api.js";
import { h, mount, field, errorState } from "./js/ui.js";
import * as conns from "./js/connections.js";
import * as access from "./js/access.js";
import * as more from "./js/more.js";

const app = document.getElementById("app");
let me = null; // the session's principal: {authIdentifier, principalType, admin, groups}

const adminNav = [
  ["#/connections", "Connections"],
  ["#/projects", "Projects"],
  ["#/users", "Users"],
  ["#/groups", "Groups"],
  ["#/keys", "API keys"],
  ["#/audit", "Audit"],
];
const userNav = [
  ["#/connections", "Connections"],
  ["#/projects", "Projects"],
  ["#/me/credentials", "My credentials"],
  ["#/me/keys", "My API keys"],
];

// route patterns → page functions (ctx, ...params)
const routes = [
  [/^\/connections\/?$/, (c) => (me.admin ? conns.list(c) : more.myConnections(c))],
  [/^\/connections\/new$/, (c) => conns.create(c)],
  [/^\/connections\/import$/, (c) => conns.importPage(c)],
  [/^\/connections\/export$/, (c) => conns.exportPage(c)],
  [/^\/connections\/([^/]+)(?:\/(settings|json|usages|history|test))?$/, (c, n, tab) => conns.detail(c, n, tab || "settings")],
  [/^\/projects\/?$/, (c) => more.projects(c)],
  [/^\/projects\/([^/]+)$/, (c, k) => more.project(c, k)],
  [/^\/users\/?$/, (c) => access.users(c)],
  [/^\/users\/new$/, (c) => access.userForm(c, null)],
  [/^\/users\/([^/]+)$/, (c, l) => access.userForm(c, l)],
  [/^\/groups\/?$/, (c) => access.groups(c)],
  [/^\/keys\/?$/, (c) => access.keys(c)],
  [/^\/audit\/?$/, (c) => more.audit(c)],
  [/^\/me\/credentials$/, (c) => more.myCredentials(c)],
  [/^\/me\/keys$/, (c) => access.myKeys(c)],
];

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/connections";
  const [path, query] = raw.split("?");
  return { path, params: new URLSearchParams(query || "") };
}

export function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

function nav(path) {
  const items = me.admin ? adminNav : userNav;
  return h("nav", { class: "nav", "aria-label": "Main" },
    h("div", { class: "brand" }, h("span", { class: "logo", "aria-hidden": "true" }), "Switchboard"),
    h("ul", {}, items.map(([href, text]) => {
      const active = ("#" + path).startsWith(href);
      return h("li", {}, h("a", { href, class: active ? "active" : null, "aria-current": active ? "page" : null }, text));
    })),
    h("div", { class: "who" },
      h("span", { class: "principal", title: me.principalType === "USER" ? "Signed in as a user" : "Signed in with an API key" },
        me.authIdentifier, me.admin ? h("span", { class: "badge" }, "admin") : null),
      h("button", { type: "button", class: "secondary", id: "signout", onclick: signOut }, "Sign out")));
}

async function render() {
  if (!me) return signInPage();
  const { path, params } = parseHash();
  const main = h("main", { id: "main", tabindex: "-1" });
  mount(app, h("div", { class: "layout" }, nav(path), main));
  // Whether this page is still the one shown and asked for. A page's work that ends after the
  // user went elsewhere (a slow answer) must not act: a list that wrote its filters into the
  // address once its answer came took the address back from the page asked for meanwhile, and
  // the hashchange then drew the list again instead of that page.
  const bare = (p) => p.replace(/\/+$/, "");
  const here = () => main.isConnected && bare(parseHash().path) === bare(path);
  for (const [re, page] of routes) {
    const m = path.match(re);
    if (m) {
      const args = m.slice(1).map((x) => (x === undefined ? x : decodeURIComponent(x)));
      try {
        await page({ main, params, me, go, here }, ...args);
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 401)) mount(main, errorState(e, render));
      }
      return;
    }
  }
  mount(main, errorState({ status: 404, message: "There is no page at this address." }));
}

function signInPage(message) {
  const login = h("input", { name: "login", autocomplete: "username", required: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const key = h("input", { name: "apiKey", type: "password", autocomplete: "off" });
  const msg = h("p", { class: "form-error", role: "alert", id: "signin-error" }, message || "");
  const submit = async (e, body, form) => {
    e.preventDefault();
    const btn = form.querySelector("button[type=submit]");
    btn.disabled = true;
    msg.textContent = "";
    try {
      const r = await api("POST", "/auth/session", body, { quiet401: true });
      signedIn(r.data);
      password.value = "";
      key.value = "";
    } catch (err) {
      msg.textContent = err.message;
    } finally {
      btn.disabled = false;
    }
  };
  const pwForm = h("form", { class: "card", id: "signin-password", onsubmit: (e) => submit(e, { login: login.value, password: password.value }, pwForm) },
    h("h2", {}, "Sign in"),
    field("Login", login), field("Password", password),
    h("button", { type: "submit" }, "Sign in"));
  const keyForm = h("form", { class: "card", id: "signin-key", onsubmit: (e) => submit(e, { apiKey: key.value }, keyForm) },
    h("h2", {}, "Or with an API key"),
    field("API key", key, "The key is sent once to open a session; it is not kept in the browser."),
    h("button", { type: "submit", class: "secondary" }, "Sign in with the key"));
  mount(app, h("div", { class: "signin" },
    h("div", { class: "brand big" }, h("span", { class: "logo", "aria-hidden": "true" }), "Switchboard"),
    msg, pwForm, keyForm));
  login.focus();
}

function signedIn(session) {
  setCsrf(session.csrfToken);
  me = session;
  // a new address draws its page through the hashchange; drawn here too, it was drawn twice
  if (!location.hash || location.hash === "#/signin") location.hash = "#/connections";
  else render();
}

async function signOut() {
  try {
    await api("DELETE", "/auth/session", undefined, { quiet401: true });
  } catch (e) {
    /* the session may already be gone */
  }
  setCsrf(null);
  me = null;
  signInPage("You are signed out.");
}

whenSignedOut((why) => {
  if (!me) return; // a request from before a sign-out, answered after it: already signed out
  me = null;
  signInPage(why || "Your session has ended. Sign in again.");
});

window.addEventListener("hashchange", () => render());
document.addEventListener("keydown", (e) => {
  if (e.key === "/" && !["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName)) {
    const search = document.querySelector("[data-search]");
    if (search) {
      e.preventDefault();
      search.focus();
    }
  }
});

(async () => {
  try {
    const r = await api("GET", "/auth/session", undefined, { quiet401: true });
    if (r.data.signedIn) signedIn(r.data);
    else signInPage();
  } catch (e) {
    mount(app, errorState(e, () => location.reload()));
  }
})();


