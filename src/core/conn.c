/* SPDX-License-Identifier: Apache-2.0 */
/* Connection definitions. A definition is a JSON object whose known fields are listed once in
 * `known_fields` below with their check and default; every other member a client sends is kept
 * as is, because clients do get -> modify -> set on whole objects. The server owns
 * `creationTag`, and `id`/`label` exist only in list answers, so neither is taken from a body. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/conn.h"
#include "core/fields.h"
#include "core/types.h"
#include "util/limits.h"
#include "util/mem.h"

static const char *const usable_by_values[] = {"ALL", "ALLOWED", NULL};
static const char *const credentials_mode_values[] = {"GLOBAL", "PER_USER", NULL};
static const char *const readable_by_values[] = {"NONE", "ALL", "ALLOWED", NULL};

enum field_check {
    CHECK_NONE,
    CHECK_STRING,
    CHECK_TEXT,
    CHECK_OBJECT,
    CHECK_BOOL,
    CHECK_STRINGS,
    CHECK_COUNT,
    CHECK_USABLE_BY,
    CHECK_CREDENTIALS_MODE,
    CHECK_READABILITY
};

struct known_field {
    const char *key;
    enum field_check check;
    const char *def; /* JSON text of the default; NULL: no default */
};

/* In the order definitions are written back. name and type are handled before. */
static const struct known_field known_fields[] = {
    {"description", CHECK_TEXT, "\"\""},
    {"params", CHECK_OBJECT, "{}"},
    {"usableBy", CHECK_USABLE_BY, "\"ALL\""},
    {"allowedGroups", CHECK_STRINGS, "[]"},
    {"allowWrite", CHECK_BOOL, "true"},
    {"allowManagedDatasets", CHECK_BOOL, "true"},
    {"allowManagedFolders", CHECK_BOOL, "false"},
    {"allowKnowledgeBanks", CHECK_BOOL, "true"},
    {"allowMirror", CHECK_BOOL, "false"},
    {"maxActivities", CHECK_COUNT, "0"},
    {"useGlobalProxy", CHECK_BOOL, "false"},
    {"credentialsMode", CHECK_CREDENTIALS_MODE, "\"GLOBAL\""},
    {"detailsReadability", CHECK_READABILITY, NULL},
};

#define N_KNOWN (sizeof(known_fields) / sizeof(known_fields[0]))

/* Members never taken from a client body. */
static bool is_server_owned(const char *key)
{
    return strcmp(key, "creationTag") == 0 || strcmp(key, "id") == 0 || strcmp(key, "label") == 0;
}

static bool is_known(const char *key)
{
    if (strcmp(key, "name") == 0 || strcmp(key, "type") == 0)
        return true;
    for (size_t i = 0; i < N_KNOWN; i++)
        if (strcmp(known_fields[i].key, key) == 0)
            return true;
    return false;
}

bool conn_validate_name(const char *name, struct sb_err *err)
{
    size_t len = strlen(name);
    char echo[SB_ECHO_MAX + 4];

    if (len == 0)
        return sb_err_set(err, SB_ERR_BAD_REQUEST, "Field 'name' must not be empty."), false;
    sb_err_echo(echo, sizeof(echo), name);
    if (len > SB_NAME_MAX)
        return sb_err_set(err, SB_ERR_BAD_REQUEST,
                          "Field 'name' must be at most %d characters long; '%s' has %zu.",
                          SB_NAME_MAX, echo, len),
               false;
    if (name[0] == '.')
        return sb_err_set(err, SB_ERR_BAD_REQUEST, "Field 'name' must not start with '.': '%s'.",
                          echo),
               false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return sb_err_set(err, SB_ERR_BAD_REQUEST,
                              "Field 'name' may only contain letters, digits, '_', '.' and '-': "
                              "'%s' is not a valid connection name.",
                              echo),
                   false;
    }
    return true;
}

static bool check_readability(const json_t *v, struct sb_err *err)
{
    const char *prefix = "detailsReadability.";

    if (!json_is_object(v))
        return sb_err_set(err, SB_ERR_BAD_REQUEST,
                          "Field 'detailsReadability' must be a JSON object."),
               false;
    return fields_enum(v, prefix, "readableBy", readable_by_values, err) &&
           fields_string_array(v, prefix, "allowedGroups", err);
}

