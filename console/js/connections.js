// SPDX-License-Identifier: Apache-2.0
// Connection pages: the list (paged by the server), one connection (Settings · Raw JSON ·
// Usages · History), a new connection, import with a dry run, export without secrets.
import { api, get, q, enc, ApiError } from "./api.js";
import {
  h, mount, field, loading, errorState, empty, toast, dialog, fmtTime, statusDot, copyButton,
  button, busy, uid,
} from "./ui.js";

let typesCache = null;
export async function types() {
  if (!typesCache) typesCache = await get("/connection-types");
  return typesCache;
}
const typeOf = (all, name) => all.find((t) => t.type === name) || { type: name, params: [], testable: false };

const isSealed = (v) => typeof v === "string" && v.startsWith("e:");

// ---- the list ----

const PAGE = 50;

export async function list(ctx) {
  const { main, params } = ctx;
  const state = {
    q: params.get("q") || "", type: params.get("type") || "", status: params.get("status") || "",
    sort: params.get("sort") || "name", offset: Number(params.get("offset") || 0),
  };
  const done = loading(main);
  let all;
  try {
    all = await types();
  } finally {
    done();
  }
  const search = h("input", { type: "search", "data-search": true, value: state.q, placeholder: "Search by name  ( / )", autocomplete: "off" });
  const typeSel = h("select", {}, h("option", { value: "" }, "All types"), all.map((t) => h("option", { value: t.type }, t.type)));
  typeSel.value = state.type;
  const statusSel = h("select", {}, h("option", { value: "" }, "Any status"), h("option", { value: "ok" }, "OK"),
    h("option", { value: "failing" }, "Failing"), h("option", { value: "unknown" }, "Not tested"));
  statusSel.value = state.status;
  const counts = h("p", { class: "counts", "aria-live": "polite" });
  const tableHost = h("div", { class: "table-host" });
  const pager = h("div", { class: "pager" });

  const refresh = async () => {
    if (!ctx.here()) return; // left meanwhile: the address is the new page's now
    const query = q({ q: state.q, type: state.type, status: state.status, sort: state.sort === "name" ? "" : state.sort, offset: state.offset || "" });
    history.replaceState(null, "", "#/connections" + query);
    const stop = loading(tableHost);
    let page;
    try {
      page = await get("/admin/connections-page" + q({ q: state.q, type: state.type, status: state.status, sort: state.sort, offset: state.offset, limit: PAGE }));
    } catch (e) {
      stop();
      if (e.status !== 401) mount(tableHost, errorState(e, refresh));
      return;
    }
    stop();
    counts.textContent = `${page.total.toLocaleString()} connection${page.total === 1 ? "" : "s"} · ${page.failing.toLocaleString()} failing`;
    if (!page.total) {
      mount(tableHost, state.q || state.type || state.status
        ? empty("No connection matches these filters.", button("Clear filters", () => { state.q = state.type = state.status = ""; search.value = ""; typeSel.value = ""; statusSel.value = ""; state.offset = 0; refresh(); }))
        : empty("No connections yet.", h("a", { href: "#/connections/new", class: "button" }, "New connection")));
      mount(pager);
      return;
    }
    const sortHeader = (key, label) => {
      const cur = state.sort === key ? "ascending" : state.sort === "-" + key ? "descending" : "none";
      return h("th", { "aria-sort": cur, scope: "col" }, h("button", {
        type: "button", class: "sort",
        onclick: () => { state.sort = state.sort === key ? "-" + key : key; state.offset = 0; refresh(); },
      }, label, cur === "ascending" ? " ▲" : cur === "descending" ? " ▼" : ""));
    };
    mount(tableHost, h("table", { class: "grid", id: "connections-table" },
      h("thead", {}, h("tr", {}, sortHeader("name", "Name"), sortHeader("type", "Type"), h("th", { scope: "col" }, "Usable by"),
        h("th", { scope: "col" }, "Status"), h("th", { scope: "col", class: "num" }, "Version"), h("th", { scope: "col" }, "Last modified"))),
      h("tbody", {}, page.items.map((c) => {
        const href = `#/connections/${enc(c.name)}`;
        return h("tr", { class: "rowlink", onclick: (e) => { if (e.target.tagName !== "A") location.hash = href; } },
          h("td", { class: "mono" }, h("a", { href }, c.name)),
          h("td", {}, c.type),
          h("td", {}, c.usableBy === "ALL" ? "Everyone" : (c.allowedGroups.join(", ") || "Nobody")),
          h("td", {}, statusDot(c.status)),
          h("td", { class: "num" }, c.versionNumber),
          h("td", {}, c.lastModifiedBy || "—", h("small", {}, ` · ${fmtTime(c.lastModifiedOn)}`)));
      }))));
    const first = state.offset + 1, last = state.offset + page.items.length;
    mount(pager,
      button("← Previous", () => { state.offset = Math.max(0, state.offset - PAGE); refresh(); }, "secondary"),
      h("span", {}, `${first.toLocaleString()}–${last.toLocaleString()} of ${page.total.toLocaleString()}`),
      button("Next →", () => { state.offset += PAGE; refresh(); }, "secondary"));
    pager.firstChild.disabled = state.offset === 0;
    pager.lastChild.disabled = last >= page.total;
  };

  let timer;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => { state.q = search.value.trim(); state.offset = 0; refresh(); }, 250);
  });
  typeSel.addEventListener("change", () => { state.type = typeSel.value; state.offset = 0; refresh(); });
  statusSel.addEventListener("change", () => { state.status = statusSel.value; state.offset = 0; refresh(); });

  mount(main,
    h("header", { class: "page-head" }, h("h1", {}, "Connections"),
      h("div", { class: "actions" },
        h("a", { href: "#/connections/new", class: "button", id: "new-connection" }, "New connection"),
        h("a", { href: "#/connections/import", class: "button secondary" }, "Import"),
        h("a", { href: "#/connections/export", class: "button secondary" }, "Export"))),
    h("div", { class: "filters" }, field("Search", search), field("Type", typeSel), field("Status", statusSel)),
    counts, tableHost, pager);
  await refresh();
}

