// SPDX-License-Identifier: Apache-2.0
// Users, groups and API keys (global and personal): list, create, edit, delete. A new key is
// shown once, with a copy button; afterwards only its hint.
import { api, get, enc } from "./api.js";
import { h, mount, field, loading, empty, toast, dialog, fmtTime, copyButton, button, busy, uid } from "./ui.js";

async function load(main, ...paths) {
  const done = loading(main);
  try {
    return await Promise.all(paths.map((p) => get(p)));
  } finally {
    done();
  }
}

function confirmDelete(what, run) {
  dialog(`Delete ${what}?`, (close) => h("div", {},
    h("p", {}, `This deletes ${what}. It cannot be undone.`),
    h("div", { class: "form-actions" },
      button("Delete", (e) => busy(e.target, async () => { await run(); close(); }), "danger"),
      button("Cancel", () => close(), "secondary"))));
}

function checks(legend, names, selected) {
  const boxes = names.map((n) => {
    const id = uid("c");
    return h("label", { for: id, class: "check" }, h("input", { type: "checkbox", id, value: n, checked: selected.includes(n) }), n);
  });
  const el = h("fieldset", { class: "groups" }, h("legend", {}, legend), names.length ? boxes : h("p", { class: "hint" }, "No groups yet."));
  el.read = () => boxes.map((b) => b.firstChild).filter((c) => c.checked).map((c) => c.value);
  return el;
}

// ---- users ----

export async function users(ctx) {
  const { main } = ctx;
  const [list] = await load(main, "/admin/users/");
  mount(main, h("header", { class: "page-head" }, h("h1", {}, "Users"),
    h("div", { class: "actions" }, h("a", { href: "#/users/new", class: "button", id: "new-user" }, "New user"))),
  h("p", { class: "counts" }, `${list.length} user${list.length === 1 ? "" : "s"}`),
  list.length ? h("table", { class: "grid", id: "users-table" },
    h("thead", {}, h("tr", {}, h("th", {}, "Login"), h("th", {}, "Name"), h("th", {}, "Email"), h("th", {}, "Groups"), h("th", {}, "Enabled"), h("th", {}, "Created"))),
    h("tbody", {}, list.map((u) => h("tr", { class: "rowlink", onclick: (e) => { if (e.target.tagName !== "A") location.hash = `#/users/${enc(u.login)}`; } },
      h("td", { class: "mono" }, h("a", { href: `#/users/${enc(u.login)}` }, u.login)), h("td", {}, u.displayName || ""), h("td", {}, u.email || ""),
      h("td", {}, (u.groups || []).join(", ")), h("td", {}, u.enabled === false ? "No" : "Yes"), h("td", {}, fmtTime(u.creationDate))))))
    : empty("No users yet.", h("a", { href: "#/users/new", class: "button" }, "New user")));
}

export async function userForm(ctx, login) {
  const { main } = ctx;
  const [groups, user] = await load(main, "/admin/groups/", ...(login ? [`/admin/users/${enc(login)}`] : []));
  const u = user || { groups: [], enabled: true, userProfile: "DATA_SCIENTIST", sourceType: "LOCAL" };
  const loginIn = h("input", { id: "user-login", value: u.login || "", disabled: !!login, autocomplete: "off", required: true });
  const name = h("input", { id: "user-name", value: u.displayName || "" });
  const email = h("input", { id: "user-email", type: "email", value: u.email || "" });
  const pw = h("input", { id: "user-password", type: "password", autocomplete: "new-password" });
  const profile = h("select", { id: "user-profile" }, ["DATA_SCIENTIST", "DATA_ANALYST", "READER", "DESIGNER"].map((p) => h("option", { value: p }, p)));
  profile.value = u.userProfile || "DATA_SCIENTIST";
  const enabledId = uid("en");
  const enabled = h("input", { type: "checkbox", id: enabledId, checked: u.enabled !== false });
  const gp = checks("Groups", groups.map((g) => g.name), u.groups || []);
  const err = h("p", { class: "form-error", role: "alert" });
  const save = h("button", { type: "submit", id: "user-save" }, login ? "Save" : "Create user");
  const form = h("form", {
    class: "card", id: "user-form",
    onsubmit: (e) => {
      e.preventDefault();
      err.textContent = "";
      busy(save, async () => {
        const body = { ...u, displayName: name.value, email: email.value, userProfile: profile.value, groups: gp.read(), enabled: enabled.checked };
        if (pw.value) body.password = pw.value;
        try {
          if (login) await api("PUT", `/admin/users/${enc(login)}`, body);
          else await api("POST", "/admin/users/", { ...body, login: loginIn.value.trim() });
        } catch (e2) {
          err.textContent = e2.message;
          return;
        }
        pw.value = "";
        toast(login ? "User saved." : `Created user ${loginIn.value.trim()}.`);
        ctx.go("#/users");
      });
    },
  }, field("Login", loginIn), field("Display name", name), field("Email", email),
  field(login ? "New password (leave empty to keep)" : "Password", pw), field("Profile", profile),
  h("label", { for: enabledId, class: "check" }, enabled, "Enabled (a disabled user cannot sign in; their sessions end)"),
  gp, err, h("div", { class: "form-actions" }, save,
    login ? button("Delete user", () => confirmDelete(`user ${login}`, async () => {
      await api("DELETE", `/admin/users/${enc(login)}`);
      toast(`Deleted user ${login}.`);
      ctx.go("#/users");
    }), "danger") : null));
  mount(main, h("header", { class: "page-head" }, h("h1", {}, login ? `User ${login}` : "New user")), form);
  (login ? name : loginIn).focus();
}