static bool check_field(const json_t *body, const struct known_field *f, struct sb_err *err)
{
    json_t *v = json_object_get(body, f->key);

    switch (f->check) {
    case CHECK_STRING: return fields_string(body, "", f->key, err);
    case CHECK_TEXT: return fields_text(body, "", f->key, err);
    case CHECK_OBJECT: return fields_object(body, "", f->key, err);
    case CHECK_BOOL: return fields_bool(body, "", f->key, err);
    case CHECK_STRINGS: return fields_string_array(body, "", f->key, err);
    case CHECK_COUNT: return fields_nonneg_int(body, "", f->key, err);
    case CHECK_USABLE_BY: return fields_enum(body, "", f->key, usable_by_values, err);
    case CHECK_CREDENTIALS_MODE: return fields_enum(body, "", f->key, credentials_mode_values, err);
    case CHECK_READABILITY: return !v || json_is_null(v) || check_readability(v, err);
    case CHECK_NONE: return true;
    }
    return true;
}

/* The default detailsReadability merged under what the client gave. New reference. */
static json_t *readability_with_defaults(const json_t *given)
{
    json_t *out = given ? fields_drop_nulls(given) : xcheck(json_object());

    if (!json_object_get(out, "readableBy"))
        json_object_set_new(out, "readableBy", json_string("NONE"));
    if (!json_object_get(out, "allowedGroups"))
        json_object_set_new(out, "allowedGroups", json_array());
    return out;
}

static json_t *parse_default(const char *text)
{
    return xcheck(json_loads(text, JSON_DECODE_ANY, NULL));
}

static json_t *creation_tag(int64_t version, const char *who, int64_t now_ms)
{
    return xcheck(json_pack("{s:I, s:{s:s}, s:I}", "versionNumber", (json_int_t)version,
                            "lastModifiedBy", "login", who, "lastModifiedOn", (json_int_t)now_ms));
}

/* Whether V (a string, or strings inside an array or object) holds a CR or LF. */
static bool has_line_break(const json_t *v)
{
    const char *key;
    json_t *item;
    size_t i;

    if (json_is_string(v))
        return strpbrk(json_string_value(v), "\r\n") != NULL;
    json_array_foreach (v, i, item) {
        if (has_line_break(item))
            return true;
    }
    json_object_foreach ((json_t *)v, key, item) {
        if (strpbrk(key, "\r\n") || has_line_break(item))
            return true;
    }
    return false;
}

bool conn_params_header_safe(const struct conn_type *t, const json_t *params, char *bad,
                             size_t bad_size)
{
    static const char *const names[] = {"url",      "host",  "port",   "user",
                                        "password", "token", "headers"};

    if (!t || t->tester != TESTER_CURL)
        return true;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (has_line_break(json_object_get(params, names[i]))) {
            snprintf(bad, bad_size, "%s", names[i]);
            return false;
        }
    return true;
}

/* Makes the "secret" flag of each entry of PARAMS.properties a JSON boolean, read as DSS's
 * JSON binding reads it: a number is true unless 0, a string "true" or "false" in any case.
 * Only true seals the value (secrets.c): a 1 or a "true" kept as sent left a secret property in
 * clear, in /info's params too. Anything else is a 400 naming the field. */
static bool property_flags_boolean(json_t *params, struct sb_err *err)
{
    json_t *entry, *flag;
    size_t i;

    json_array_foreach (json_object_get(params, "properties"), i, entry) {
        flag = json_object_get(entry, "secret");
        if (!flag || json_is_boolean(flag) || json_is_null(flag))
            continue;
        if (json_is_number(flag))
            json_object_set_new(entry, "secret", json_boolean(json_number_value(flag) != 0));
        else if (json_is_string(flag) && (strcasecmp(json_string_value(flag), "true") == 0 ||
                                          strcasecmp(json_string_value(flag), "false") == 0))
            json_object_set_new(entry, "secret",
                                json_boolean(strcasecmp(json_string_value(flag), "true") == 0));
        else
            return sb_err_set(err, SB_ERR_BAD_REQUEST,
                              "Field 'params.properties[%zu].secret' must be true or false.", i),
                   false;
    }
    return true;
}