// ---- the form of one connection, built from the type registry ----

function secretInput(name, current, label) {
  // a secret shows whether it is set; the value is sent only when replaced
  const input = h("input", { type: "password", autocomplete: "new-password", name, hidden: true });
  const state = h("span", { class: "secret-state" }, current ? "•••••••• set" : "not set");
  const wrap = h("div", { class: "secret" }, state, input);
  const replace = h("button", {
    type: "button", class: "secondary small", "aria-label": `Replace ${label}`,
    onclick: () => { input.hidden = false; state.hidden = true; replace.hidden = true; input.focus(); },
  }, current ? "Replace" : "Set");
  wrap.append(replace);
  wrap.replaced = () => !input.hidden;
  wrap.input = input;
  return wrap;
}

function propertiesEditor(props) {
  const rows = h("tbody");
  const addRow = (p = { name: "", value: "" }) => {
    const name = h("input", { value: p.name, "aria-label": "Property name" });
    const sealed = !!p.secret;
    const secret = h("input", { type: "checkbox", checked: sealed, "aria-label": "Secret" });
    const value = sealed ? secretInput("propvalue", isSealed(p.value) || !!p.value, `property ${p.name}`)
      : h("input", { value: p.value ?? "", "aria-label": "Property value" });
    const tr = h("tr", {}, h("td", {}, name), h("td", {}, value), h("td", {}, secret),
      h("td", {}, button("Remove", () => tr.remove(), "secondary small")));
    tr.read = () => {
      const out = { name: name.value.trim() };
      if (secret.checked) out.secret = true;
      if (value.replaced) out.value = value.replaced() ? value.input.value : p.value;
      else out.value = value.value;
      return out;
    };
    rows.append(tr);
  };
  (props || []).forEach(addRow);
  const el = h("fieldset", { class: "properties" }, h("legend", {}, "Properties"),
    h("table", { class: "grid small" }, h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Value"), h("th", {}, "Secret"), h("th", {}, ""))), rows),
    button("Add property", () => addRow(), "secondary small"));
  el.read = () => [...rows.children].map((tr) => tr.read()).filter((p) => p.name);
  return el;
}

function groupPicker(legend, groups, selected) {
  const boxes = groups.map((g) => {
    const id = uid("g");
    const cb = h("input", { type: "checkbox", id, value: g.name, checked: selected.includes(g.name) });
    return h("label", { for: id, class: "check" }, cb, g.name);
  });
  const el = h("fieldset", { class: "groups" }, h("legend", {}, legend),
    groups.length ? boxes : h("p", { class: "hint" }, "No groups yet."));
  el.read = () => boxes.map((l) => l.firstChild).filter((cb) => cb.checked).map((cb) => cb.value);
  return el;
}

function radio(name, value, label, checked) {
  const id = uid("r");
  return h("label", { for: id, class: "check" }, h("input", { type: "radio", id, name, value, checked }), label);
}

const FLAGS = [
  ["allowWrite", "Allow write", true],
  ["allowManagedDatasets", "Allow managed datasets", true],
  ["allowManagedFolders", "Allow managed folders", false],
  ["allowMirror", "Allow mirror", false],
  ["useGlobalProxy", "Use the global proxy", false],
];

// The form for DEF (a stored definition, or a new one with only name and type). Returns the
// form element; form.read() gives the definition to send (unknown fields kept).
function connectionForm(def, type, groups) {
  const params = def.params || {};
  const known = new Set(type.params.map((p) => p.name));
  const inputs = {};
  const paramFields = type.params.filter((p) => p.name !== "properties").map((p) => {
    const label = p.name + (p.required ? " *" : "");
    if (p.secret) {
      const s = secretInput(p.name, params[p.name], p.name);
      inputs[p.name] = s;
      return h("div", { class: "field" }, h("span", { class: "label" }, label), s);
    }
    const v = params[p.name];
    const input = h("input", {
      name: p.name, value: v === undefined || v === null ? "" : typeof v === "string" ? v : JSON.stringify(v),
      placeholder: p.default !== undefined && p.default !== null ? String(p.default) : "",
      "aria-required": p.required ? "true" : null,
    });
    inputs[p.name] = input;
    return field(label, input, p.default !== undefined && p.default !== null ? `Default: ${p.default}` : null);
  });
  // parameters the registry does not list are kept and editable as text
  const extra = Object.keys(params).filter((k) => !known.has(k) && k !== "properties");
  const extraFields = extra.map((k) => {
    const v = params[k];
    if (isSealed(v)) {
      const s = secretInput(k, true, k);
      inputs[k] = s;
      return h("div", { class: "field" }, h("span", { class: "label" }, k), s);
    }
    const input = h("input", { name: k, value: typeof v === "string" ? v : JSON.stringify(v) });
    inputs[k] = input;
    return field(k, input);
  });
  const props = propertiesEditor(params.properties);
  const description = h("textarea", { name: "description", rows: 2 }, def.description || "");
  const usable = def.usableBy || "ALL";
  const usableName = uid("usable");
  const allowed = groupPicker("Groups that may use it", groups, def.allowedGroups || []);
  const dr = def.detailsReadability || { readableBy: "NONE", allowedGroups: [] };
  const readable = h("select", { name: "readableBy" },
    h("option", { value: "NONE" }, "Nobody but admins"), h("option", { value: "ALL" }, "Everyone who may use it"),
    h("option", { value: "ALLOWED" }, "These groups"));
  readable.value = dr.readableBy || "NONE";
  const readGroups = groupPicker("Groups that may read the details", groups, dr.allowedGroups || []);
  const cred = h("select", { name: "credentialsMode" }, h("option", { value: "GLOBAL" }, "One credential for everyone (GLOBAL)"),
    h("option", { value: "PER_USER" }, "Each user brings their own (PER_USER)"));
  cred.value = def.credentialsMode || "GLOBAL";
  const flags = FLAGS.map(([k, label, dflt]) => {
    const id = uid("flag");
    const cb = h("input", { type: "checkbox", id, name: k, checked: def[k] === undefined ? dflt : !!def[k] });
    inputs["flag:" + k] = cb;
    return h("label", { for: id, class: "check" }, cb, label);
  });
  const maxAct = h("input", { type: "number", min: 0, name: "maxActivities", value: def.maxActivities ?? 0 });

  const form = h("form", { class: "conn-form", id: "connection-form", novalidate: true },
    h("fieldset", {}, h("legend", {}, `Parameters (${type.type})`), paramFields, extraFields,
      h("p", { class: "hint" }, "* required")),
    props,
    field("Description", description),
    h("fieldset", {}, h("legend", {}, "Usable by"),
      radio(usableName, "ALL", "Everyone", usable === "ALL"), radio(usableName, "ALLOWED", "Only these groups", usable === "ALLOWED"), allowed),
    h("fieldset", {}, h("legend", {}, "Details readability"), field("Who may read resolved details", readable), readGroups),
    field("Credentials", cred),
    h("fieldset", { class: "flags" }, h("legend", {}, "Flags"), flags, field("Max activities", maxAct)));

  form.read = () => {
    const out = JSON.parse(JSON.stringify(def));
    const p = { ...(def.params || {}) };
    for (const [k, el] of Object.entries(inputs)) {
      if (k.startsWith("flag:")) continue;
      if (el.replaced) {
        if (el.replaced()) p[k] = el.input.value;
        continue;
      }
      const v = el.value.trim();
      if (v === "") delete p[k];
      else p[k] = v;
    }
    const pr = props.read();
    if (pr.length || p.properties) p.properties = pr;
    out.params = p;
    out.description = description.value;
    out.usableBy = form.querySelector(`input[name="${usableName}"]:checked`).value;
    out.allowedGroups = allowed.read();
    out.detailsReadability = { readableBy: readable.value, allowedGroups: readGroups.read() };
    out.credentialsMode = cred.value;
    for (const [k] of FLAGS) out[k] = inputs["flag:" + k].checked;
    out.maxActivities = Number(maxAct.value || 0);
    return out;
  };
  return form;
}

async function groupsOrNone() {
  try {
    return await get("/admin/groups/");
  } catch (e) {
    return [];
  }
}

// ---- one connection ----

const TABS = [["settings", "Settings"], ["json", "Raw JSON"], ["usages", "Usages"], ["history", "History"]];

export async function detail(ctx, name, tab) {
  const { main } = ctx;
  const done = loading(main);
  let def, all, groups;
  try {
    [def, all, groups] = await Promise.all([get(`/admin/connections/${enc(name)}`), types(), groupsOrNone()]);
  } finally {
    done();
  }
  const type = typeOf(all, def.type);
  const body = h("div", { class: "tab-body" });
  const testResult = h("div", { class: "test-result", "aria-live": "polite", id: "test-result" });
  mount(main,
    h("header", { class: "page-head" },
      h("h1", {}, h("span", { class: "mono" }, def.name)),
      h("p", { class: "sub" }, `${def.type} · version ${def.creationTag ? def.creationTag.versionNumber : "?"}`,
        def.creationTag ? ` · last modified by ${def.creationTag.lastModifiedBy?.login || "?"} on ${fmtTime(def.creationTag.lastModifiedOn)}` : "")),
    h("nav", { class: "tabs", "aria-label": "Connection" }, TABS.map(([t, label]) =>
      h("a", { href: `#/connections/${enc(name)}/${t}`, class: t === tab ? "active" : null, "aria-current": t === tab ? "page" : null }, label))),
    body);

  if (tab === "settings" || tab === "test") {
    const form = connectionForm(def, type, groups);
    const save = h("button", { type: "submit", id: "save" }, "Save");
    const test = h("button", { type: "button", class: "secondary", id: "test", disabled: !type.testable, title: type.testable ? null : "This type has no live test" }, "Test");
    const del = h("button", { type: "button", class: "danger", id: "delete" }, "Delete");
    const details = h("button", { type: "button", class: "secondary", id: "details" }, "Details…");
    details.addEventListener("click", () => detailsDialog(name));
    form.append(h("div", { class: "form-actions" }, save, test, details, del), testResult);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      busy(save, () => saveConnection(ctx, name, form.read(), def.creationTag?.versionNumber));
    });
    test.addEventListener("click", () => busy(test, () => runTest(name, testResult)));
    del.addEventListener("click", () => deleteDialog(ctx, name));
    mount(body, form);
  } else if (tab === "json") {
    const text = JSON.stringify(def, null, 2);
    mount(body, h("div", { class: "actions" }, copyButton(() => text, "Copy JSON")),
      h("pre", { class: "json", tabindex: "0", "aria-label": "Definition as JSON" }, text),
      h("p", { class: "hint" }, "Secrets appear in their encrypted form (e:…), never in clear."));
  } else if (tab === "usages") {
    const u = await get(`/admin/connections/${enc(name)}/usages`);
    mount(body, u.length ? usagesTable(u) : empty("No dataset uses this connection."));
  } else if (tab === "history") {
    await historyTab(ctx, name, body);
  }
}