// ---- groups ----

export async function groups(ctx) {
  const { main } = ctx;
  const [list] = await load(main, "/admin/groups/");
  const name = h("input", { id: "group-name", required: true, autocomplete: "off" });
  const desc = h("input", { id: "group-description" });
  const adminId = uid("adm");
  const admin = h("input", { type: "checkbox", id: adminId });
  const create = h("button", { type: "submit", id: "group-create" }, "Create group");
  const form = h("form", {
    class: "card inline", id: "group-form",
    onsubmit: (e) => {
      e.preventDefault();
      busy(create, async () => {
        await api("POST", "/admin/groups/", { name: name.value.trim(), description: desc.value, sourceType: "LOCAL", admin: admin.checked });
        toast(`Created group ${name.value.trim()}.`);
        ctx.go("#/groups");
      });
    },
  }, h("h2", {}, "New group"), field("Name", name), field("Description", desc),
  h("label", { for: adminId, class: "check" }, admin, "Administrators (members are admins)"), create);
  mount(main, h("header", { class: "page-head" }, h("h1", {}, "Groups")),
    list.length ? h("table", { class: "grid", id: "groups-table" },
      h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Description"), h("th", {}, "Admin"), h("th", {}, ""))),
      h("tbody", {}, list.map((g) => h("tr", {}, h("td", { class: "mono" }, g.name), h("td", {}, g.description || ""),
        h("td", {}, g.admin ? "Yes" : "No"),
        h("td", { class: "actions" }, button("Edit", () => editGroup(ctx, g), "secondary small"),
          button("Delete", () => confirmDelete(`group ${g.name}`, async () => {
            await api("DELETE", `/admin/groups/${enc(g.name)}`);
            toast(`Deleted group ${g.name}.`);
            ctx.go("#/groups");
          }), "secondary small"))))))
      : empty("No groups yet: create one below."),
    form);
}

function editGroup(ctx, g) {
  dialog(`Edit group ${g.name}`, (close) => {
    const desc = h("input", { id: "edit-group-description", value: g.description || "" });
    const id = uid("eadm");
    const admin = h("input", { type: "checkbox", id, checked: !!g.admin });
    const save = h("button", { type: "submit" }, "Save");
    return h("form", {
      id: "edit-group-form",
      onsubmit: (e) => {
        e.preventDefault();
        busy(save, async () => {
          await api("PUT", `/admin/groups/${enc(g.name)}`, { ...g, description: desc.value, admin: admin.checked });
          close();
          toast(`Saved group ${g.name}.`);
          ctx.go("#/groups");
        });
      },
    }, field("Description", desc), h("label", { for: id, class: "check" }, admin, "Administrators (members are admins)"),
    h("div", { class: "form-actions" }, save, button("Cancel", () => close(), "secondary")));
  });
}

// Edits a key's label and description (its secret never changes). PATH is its URL.
function editKey(k, path, done) {
  dialog(`Edit key ${k.label || k.id}`, (close) => {
    const label = h("input", { id: "edit-key-label", value: k.label || "" });
    const desc = h("input", { id: "edit-key-description", value: k.description || "" });
    const save = h("button", { type: "submit" }, "Save");
    return h("form", {
      id: "edit-key-form",
      onsubmit: (e) => {
        e.preventDefault();
        busy(save, async () => {
          await api("PUT", path, { ...k, label: label.value, description: desc.value });
          close();
          toast("Key saved.");
          done();
        });
      },
    }, field("Label", label), field("Description", desc), h("div", { class: "form-actions" }, save, button("Cancel", () => close(), "secondary")));
  });
}

// ---- keys ----

function showNewKey(k) {
  dialog("Your new API key", (close) => h("div", { id: "new-key-dialog" },
    h("p", {}, "Copy it now: it is shown this once and cannot be read back."),
    h("pre", { class: "key mono", id: "new-key-value", tabindex: "0" }, k.key),
    h("div", { class: "form-actions" }, copyButton(() => k.key, "Copy key"), button("Done", () => close()))));
}

function keysTable(list, onDelete, withUser, onEdit) {
  return h("table", { class: "grid keys" },
    h("thead", {}, h("tr", {}, h("th", {}, "Label"), withUser ? h("th", {}, "User") : null, h("th", {}, "Key"), h("th", {}, "Admin / groups"),
      h("th", {}, "Created"), h("th", {}, "Expires"), h("th", {}, ""))),
    h("tbody", {}, list.map((k) => h("tr", {},
      h("td", {}, k.label || "(no label)"), withUser ? h("td", { class: "mono" }, k.user) : null,
      h("td", { class: "mono" }, k.key || "—"),
      h("td", {}, k.globalPermissions ? [k.globalPermissions.admin ? "admin" : "", ...(k.groups || [])].filter(Boolean).join(", ") || "—" : "as the user"),
      h("td", {}, fmtTime(k.createdOn)), h("td", {}, k.expiresOn ? fmtTime(k.expiresOn) : "never"),
      h("td", { class: "actions" }, onEdit ? button("Edit", () => onEdit(k), "secondary small") : null,
        button("Delete", () => onDelete(k), "secondary small"))))));
}