/* Checks BODY (nulls already dropped) and builds the stored definition with NAME and TYPE.
 * New reference in *OUT. */
static enum sb_err_kind build_definition(const json_t *body, const char *name, const char *type,
                                         int64_t version, const char *who, int64_t now_ms,
                                         bool guards, json_t **out, struct sb_err *err)
{
    const struct conn_type *t = types_find(type);
    json_t *def;
    const char *key;
    json_t *v;

    for (size_t i = 0; i < N_KNOWN; i++)
        if (!check_field(body, &known_fields[i], err))
            return err->kind;

    def = xcheck(json_object());
    json_object_set_new(def, "name", json_string(name));
    json_object_set_new(def, "type", json_string(type));
    for (size_t i = 0; i < N_KNOWN; i++) {
        const struct known_field *f = &known_fields[i];
        json_t *given = json_object_get(body, f->key);
        if (f->check == CHECK_READABILITY)
            json_object_set_new(def, f->key, readability_with_defaults(given));
        else if (given)
            json_object_set_new(def, f->key, xcheck(json_deep_copy(given))); /* never shared */
        else
            json_object_set_new(def, f->key, parse_default(f->def));
    }
    json_object_foreach ((json_t *)body, key, v)
        if (!is_known(key) && !is_server_owned(key))
            json_object_set(def, key, v);
    if (!property_flags_boolean(json_object_get(def, "params"), err)) {
        json_decref(def);
        return err->kind;
    }
    {
        char bad[16];
        if (!conn_params_header_safe(t, json_object_get(def, "params"), bad, sizeof(bad))) {
            json_decref(def);
            return sb_err_set(err, SB_ERR_BAD_REQUEST,
                              "Param '%s' must not contain a line break (CR or LF): it ends up "
                              "in a request line or header of the live test.",
                              bad);
        }
    }
    if (t && guards && types_apply(t, json_object_get(def, "params"), err) != SB_OK) {
        json_decref(def);
        return err->kind;
    }
    if (t && !guards)
        types_apply_defaults(t, json_object_get(def, "params"));
    json_object_set_new(def, "creationTag", creation_tag(version, who, now_ms));
    *out = def;
    return SB_OK;
}

enum sb_err_kind conn_prepare_create(const json_t *body, const char *who, int64_t now_ms,
                                     bool guards, json_t **out, struct sb_err *err)
{
    enum sb_err_kind rc;
    json_t *clean;
    const char *name, *type;

    if (!fields_require_object(body, "connection definition", err))
        return err->kind;
    clean = fields_drop_nulls(body);
    rc = SB_ERR_BAD_REQUEST;
    if (!json_object_get(clean, "name")) {
        sb_err_set(err, rc, "Field 'name' is required to create a connection.");
        goto out;
    }
    if (!fields_string(clean, "", "name", err))
        goto out;
    name = json_string_value(json_object_get(clean, "name"));
    if (!conn_validate_name(name, err))
        goto out;
    if (!json_object_get(clean, "type")) {
        sb_err_set(err, rc, "Field 'type' is required to create a connection.");
        goto out;
    }
    if (!fields_nonempty_string(clean, "", "type", err))
        goto out;
    type = json_string_value(json_object_get(clean, "type"));
    if (!types_find(type)) {
        types_unknown(type, err);
        goto out;
    }
    rc = build_definition(clean, name, type, 1, who, now_ms, guards, out, err);
out:
    json_decref(clean);
    return rc == SB_OK ? SB_OK : err->kind;
}

int64_t conn_version(const json_t *def)
{
    json_t *tag = json_object_get(def, "creationTag");
    return json_integer_value(json_object_get(tag, "versionNumber"));
}

