/* SPDX-License-Identifier: Apache-2.0 */
/* The CLI's profile file and the precedence of its settings. The file is INI-like:
 *
 *     # comments start with '#' or ';'
 *     [default]
 *     url = http://127.0.0.1:11200
 *     api_key = ...
 *     [prod]
 *     url = https://switchboard.internal
 *     api_key = "..."          (quotes around a value are optional)
 *     ca_file = /etc/ssl/internal-ca.pem
 *     insecure = false
 *
 * Lines before the first section belong to [default]. Messages about the file name its line,
 * never its text: a line may hold a key. */
#include <stdlib.h>
#include <string.h>

#include "client/cli_profile.h"
#include "util/mem.h"

char *cli_profile_path(void)
{
    const char *home = getenv("HOME");
    size_t n;
    char *path;

    if (!home || !*home)
        return NULL;
    n = strlen(home) + sizeof("/.config/switchboard/config");
    path = xmalloc(n);
    snprintf(path, n, "%s/.config/switchboard/config", home);
    return path;
}

static char *trim(char *s)
{
    char *end;

    while (*s == ' ' || *s == '\t')
        s++;
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
        *--end = '\0';
    return s;
}

static void set_string(char **slot, const char *value)
{
    if (*slot) {
        explicit_bzero(*slot, strlen(*slot));
        free(*slot);
    }
    *slot = xstrdup(value);
}

/* Applies KEY = VALUE to P; false for an unknown key or a bad value (message on ERRS). */
static bool apply(struct cli_profile *p, const char *key, const char *value, const char *path,
                  unsigned line, FILE *errs)
{
    if (strcmp(key, "url") == 0) {
        set_string(&p->url, value);
    } else if (strcmp(key, "api_key") == 0 || strcmp(key, "api-key") == 0) {
        set_string(&p->api_key, value);
    } else if (strcmp(key, "ca_file") == 0 || strcmp(key, "ca-file") == 0) {
        set_string(&p->ca_file, value);
    } else if (strcmp(key, "insecure") == 0) {
        if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 || strcmp(value, "1") == 0) {
            p->insecure = 1;
        } else if (strcmp(value, "false") == 0 || strcmp(value, "no") == 0 ||
                   strcmp(value, "0") == 0) {
            p->insecure = 0;
        } else {
            fprintf(errs, "switchboard: %s:%u: insecure must be true or false\n", path, line);
            return false;
        }
    } else {
        fprintf(errs,
                "switchboard: %s:%u: unknown setting '%.40s'\nhint: the settings are "
                "url, api_key, ca_file and insecure\n",
                path, line, key);
        return false;
    }
    return true;
}

int cli_profile_read(const char *path, const char *name, struct cli_profile *p, FILE *errs)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL, *line, *eq, *value;
    size_t cap = 0, len;
    unsigned lineno = 0;
    bool in_section = strcmp(name, "default") == 0; /* lines before any section */
    int rc = 0;

    memset(p, 0, sizeof(*p));
    p->insecure = -1;
    if (!f)
        return 0;
    while (getline(&buf, &cap, f) != -1) {
        lineno++;
        line = trim(buf);
        if (*line == '\0' || *line == '#' || *line == ';')
            continue;
        if (*line == '[') {
            len = strlen(line);
            if (len < 3 || line[len - 1] != ']') {
                fprintf(errs, "switchboard: %s:%u: a section is written [name]\n", path, lineno);
                rc = -1;
                goto out;
            }
            line[len - 1] = '\0';
            in_section = strcmp(trim(line + 1), name) == 0;
            if (in_section)
                p->found = true;
            continue;
        }
        if (!(eq = strchr(line, '='))) {
            fprintf(errs, "switchboard: %s:%u: expected 'setting = value' or '[profile]'\n", path,
                    lineno);
            rc = -1;
            goto out;
        }
        *eq = '\0';
        value = trim(eq + 1);
        len = strlen(value);
        if (len >= 2 && (value[0] == '"' || value[0] == '\'') && value[len - 1] == value[0]) {
            value[len - 1] = '\0';
            value++;
        }
        /* settings of other sections are checked too: a typo anywhere is worth knowing */
        {
            struct cli_profile scratch = {.insecure = -1};
            bool ok = apply(in_section ? p : &scratch, trim(line), value, path, lineno, errs);
            if (in_section)
                p->found = true; /* also for settings before any section: [default] */
            cli_profile_free(&scratch);
            if (!ok) {
                rc = -1;
                goto out;
            }
        }
    }
