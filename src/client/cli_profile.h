/* SPDX-License-Identifier: Apache-2.0 */
/* Where the CLI finds its server and key: --url/--api-key, else SWITCHBOARD_URL and
 * SWITCHBOARD_API_KEY, else a profile of ~/.config/switchboard/config (`key = value` lines in
 * [profile] sections; --profile NAME, default "default"), else the default URL. */
#ifndef SB_CLI_PROFILE_H
#define SB_CLI_PROFILE_H

#include <stdbool.h>
#include <stdio.h>

#include "client/cli.h"

struct cli_profile {
    bool found; /* the section exists */
    char *url, *api_key, *ca_file;
    int insecure; /* -1: not set, else 0 or 1 */
};

/* What a command connects with. Strings borrowed from the args, the environment or the
 * profile they came from. */
struct cli_settings {
    const char *url, *api_key, *ca_file;
    bool insecure;
    const char *url_origin, *key_origin; /* "--url", "SWITCHBOARD_URL", "profile 'x'"... */
};

/* $HOME/.config/switchboard/config. Caller frees; NULL when HOME is not set. */
char *cli_profile_path(void);

/* Reads section NAME of the file at PATH into P. A missing file or section leaves P->found
 * false and returns 0; a malformed file prints "switchboard: FILE:LINE: ..." and a hint on
 * ERRS and returns -1. Strings in P are owned by P: release with cli_profile_free. */
int cli_profile_read(const char *path, const char *name, struct cli_profile *p, FILE *errs);
void cli_profile_free(struct cli_profile *p);

/* Resolves the settings of A (flag > environment > profile > default) into S, reading the
 * profile file into P (released by the caller with cli_profile_free). NEED_KEY: a missing API
 * key is an error. Returns 0, or CLI_EXIT_USAGE after a message and a hint on ERRS. */
int cli_profile_resolve(const struct cli_args *a, bool need_key, struct cli_profile *p,
                        struct cli_settings *s, FILE *errs);

#endif
