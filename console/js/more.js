// SPDX-License-Identifier: Apache-2.0
// Projects (datasets per connection, change-connection with a dry run), the audit trail, and
// what a non-admin sees: the connections they may use (with tests) and their own credentials
// for PER_USER connections.
import { api, get, q, enc } from "./api.js";
import { h, mount, field, loading, empty, toast, fmtTime, statusDot, button, busy } from "./ui.js";

async function load(main, ...paths) {
  const done = loading(main);
  try {
    return await Promise.all(paths.map((p) => get(p)));
  } finally {
    done();
  }
}

// ---- projects ----

export async function projects(ctx) {
  const { main } = ctx;
  const [list] = await load(main, "/projects/");
  mount(main, h("header", { class: "page-head" }, h("h1", {}, "Projects")),
    list.length ? h("table", { class: "grid", id: "projects-table" },
      h("thead", {}, h("tr", {}, h("th", {}, "Key"), h("th", {}, "Name"), h("th", {}, "Owner"))),
      h("tbody", {}, list.map((p) => h("tr", { class: "rowlink", onclick: (e) => { if (e.target.tagName !== "A") location.hash = `#/projects/${enc(p.projectKey)}`; } },
        h("td", { class: "mono" }, h("a", { href: `#/projects/${enc(p.projectKey)}` }, p.projectKey)), h("td", {}, p.name || ""), h("td", {}, p.owner || "")))))
      : empty("No projects you may read."));
}

export async function project(ctx, key) {
  const { main } = ctx;
  const [datasets, names] = await load(main, `/projects/${enc(key)}/datasets/`, "/connections/get-names");
  const byConn = new Map();
  for (const d of datasets) {
    const c = (d.params && d.params.connection) || "(none)";
    if (!byConn.has(c)) byConn.set(c, []);
    byConn.get(c).push(d);
  }
  const used = [...byConn.keys()].filter((c) => c !== "(none)");
  const from = h("select", { id: "cc-from" }, used.map((c) => h("option", { value: c }, c)));
  const to = h("select", { id: "cc-to" }, names.map((n) => h("option", { value: n }, n)));
  const result = h("div", { id: "cc-result", "aria-live": "polite" });
  const dry = h("button", { type: "button", id: "cc-dry-run", disabled: !used.length }, "Preview (dry run)");
  const apply = h("button", { type: "button", class: "danger", id: "cc-apply", disabled: true }, "Apply");
  const run = async (dryRun) => {
    const r = await api("POST", `/projects/${enc(key)}/actions/change-connection`, { from: from.value, to: to.value, dryRun });
    const res = r.data;
    mount(result, h("h3", {}, dryRun ? "Preview: nothing is changed yet" : "Applied"),
      h("p", {}, `Changed (${res.changed.length}): `, h("span", { class: "mono" }, res.changed.join(", ") || "none")),
      res.skipped.length ? h("ul", {}, res.skipped.map((s) => h("li", {}, h("span", { class: "mono" }, s.name), `: ${s.reason}`))) : null);
    apply.disabled = !dryRun || !res.changed.length;
    if (!dryRun) {
      toast("Connection changed.");
      ctx.go(`#/projects/${enc(key)}`);
    }
  };
  [from, to].forEach((s) => s.addEventListener("change", () => { apply.disabled = true; }));
  dry.addEventListener("click", () => busy(dry, () => run(true)));
  apply.addEventListener("click", () => busy(apply, () => run(false)));
  mount(main, h("header", { class: "page-head" }, h("h1", {}, `Project ${key}`)),
    datasets.length ? [...byConn.entries()].map(([c, ds]) => h("section", { class: "card" },
      h("h2", {}, c === "(none)" ? "Datasets without a connection" : h("a", { href: `#/connections/${enc(c)}`, class: "mono" }, c), h("small", {}, ` · ${ds.length} dataset${ds.length === 1 ? "" : "s"}`)),
      h("ul", { class: "plain" }, ds.map((d) => h("li", { class: "mono" }, `${d.name} (${d.type})`)))))
      : empty("This project has no datasets."),
    h("section", { class: "card", id: "change-connection" }, h("h2", {}, "Change connection"),
      h("p", {}, "Moves every dataset of this project from one connection to another, all or nothing."),
      field("From", from), field("To", to), h("div", { class: "form-actions" }, dry, apply), result));
}

// ---- audit ----