out:
    if (buf) {
        explicit_bzero(buf, cap);
        free(buf);
    }
    fclose(f);
    return rc;
}

void cli_profile_free(struct cli_profile *p)
{
    if (p->api_key)
        explicit_bzero(p->api_key, strlen(p->api_key));
    free(p->url);
    free(p->api_key);
    free(p->ca_file);
    p->url = p->api_key = p->ca_file = NULL;
}

/* The first of FLAG, the environment variable ENV and FROM_PROFILE that is set and not empty;
 * *ORIGIN says which. */
static const char *pick(const char *flag, const char *flag_name, const char *env,
                        const char *from_profile, const char *profile_origin, const char **origin)
{
    const char *v;

    if (flag && *flag) {
        *origin = flag_name;
        return flag;
    }
    if ((v = getenv(env)) && *v) {
        *origin = env;
        return v;
    }
    if (from_profile && *from_profile) {
        *origin = profile_origin;
        return from_profile;
    }
    return NULL;
}

int cli_profile_resolve(const struct cli_args *a, bool need_key, struct cli_profile *p,
                        struct cli_settings *s, FILE *errs)
{
    const char *name = a->profile ? a->profile : "default";
    char *path = cli_profile_path();
    char origin[96];
    int rc = CLI_EXIT_USAGE;

    memset(s, 0, sizeof(*s));
    memset(p, 0, sizeof(*p));
    p->insecure = -1;
    if (path && cli_profile_read(path, name, p, errs) != 0)
        goto out;
    if (a->profile && !p->found) {
        fprintf(errs,
                "switchboard: profile '%s' not found in %s\nhint: add a [%s] section "
                "with url and api_key lines, or leave out --profile\n",
                name, path ? path : "~/.config/switchboard/config (HOME is not set)", name);
        goto out;
    }
    snprintf(origin, sizeof(origin), "profile '%s'", name);
    /* the origins must outlive this function: keep only static strings */
    s->url = pick(a->url, "--url", "SWITCHBOARD_URL", p->url, "the profile", &s->url_origin);
    if (!s->url) {
        s->url = CLI_DEFAULT_URL;
        s->url_origin = "the default";
    }
    s->api_key = pick(a->api_key, "--api-key", "SWITCHBOARD_API_KEY", p->api_key, "the profile",
                      &s->key_origin);
    s->ca_file = a->ca_file && *a->ca_file ? a->ca_file : p->ca_file;
    s->insecure = a->insecure || p->insecure == 1;
    if (strncmp(s->url, "http://", 7) != 0 && strncmp(s->url, "https://", 8) != 0) {
        fprintf(errs,
                "switchboard: the server URL (from %s) must start with http:// or "
                "https://\nhint: for example --url " CLI_DEFAULT_URL "\n",
                strcmp(s->url_origin, "the profile") == 0 ? origin : s->url_origin);
        goto out;
    }
    if (need_key && !s->api_key) {
        fprintf(errs,
                "switchboard: no API key\nhint: give --api-key KEY, set "
                "SWITCHBOARD_API_KEY, or add 'api_key = KEY' to the [%s] section of %s\n",
                name, path ? path : "~/.config/switchboard/config");
        goto out;
    }
    rc = 0;
out:
    free(path);
    return rc;
}
