/* SPDX-License-Identifier: Apache-2.0 */
/* The PostgreSQL store: several nodes on one database (issue 9). Not built yet. */
#include "store/store.h"

struct store *store_pg_open(const char *url, struct sb_err *err)
{
    (void)url;
    sb_err_set(err, SB_ERR_UNAVAILABLE, "This build has no PostgreSQL store yet.");
    return NULL;
}