async function saveConnection(ctx, name, body, version, overwrite) {
  try {
    const r = await api("PUT", `/admin/connections/${enc(name)}`, body, { ifMatch: version });
    toast(`Saved: version ${r.data.creationTag?.versionNumber}.`);
    ctx.go(`#/connections/${enc(name)}/settings`);
  } catch (e) {
    if (e.status === 412 || (e.status === 409 && !overwrite)) return conflictDialog(ctx, name, body);
    throw e;
  }
}

async function conflictDialog(ctx, name, mine) {
  let now;
  try {
    now = await get(`/admin/connections/${enc(name)}`);
  } catch (e) {
    toast(e.message, "error");
    return;
  }
  const tag = now.creationTag || {};
  dialog("Someone else saved this connection", (close) => h("div", { id: "conflict-dialog" },
    h("p", {}, `${tag.lastModifiedBy?.login || "Someone"} saved version ${tag.versionNumber} on ${fmtTime(tag.lastModifiedOn)}, after you opened it.`),
    h("p", {}, "Reload to see their version (your changes are dropped), or overwrite it with yours."),
    h("div", { class: "form-actions" },
      button("Reload", () => { close(); ctx.go(`#/connections/${enc(name)}/settings`); }),
      button("Overwrite", async (e) => {
        const body = { ...mine, creationTag: { ...(mine.creationTag || {}), versionNumber: tag.versionNumber } };
        await busy(e.target, async () => { close(); await saveConnection(ctx, name, body, tag.versionNumber, true); });
      }, "danger"),
      button("Cancel", () => close(), "secondary"))));
}