enum sb_err_kind conn_prepare_update(const json_t *stored, const json_t *body,
                                     const char *path_name, const char *who, int64_t now_ms,
                                     bool guards, json_t **out, struct sb_err *err)
{
    enum sb_err_kind rc = SB_ERR_BAD_REQUEST;
    const char *stored_type = json_string_value(json_object_get(stored, "type"));
    json_t *clean, *v, *tag;
    char echo[SB_ECHO_MAX + 4];

    if (!fields_require_object(body, "connection definition", err))
        return err->kind;
    if (!stored_type)
        return sb_err_set(err, SB_ERR_INTERNAL, "The stored connection '%s' has no type.",
                          path_name);
    clean = fields_drop_nulls(body);

    if (!fields_string(clean, "", "name", err))
        goto out;
    v = json_object_get(clean, "name");
    if (v && strcmp(json_string_value(v), path_name) != 0) {
        sb_err_set(err, rc,
                   "Field 'name' cannot change: the body names '%s' but the path names '%s'; "
                   "connections are not renamed by PUT.",
                   (sb_err_echo(echo, sizeof(echo), json_string_value(v)), echo), path_name);
        goto out;
    }
    if (!fields_string(clean, "", "type", err))
        goto out;
    v = json_object_get(clean, "type");
    if (v && strcmp(json_string_value(v), stored_type) != 0) {
        sb_err_set(err, rc, "Field 'type' cannot change: connection '%s' is of type '%s'.",
                   path_name, stored_type);
        goto out;
    }

    tag = json_object_get(clean, "creationTag");
    if (tag && !json_is_object(tag)) {
        sb_err_set(err, rc, "Field 'creationTag' must be a JSON object.");
        goto out;
    }
    v = json_object_get(tag, "versionNumber");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v)) {
            sb_err_set(err, rc, "Field 'creationTag.versionNumber' must be a whole number.");
            goto out;
        }
        if (guards && json_integer_value(v) != conn_version(stored)) {
            rc = sb_err_set(err, SB_ERR_CONFLICT,
                            "Connection '%s' was changed since it was read: the body is based on "
                            "version %lld but the stored version is %lld; read it again and "
                            "reapply the change.",
                            path_name, (long long)json_integer_value(v),
                            (long long)conn_version(stored));
            goto out;
        }
    }
    rc = build_definition(clean, path_name, stored_type, conn_version(stored) + 1, who, now_ms,
                          guards, out, err);
out:
    json_decref(clean);
    return rc == SB_OK ? SB_OK : err->kind;
}

bool conn_usable_by(const json_t *def, const struct principal *p)
{
    const char *usable = json_string_value(json_object_get(def, "usableBy"));

    if (p->admin || !usable || strcmp(usable, "ALL") == 0)
        return true;
    return principal_in_any_group(p, json_object_get(def, "allowedGroups"));
}

bool conn_details_readable(const json_t *def, const struct principal *p)
{
    json_t *dr = json_object_get(def, "detailsReadability");
    const char *readable = json_string_value(json_object_get(dr, "readableBy"));

    if (p->admin || (readable && strcmp(readable, "ALL") == 0))
        return true;
    return readable && strcmp(readable, "ALLOWED") == 0 &&
           principal_in_any_group(p, json_object_get(dr, "allowedGroups"));
}

enum conn_credential conn_credential_shape(const json_t *def)
{
    json_t *params = json_object_get(def, "params");
    const struct conn_type *t = types_find(json_string_value(json_object_get(def, "type")));

    if (t)
        return t->credential == TYPE_CREDENTIAL_AWS     ? CONN_CREDENTIAL_AWS
               : t->credential == TYPE_CREDENTIAL_BASIC ? CONN_CREDENTIAL_BASIC
                                                        : CONN_CREDENTIAL_NONE;

    if (json_object_get(params, "accessKey") || json_object_get(params, "secretKey"))
        return CONN_CREDENTIAL_AWS;
    if (json_object_get(params, "user") || json_object_get(params, "password"))
        return CONN_CREDENTIAL_BASIC;
    return CONN_CREDENTIAL_NONE;
}

char *conn_text_with_new_defaults(const char *text)
{
    json_t *def;
    char *out;

    if (strstr(text, "\"allowKnowledgeBanks\""))
        return NULL;
    def = json_loads(text, 0, NULL);
    if (!json_is_object(def)) {
        json_decref(def);
        return NULL;
    }
    json_object_set_new(def, "allowKnowledgeBanks", json_true());
    out = xcheck(json_dumps(def, JSON_COMPACT));
    json_decref(def);
    return out;
}