export async function audit(ctx) {
  const { main, params } = ctx;
  const principal = h("input", { id: "audit-principal", value: params.get("principal") || "", "data-search": true });
  const action = h("input", { id: "audit-action", value: params.get("action") || "" });
  const object = h("input", { id: "audit-object", value: params.get("object") || "" });
  const tbody = h("tbody");
  const more = h("button", { type: "button", class: "secondary", id: "audit-more" }, "Older records");
  const status = h("p", { class: "counts", "aria-live": "polite" });
  let before = null, shown = 0, exhausted = false;
  // the server filters (docs/API.md: principal, action, object; a trailing '*' = "starts with")
  const PAGE = 50;
  const filter = () => Object.fromEntries([["principal", principal], ["action", action], ["object", object]]
    .map(([k, i]) => [k, i.value.trim().replaceAll("*", "")]).filter(([, v]) => v).map(([k, v]) => [k, v + "*"]));
  const next = async () => {
    const batch = await get("/admin/audit" + q({ ...filter(), limit: PAGE, before: before === null ? "" : before }));
    if (batch.length < PAGE) exhausted = true;
    if (batch.length) before = batch[batch.length - 1].ts;
    for (const r of batch) {
      tbody.append(h("tr", { class: r.outcome === "success" ? null : "attention" }, h("td", {}, fmtTime(r.ts)), h("td", { class: "mono" }, r.principal),
        h("td", { class: "mono" }, r.action), h("td", { class: "mono" }, r.object || ""), h("td", {}, r.outcome), h("td", { class: "mono" }, r.remoteAddr || "")));
    }
    shown += batch.length;
    status.textContent = `${shown.toLocaleString()} record${shown === 1 ? "" : "s"} shown${exhausted ? " (all)" : ""}`;
    more.disabled = exhausted;
  };
  const restart = () => {
    if (!ctx.here()) return undefined; // left meanwhile: the address is the new page's now
    before = null; shown = 0; exhausted = false;
    tbody.replaceChildren();
    history.replaceState(null, "", "#/audit" + q({ principal: principal.value, action: action.value, object: object.value }));
    return busy(more, next);
  };
  let timer;
  [principal, action, object].forEach((i) => i.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(restart, 300); }));
  more.addEventListener("click", () => busy(more, next));
  mount(main, h("header", { class: "page-head" }, h("h1", {}, "Audit")),
    h("div", { class: "filters" }, field("Principal", principal), field("Action", action), field("Object", object)),
    status,
    h("table", { class: "grid", id: "audit-table" },
      h("thead", {}, h("tr", {}, h("th", {}, "When"), h("th", {}, "Principal"), h("th", {}, "Action"), h("th", {}, "Object"), h("th", {}, "Outcome"), h("th", {}, "Address"))),
      tbody),
    h("div", { class: "pager" }, more));
  await restart();
}

// ---- a non-admin's views ----

export async function myConnections(ctx) {
  const { main } = ctx;
  const [names] = await load(main, "/connections/get-names");
  const rows = names.map((n) => {
    const out = h("td", { class: "test-cell" }, "—");
    const test = button("Test", (e) => busy(e.target, async () => {
      mount(out, h("span", { class: "spinner", "aria-hidden": "true" }), " Testing…");
      try {
        const r = await get(`/connections/${enc(n)}/test`);
        mount(out, statusDot(r), " ", r.message || "", h("small", {}, ` (${r.durationMs} ms)`));
      } catch (err) {
        mount(out, err.message);
      }
    }), "secondary small");
    test.setAttribute("aria-label", `Test ${n}`);
    return h("tr", {}, h("td", { class: "mono" }, n), h("td", {}, test), out);
  });
  mount(main, h("header", { class: "page-head" }, h("h1", {}, "Connections you may use")),
    h("p", { class: "counts" }, `${names.length} connection${names.length === 1 ? "" : "s"}`),
    names.length ? h("table", { class: "grid", id: "my-connections" },
      h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, ""), h("th", {}, "Last test"))), h("tbody", {}, rows))
      : empty("No connection is usable by your groups yet. Ask an administrator."),
    h("p", { class: "hint" }, "For connections where each user brings their own credential, set yours under My credentials."));
}

export async function myCredentials(ctx) {
  const { main } = ctx;
  const [me, names] = await load(main, "/current-user", "/connections/get-names");
  const creds = me.credentials || {};
  const conn = h("select", { id: "cred-connection" }, names.map((n) => h("option", { value: n }, n)));
  const user = h("input", { id: "cred-user", autocomplete: "off" });
  const pw = h("input", { id: "cred-password", type: "password", autocomplete: "new-password" });
  const save = h("button", { type: "submit", id: "cred-save", disabled: !names.length }, "Save credential");
  const put = async (next) => {
    const body = { ...me, credentials: next };
    await api("PUT", "/current-user", body);
    ctx.go("#/me/credentials");
  };
  const list = Object.entries(creds);
  mount(main, h("header", { class: "page-head" }, h("h1", {}, "My credentials")),
    h("p", {}, "Your own user and password for connections whose credentials are per user. Passwords are stored encrypted and never shown again."),
    list.length ? h("table", { class: "grid", id: "my-credentials" },
      h("thead", {}, h("tr", {}, h("th", {}, "Connection"), h("th", {}, "User"), h("th", {}, "Password"), h("th", {}, ""))),
      h("tbody", {}, list.map(([c, v]) => h("tr", {}, h("td", { class: "mono" }, c), h("td", {}, v.user || ""), h("td", {}, v.password ? "•••••••• set" : "not set"),
        h("td", {}, button("Remove", (e) => busy(e.target, async () => {
          const next = { ...creds };
          delete next[c];
          await put(next);
          toast(`Removed your credential for ${c}.`);
        }), "secondary small"))))))
      : empty("You have no stored credentials."),
    h("form", {
      class: "card", id: "credential-form",
      onsubmit: (e) => {
        e.preventDefault();
        busy(save, async () => {
          await put({ ...creds, [conn.value]: { type: "BASIC", user: user.value, password: pw.value } });
          pw.value = "";
          toast(`Saved your credential for ${conn.value}.`);
        });
      },
    }, h("h2", {}, "Set a credential"), field("Connection", conn), field("User", user), field("Password", pw), save));
}