async function runTest(name, out) {
  mount(out, h("span", { class: "spinner", "aria-hidden": "true" }), " Testing…");
  const started = performance.now();
  try {
    const r = await get(`/connections/${enc(name)}/test`);
    mount(out, h("div", { class: `result ${r.connectionOK ? "ok" : "failing"}`, role: "status" },
      statusDot(r), " ", r.message || "", h("small", {}, ` (${r.durationMs ?? Math.round(performance.now() - started)} ms)`)));
  } catch (e) {
    mount(out, h("div", { class: "result failing", role: "alert" }, e.message));
  }
}

// The resolved details (/info: variables expanded, secrets in clear) on explicit request only;
// the server audits the read. Secret values stay masked until their own Reveal.
function detailsDialog(name) {
  dialog(`Resolved details of ${name}`, (close) => {
    const body = h("div", { id: "details-dialog" }, h("p", {}, "Reading the resolved details, credentials included, is recorded in the audit trail."));
    const go = button("Read the details", (e) => busy(e.target, async () => {
      const info = await get(`/connections/${enc(name)}/info`);
      const rows = [];
      const add = (label, value, secret) => {
        const shown = h("span", { class: "mono" }, secret ? "••••••••" : typeof value === "string" ? value : JSON.stringify(value));
        const reveal = secret ? button("Reveal", (ev) => { shown.textContent = String(value); ev.target.remove(); }, "secondary small") : null;
        if (reveal) reveal.setAttribute("aria-label", `Reveal ${label}`);
        rows.push(h("tr", {}, h("th", { scope: "row", class: "mono" }, label), h("td", {}, shown, " ", reveal)));
      };
      const stored = info.params || {};
      for (const [k, v] of Object.entries(info.resolvedParams || {})) {
        if (k === "properties") continue;
        add(k, v, !(k in stored)); // params without secret values: what is missing there is secret
      }
      const cred = info.resolvedBasicCredential || info.resolvedAWSCredential;
      if (cred) for (const [k, v] of Object.entries(cred)) add(`credential.${k}`, v, /password|secret/i.test(k));
      mount(body, h("table", { class: "grid small" }, h("tbody", {}, rows)));
      e.target.remove();
    }));
    return h("div", {}, body, h("div", { class: "form-actions" }, go, button("Close", () => close(), "secondary")));
  });
}