export async function keys(ctx) {
  const { main } = ctx;
  const [globalKeys, personal, groupList, userList] = await load(main, "/admin/global-api-keys/", "/admin/personal-api-keys/", "/admin/groups/", "/admin/users/");
  const label = h("input", { id: "key-label", autocomplete: "off" });
  const adminId = uid("kadm");
  const admin = h("input", { type: "checkbox", id: adminId });
  const gp = checks("Groups", groupList.map((g) => g.name), []);
  const create = h("button", { type: "submit", id: "key-create" }, "Create global key");
  const gform = h("form", {
    class: "card", id: "global-key-form",
    onsubmit: (e) => {
      e.preventDefault();
      busy(create, async () => {
        const r = await api("POST", "/admin/global-api-keys/", { label: label.value, description: "", globalPermissions: { admin: admin.checked }, groups: gp.read() });
        showNewKey(r.data);
        label.value = "";
        refreshLists();
      });
    },
  }, h("h2", {}, "New global key"), field("Label", label), h("label", { for: adminId, class: "check" }, admin, "Administrator"), gp, create);
  const who = h("select", { id: "pkey-user" }, userList.map((u) => h("option", { value: u.login }, u.login)));
  const plabel = h("input", { id: "pkey-label", autocomplete: "off" });
  const pcreate = h("button", { type: "submit", id: "pkey-create", disabled: !userList.length }, "Create personal key");
  const pform = h("form", {
    class: "card", id: "personal-key-form",
    onsubmit: (e) => {
      e.preventDefault();
      busy(pcreate, async () => {
        const r = await api("POST", "/admin/personal-api-keys/", { user: who.value, label: plabel.value, description: "" });
        showNewKey(r.data);
        plabel.value = "";
        refreshLists();
      });
    },
  }, h("h2", {}, "New personal key"), field("User", who), field("Label", plabel), pcreate);
  const lists = h("div");
  const draw = (g, p) => mount(lists,
    h("h2", {}, `Global keys (${g.length})`),
    g.length ? keysTable(g, (k) => confirmDelete(`key ${k.label || k.id}`, async () => {
      await api("DELETE", `/admin/global-api-keys/${enc(k.id)}`);
      toast("Key deleted: its sessions ended.");
      refreshLists();
    }), false, (k) => editKey(k, `/admin/global-api-keys/${enc(k.id)}`, refreshLists)) : empty("No global keys."),
    h("h2", {}, `Personal keys (${p.length})`),
    p.length ? keysTable(p, (k) => confirmDelete(`personal key ${k.label || k.id}`, async () => {
      await api("DELETE", `/personal-api-keys/${enc(k.id)}`);
      toast("Key deleted.");
      refreshLists();
    }), true, (k) => editKey(k, `/personal-api-keys/${enc(k.id)}`, refreshLists)) : empty("No personal keys."));
  const refreshLists = async () => draw(await get("/admin/global-api-keys/"), await get("/admin/personal-api-keys/"));
  draw(globalKeys, personal);
  mount(main, h("header", { class: "page-head" }, h("h1", {}, "API keys")), lists, h("div", { class: "two" }, gform, pform));
}

export async function myKeys(ctx) {
  const { main } = ctx;
  const [list] = await load(main, "/personal-api-keys/");
  const label = h("input", { id: "mykey-label", autocomplete: "off" });
  const create = h("button", { type: "submit", id: "mykey-create" }, "Create key");
  const host = h("div");
  const draw = (l) => mount(host, l.length ? keysTable(l, (k) => confirmDelete(`key ${k.label || k.id}`, async () => {
    await api("DELETE", `/personal-api-keys/${enc(k.id)}`);
    toast("Key deleted.");
    draw(await get("/personal-api-keys/"));
  }), false, (k) => editKey(k, `/personal-api-keys/${enc(k.id)}`, async () => draw(await get("/personal-api-keys/")))) : empty("You have no personal API keys yet."));
  draw(list);
  mount(main, h("header", { class: "page-head" }, h("h1", {}, "My API keys")),
    h("p", {}, "Personal keys act as you, with your groups, for scripts and the DSS client."), host,
    h("form", {
      class: "card inline", id: "my-key-form",
      onsubmit: (e) => {
        e.preventDefault();
        busy(create, async () => {
          const r = await api("POST", "/personal-api-keys/", { label: label.value, description: "" });
          showNewKey(r.data);
          label.value = "";
          draw(await get("/personal-api-keys/"));
        });
      },
    }, h("h2", {}, "New personal key"), field("Label", label), create));
}
