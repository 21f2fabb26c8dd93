// SPDX-License-Identifier: Apache-2.0
// DOM helpers and the states every page handles: loading, empty, error, forbidden, conflict,
// success. Text always goes in as text (never as HTML), so no value from the server can run.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "value") el.value = v;
    else if (k === "checked") el.checked = !!v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

let seq = 0;
export const uid = (p = "f") => `${p}-${++seq}`;

// A labelled field: the input gets an id its label points to.
export function field(label, input, hint) {
  const id = input.id || uid();
  input.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), input,
    hint ? h("small", { class: "hint" }, hint) : null);
}

export function mount(root, ...children) {
  root.replaceChildren();
  append(root, children);
}

// Shows a spinner in ROOT if loading takes more than 200 ms, never a blank page.
export function loading(root) {
  const t = setTimeout(() => mount(root, h("div", { class: "state loading", role: "status" },
    h("span", { class: "spinner", "aria-hidden": "true" }), "Loading…")), 200);
  return () => clearTimeout(t);
}

export function errorState(err, retry) {
  if (err && err.status === 403) {
    return h("div", { class: "state forbidden", role: "alert" },
      h("h2", {}, "Not allowed"),
      h("p", {}, err.message),
      h("p", {}, "This page needs rights your sign-in does not have. Ask an administrator."));
  }
  return h("div", { class: "state error", role: "alert" },
    h("h2", {}, err && err.status === 404 ? "Not found" : "Something went wrong"),
    h("p", {}, err ? err.message : "Unknown error."),
    retry ? h("button", { type: "button", onclick: retry }, "Retry") : null);
}

export function empty(sentence, action) {
  return h("div", { class: "state empty" }, h("p", {}, sentence), action || null);
}

// A short confirmation that fades (never an alert box).
export function toast(text, kind = "ok") {
  let host = document.getElementById("toasts");
  if (!host) {
    host = h("div", { id: "toasts", "aria-live": "polite" });
    document.body.append(host);
  }
  const t = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
  host.append(t);
  setTimeout(() => t.classList.add("fade"), 2500);
  setTimeout(() => t.remove(), 3200);
}

// A modal dialog. BUILD(close) returns its content; Esc closes; focus goes inside and comes back.
export function dialog(title, build) {
  const before = document.activeElement;
  const d = h("dialog", { class: "dialog", "aria-label": title });
  const close = (v) => {
    d.close();
    d.remove();
    if (before && before.focus) before.focus();
    return v;
  };
  d.append(h("h2", {}, title), build(close));
  d.addEventListener("cancel", (e) => {
    e.preventDefault();
    close();
  });
  document.body.append(d);
  d.showModal();
  const first = d.querySelector("input, select, textarea, button");
  if (first) first.focus();
  return d;
}

export function fmtTime(ms) {
  if (!ms) return "—";
  const d = new Date(ms);
  return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function statusDot(st) {
  const kind = !st ? "unknown" : st.connectionOK ? "ok" : "failing";
  const word = { ok: "OK", failing: "Failing", unknown: "Not tested" }[kind];
  const title = st ? `${st.message || word}${st.durationMs !== undefined ? ` (${st.durationMs} ms)` : ""}` : "No live test yet";
  return h("span", { class: `status ${kind}`, title }, h("span", { class: "dot", "aria-hidden": "true" }), word);
}

export function copyButton(getText, label = "Copy") {
  const b = h("button", {
    type: "button", class: "secondary",
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(getText());
        toast("Copied to the clipboard.");
      } catch (e) {
        toast("Copy failed: select the text and copy it by hand.", "error");
      }
    },
  }, label);
  return b;
}

export function button(label, onclick, cls) {
  return h("button", { type: "button", class: cls, onclick }, label);
}

export function link(href, text, cls) {
  return h("a", { href, class: cls }, text);
}

// Runs an async action with BTN disabled; shows the server's words on failure.
export async function busy(btn, fn) {
  if (btn) btn.disabled = true;
  try {
    return await fn();
  } catch (e) {
    if (e && e.status !== 401) toast(e.message || String(e), "error");
    return undefined;
  } finally {
    if (btn) btn.disabled = false;
  }
}