function usagesTable(u) {
  return h("table", { class: "grid", id: "usages" },
    h("thead", {}, h("tr", {}, h("th", {}, "Project"), h("th", {}, "Dataset"), h("th", {}, "Dataset type"))),
    h("tbody", {}, u.map((x) => h("tr", {}, h("td", {}, h("a", { href: `#/projects/${enc(x.projectKey)}` }, x.projectKey)),
      h("td", { class: "mono" }, x.datasetName), h("td", {}, x.datasetType)))));
}

async function deleteDialog(ctx, name) {
  let usages = [];
  try {
    usages = await get(`/admin/connections/${enc(name)}/usages`);
  } catch (e) {
    /* shown as none */
  }
  dialog(`Delete ${name}?`, (close) => {
    const confirmInput = h("input", { autocomplete: "off", id: "confirm-name" });
    const go = h("button", { type: "submit", class: "danger", disabled: true, id: "confirm-delete" }, "Delete this connection");
    confirmInput.addEventListener("input", () => { go.disabled = confirmInput.value !== name; });
    return h("form", {
      id: "delete-dialog",
      onsubmit: (e) => {
        e.preventDefault();
        if (confirmInput.value !== name) return;
        busy(go, async () => {
          await api("DELETE", `/admin/connections/${enc(name)}${usages.length ? "?force=true" : ""}`);
          close();
          toast(`Deleted ${name}.`);
          ctx.go("#/connections");
        });
      },
    },
    usages.length ? [h("p", { class: "warn" }, `${usages.length} dataset${usages.length === 1 ? "" : "s"} use${usages.length === 1 ? "s" : ""} it and will keep naming it:`), usagesTable(usages)]
      : h("p", {}, "No dataset uses it."),
    field(`Type the name (${name}) to confirm`, confirmInput),
    h("div", { class: "form-actions" }, go, button("Cancel", () => close(), "secondary")));
  });
}

