/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the handlers of src/api/. */
#include <stdlib.h>

#include "api/common.h"
#include "core/conn.h"
#include "http/request.h"
#include "sync/sync.h"

const char *api_conn_name_or_reply(struct request *req)
{
    const char *name = req_param(req, 0);
    struct sb_err err;

    if (conn_validate_name(name, &err))
        return name;
    reply_error(req, &err);
    return NULL;
}

bool api_catalog_ready_or_reply(struct request *req)
{
    if (sync_catalog_ready(req->app->sync))
        return true;
    reply_errorf(req, SB_ERR_UNAVAILABLE,
                 "This node is resynchronising with the store; try "
                 "again in a moment.");
    return false;
}
