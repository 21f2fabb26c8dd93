/* SPDX-License-Identifier: Apache-2.0 */
/* Prints the resolved user@host of a connection, from GET /connections/{name}/info: an example
 * of the client library (include/switchboard/client.h), built by `make examples`.
 *
 *     print_user_host URL API_KEY NAME
 *     SWITCHBOARD_URL=... SWITCHBOARD_API_KEY=... print_user_host NAME
 *
 * Exit codes as the switchboard CLI: 0 printed, 1 refused, 2 usage, 3 server unreachable. */
#include <stdio.h>
#include <stdlib.h>

#include <switchboard/client.h>

int main(int argc, char **argv)
{
    const char *url = getenv("SWITCHBOARD_URL"), *key = getenv("SWITCHBOARD_API_KEY"), *name;
    struct sbc_client *client = NULL;
    struct sbc_error err;
    json_t *info = NULL, *resolved;
    const char *user, *host;
    int rc = 1;

    if (argc == 4) {
        url = argv[1];
        key = argv[2];
        name = argv[3];
    } else if (argc == 2 && key) {
        name = argv[1];
    } else {
        fprintf(stderr,
                "usage: %s URL API_KEY NAME\n"
                "   or: SWITCHBOARD_API_KEY=... [SWITCHBOARD_URL=...] %s NAME\n",
                argv[0], argv[0]);
        return 2;
    }
    if (!url)
        url = "http://127.0.0.1:11200";
    if (sbc_global_init() != SBC_OK) {
        fputs("cannot initialise libcurl\n", stderr);
        return 1;
    }
    if (sbc_client_new(url, key, NULL, &client, &err) != SBC_OK ||
        sbc_connection_info(client, name, NULL, &info, &err) != SBC_OK) {
        fprintf(stderr, "%s: %s\n", err.error_type, err.message);
        rc = err.status == SBC_ERR_UNREACHABLE || err.status == SBC_ERR_TRANSPORT ? 3
             : err.status == SBC_ERR_ARGUMENT                                     ? 2
                                                                                  : 1;
        goto out;
    }
    /* resolvedParams: variables expanded, secrets decrypted; only user and host are used */
    resolved = json_object_get(info, "resolvedParams");
    user = json_string_value(json_object_get(resolved, "user"));
    host = json_string_value(json_object_get(resolved, "host"));
    if (!user || !host) {
        fprintf(stderr, "connection '%s' has no user and host\n", name);
        goto out;
    }
    printf("%s@%s\n", user, host);
    rc = 0;
out:
    json_decref(info);
    sbc_client_free(client);
    sbc_global_cleanup();
    return rc;
}