// ---- history and diff ----

// path → display value; secrets (sealed values) are compared, never shown
function flatten(v, path = "", out = new Map()) {
  if (v && typeof v === "object" && !Array.isArray(v)) {
    const keys = Object.keys(v);
    if (!keys.length) out.set(path || "(root)", "{}");
    for (const k of keys) flatten(v[k], path ? `${path}.${k}` : k, out);
  } else if (Array.isArray(v)) {
    if (!v.length) out.set(path, "[]");
    v.forEach((x, i) => flatten(x, `${path}[${i}]`, out));
  } else {
    out.set(path, v);
  }
  return out;
}

export function diffRows(a, b) {
  const fa = flatten(a || {}), fb = flatten(b || {});
  const paths = [...new Set([...fa.keys(), ...fb.keys()])];
  return paths.filter((p) => !p.startsWith("creationTag")).map((p) => {
    const x = fa.get(p), y = fb.get(p);
    const secret = isSealed(x) || isSealed(y);
    const same = x === y;
    const show = (v, other) => (v === undefined ? "" : isSealed(v) ? (v === other ? "•••• unchanged" : "•••• changed") : JSON.stringify(v));
    return { path: p, left: show(x, y), right: show(y, x), kind: same ? "same" : x === undefined ? "added" : y === undefined ? "removed" : "changed", secret };
  });
}

async function historyTab(ctx, name, body) {
  const versions = await get(`/admin/connections/${enc(name)}/history`);
  if (!versions.length) return mount(body, empty("No history."));
  const live = versions.filter((v) => v.action !== "delete");
  let a = live.length > 1 ? live[live.length - 2].versionNumber : live[0].versionNumber;
  let b = live[live.length - 1].versionNumber;
  const diffHost = h("div", { class: "diff-host" });
  const nameA = uid("a"), nameB = uid("b");
  const showDiff = () => {
    const va = versions.find((v) => v.versionNumber === a), vb = versions.find((v) => v.versionNumber === b);
    const rows = diffRows(va?.definition, vb?.definition);
    const changed = rows.filter((r) => r.kind !== "same").length;
    mount(diffHost, h("h2", {}, `Version ${a} → version ${b}`, h("small", {}, ` · ${changed} change${changed === 1 ? "" : "s"}`)),
      h("table", { class: "diff", id: "diff" },
        h("thead", {}, h("tr", {}, h("th", {}, "Field"), h("th", {}, `Version ${a}`), h("th", {}, `Version ${b}`))),
        h("tbody", {}, rows.map((r) => h("tr", { class: r.kind }, h("td", { class: "mono" }, r.path),
          h("td", { class: "mono" }, r.left), h("td", { class: "mono" }, r.right))))));
  };
  mount(body, h("table", { class: "grid", id: "history" },
    h("thead", {}, h("tr", {}, h("th", {}, "A"), h("th", {}, "B"), h("th", { class: "num" }, "Version"), h("th", {}, "Action"),
      h("th", {}, "By"), h("th", {}, "On"), h("th", {}, ""))),
    h("tbody", {}, versions.slice().reverse().map((v) => {
      const del = v.action === "delete";
      const ra = h("input", { type: "radio", name: nameA, checked: v.versionNumber === a, disabled: del, "aria-label": `Compare from version ${v.versionNumber}` });
      const rb = h("input", { type: "radio", name: nameB, checked: v.versionNumber === b, disabled: del, "aria-label": `Compare to version ${v.versionNumber}` });
      ra.addEventListener("change", () => { a = v.versionNumber; showDiff(); });
      rb.addEventListener("change", () => { b = v.versionNumber; showDiff(); });
      const isCurrent = v === versions[versions.length - 1];
      return h("tr", {}, h("td", {}, ra), h("td", {}, rb), h("td", { class: "num" }, v.versionNumber), h("td", {}, v.action),
        h("td", {}, v.modifiedBy), h("td", {}, fmtTime(v.modifiedOn)),
        h("td", {}, del || isCurrent ? "" : button(`Revert to ${v.versionNumber}`, (e) => busy(e.target, async () => {
          const r = await api("POST", `/admin/connections/${enc(name)}/actions/revert`, { versionNumber: v.versionNumber });
          toast(`Reverted: version ${r.data.creationTag?.versionNumber} equals version ${v.versionNumber}.`);
          ctx.go(`#/connections/${enc(name)}/history`);
        }), "secondary small")));
    }))), diffHost);
  showDiff();
}

// ---- new connection ----

export async function create(ctx) {
  const { main } = ctx;
  const [all, groups] = await Promise.all([types(), groupsOrNone()]);
  const typeSel = h("select", { id: "new-type" }, h("option", { value: "" }, "Choose a type…"), all.map((t) => h("option", { value: t.type }, t.type)));
  const name = h("input", { id: "new-name", autocomplete: "off", pattern: "[A-Za-z0-9_.\\-]{1,128}", required: true });
  const formHost = h("div");
  const err = h("p", { class: "form-error", role: "alert" });
  let form = null;
  typeSel.addEventListener("change", () => {
    if (!typeSel.value) return mount(formHost);
    form = connectionForm({ type: typeSel.value, params: {} }, typeOf(all, typeSel.value), groups);
    const submit = h("button", { type: "submit", id: "create" }, "Create");
    form.append(h("div", { class: "form-actions" }, submit));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      err.textContent = "";
      const body = form.read();
      body.name = name.value.trim();
      body.type = typeSel.value;
      delete body.creationTag;
      submit.disabled = true;
      api("POST", "/admin/connections/", body).then(() => {
        toast(`Created ${body.name}.`);
        ctx.go(`#/connections/${enc(body.name)}`);
      }).catch((e2) => { err.textContent = e2.message; }).finally(() => { submit.disabled = false; });
    });
    mount(formHost, form);
  });
  mount(main, h("header", { class: "page-head" }, h("h1", {}, "New connection")),
    h("div", { class: "card" }, field("Name", name, "Letters, digits, _ . - (up to 128)"), field("Type", typeSel)), err, formHost);
  name.focus();
}

// ---- import and export ----

function parseExport(text) {
  const v = JSON.parse(text);
  if (Array.isArray(v)) return v;
  if (v && Array.isArray(v.connections)) return v.connections;
  if (v && typeof v === "object") return Object.values(v);
  throw new Error("Expected a list of connections.");
}

export async function importPage(ctx) {
  const { main } = ctx;
  const text = h("textarea", { id: "import-json", rows: 12, class: "mono", spellcheck: "false" });
  const file = h("input", { type: "file", accept: "application/json,.json", id: "import-file" });
  const conflict = h("select", { id: "import-conflict" }, h("option", { value: "fail" }, "Fail on any existing name"),
    h("option", { value: "skip" }, "Skip existing names"), h("option", { value: "overwrite" }, "Overwrite existing names"));
  const preview = h("div", { class: "import-preview", id: "import-preview", "aria-live": "polite" });
  const dry = h("button", { type: "button", id: "import-dry-run" }, "Preview (dry run)");
  const apply = h("button", { type: "button", class: "danger", id: "import-apply", disabled: true }, "Apply");
  file.addEventListener("change", async () => { if (file.files[0]) text.value = await file.files[0].text(); apply.disabled = true; });
  text.addEventListener("input", () => { apply.disabled = true; });
  const run = async (dryRun) => {
    let conns;
    try {
      conns = parseExport(text.value);
    } catch (e) {
      mount(preview, h("p", { class: "form-error", role: "alert" }, `The text is not a connections export: ${e.message}`));
      return;
    }
    const r = await api("POST", "/admin/connections/actions/import", { connections: conns, onConflict: conflict.value, dryRun });
    const res = r.data;
    const list = (label, items, cls) => h("div", { class: `outcome ${cls}` }, h("h3", {}, `${label} (${items.length})`),
      items.length ? h("ul", {}, items.map((x) => h("li", { class: "mono" }, typeof x === "string" ? x : `${x.name}: ${x.message}`))) : h("p", { class: "hint" }, "none"));
    mount(preview, h("h2", {}, dryRun ? "Preview: nothing is changed yet" : "Applied"),
      list("Created", res.created, "created"), list("Updated", res.updated, "updated"),
      list("Skipped", res.skipped, "skipped"), list("Errors", res.errors, "errors"));
    apply.disabled = !dryRun || (res.errors.length > 0 && conflict.value === "fail");
    if (!dryRun) toast("Import applied.");
  };
  dry.addEventListener("click", () => busy(dry, () => run(true)));
  apply.addEventListener("click", () => busy(apply, () => run(false)));
  mount(main, h("header", { class: "page-head" }, h("h1", {}, "Import connections")),
    h("div", { class: "card" }, field("Export file", file), field("Or paste the JSON", text), field("When a name exists", conflict),
      h("div", { class: "form-actions" }, dry, apply)), preview);
}

export async function exportPage(ctx) {
  const { main } = ctx;
  const [all, defs] = await Promise.all([types(), get("/admin/connections/")]);
  const out = Object.values(defs).map((d) => {
    const c = JSON.parse(JSON.stringify(d));
    delete c.id;
    delete c.label;
    const secret = new Set(typeOf(all, c.type).params.filter((p) => p.secret).map((p) => p.name));
    for (const k of Object.keys(c.params || {})) if (secret.has(k) || isSealed(c.params[k])) delete c.params[k];
    if (Array.isArray(c.params?.properties)) c.params.properties = c.params.properties.map((p) => (p.secret ? { ...p, value: "" } : p));
    return c;
  });
  const text = JSON.stringify({ connections: out }, null, 2);
  const blob = new Blob([text], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  mount(main, h("header", { class: "page-head" }, h("h1", {}, "Export connections")),
    h("p", {}, `${out.length} connection${out.length === 1 ? "" : "s"}, without secrets: passwords, keys and secret properties are left out; set them again after an import.`),
    h("div", { class: "actions" }, h("a", { href: url, download: "connections.json", class: "button", id: "export-download" }, "Download connections.json"), copyButton(() => text, "Copy")),
    h("pre", { class: "json", id: "export-json", tabindex: "0" }, text));
}

export { ApiError };
