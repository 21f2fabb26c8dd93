/* SPDX-License-Identifier: Apache-2.0 */
/* The type registry. Param names are the ones DSS uses, so that definitions exported from DSS
 * and scripts written against it keep working. Defaults are strings, as DSS stores them. Every
 * param marked secret here must be a secret name in src/core/secrets.c (a unit test checks). */
#include <stdio.h>
#include <string.h>

#include "core/types.h"
#include "util/mem.h"

#define REQ(n)                                                                                     \
    {                                                                                              \
        n, true, false, NULL                                                                       \
    }
#define OPT(n)                                                                                     \
    {                                                                                              \
        n, false, false, NULL                                                                      \
    }
#define DEF(n, d)                                                                                  \
    {                                                                                              \
        n, false, false, d                                                                         \
    }
#define SECRET(n)                                                                                  \
    {                                                                                              \
        n, false, true, NULL                                                                       \
    }
#define END                                                                                        \
    {                                                                                              \
        NULL, false, false, NULL                                                                   \
    }

/* host, port, db, user, password, properties: the SQL shape */
#define SQL_PARAMS(port)                                                                           \
    REQ("host"), DEF("port", port), OPT("db"), OPT("user"), SECRET("password"), OPT("properties"), \
        END

static const struct type_param fs_params[] = {REQ("root"), END};
static const struct type_param hdfs_params[] = {REQ("root"), OPT("database"), OPT("hadoopConf"),
                                                END};
static const struct type_param pg_params[] = {SQL_PARAMS("5432")};
static const struct type_param mysql_params[] = {SQL_PARAMS("3306")};
static const struct type_param sqlserver_params[] = {SQL_PARAMS("1433")};
static const struct type_param oracle_params[] = {SQL_PARAMS("1521")};
static const struct type_param redshift_params[] = {SQL_PARAMS("5439")};
static const struct type_param greenplum_params[] = {SQL_PARAMS("5432")};
static const struct type_param vertica_params[] = {SQL_PARAMS("5433")};
static const struct type_param teradata_params[] = {SQL_PARAMS("1025")};
static const struct type_param snowflake_params[] = {REQ("host"),          OPT("db"),
                                                     OPT("warehouse"),     OPT("role"),
                                                     OPT("user"),          SECRET("password"),
                                                     SECRET("privateKey"), SECRET("passphrase"),
                                                     OPT("properties"),    END};
static const struct type_param bigquery_params[] = {REQ("projectId"), OPT("defaultDataset"),
                                                    SECRET("privateKey"), OPT("properties"), END};
static const struct type_param databricks_params[] = {REQ("host"),
                                                      DEF("port", "443"),
                                                      REQ("httpPath"),
                                                      OPT("catalog"),
                                                      SECRET("token"),
                                                      OPT("properties"),
                                                      END};
static const struct type_param ec2_params[] = {OPT("bucket"),
                                               OPT("region"),
                                               OPT("accessKey"),
                                               SECRET("secretKey"),
                                               SECRET("sessionToken"),
                                               OPT("endpoint"),
                                               OPT("metastoreSynchronizationMode"),
                                               END};
static const struct type_param azure_params[] = {
    REQ("storageAccount"), OPT("container"), SECRET("accountKey"),   SECRET("sasToken"),
    OPT("tenantId"),       OPT("clientId"),  SECRET("clientSecret"), END};
static const struct type_param gcs_params[] = {REQ("projectId"), OPT("bucket"),
                                               SECRET("privateKey"), END};
static const struct type_param ftp_params[] = {REQ("host"),        DEF("port", "21"), OPT("user"),
                                               SECRET("password"), OPT("root"),       END};
static const struct type_param sftp_params[] = {
    REQ("host"),          DEF("port", "22"),    OPT("user"), SECRET("password"),
    SECRET("privateKey"), SECRET("passphrase"), OPT("root"), END};
static const struct type_param http_params[] = {REQ("url"), OPT("user"), SECRET("password"),
                                                SECRET("token"), END};
static const struct type_param mongo_params[] = {
    REQ("host"),        DEF("port", "27017"), OPT("db"),         OPT("user"),
    SECRET("password"), OPT("authSource"),    OPT("properties"), END};
static const struct type_param cassandra_params[] = {
    REQ("hosts"), DEF("port", "9042"), OPT("keyspace"), OPT("user"), SECRET("password"), END};
static const struct type_param elastic_params[] = {
    REQ("host"), DEF("port", "9200"), DEF("protocol", "http"),
    OPT("user"), SECRET("password"),  SECRET("apiKey"),
    END};
static const struct type_param kafka_params[] = {
    REQ("bootstrapServers"), OPT("securityProtocol"), OPT("user"),
    SECRET("password"),      OPT("properties"),       END};

static const struct conn_type types[] = {
    {"Filesystem", fs_params, TYPE_CREDENTIAL_NONE, TESTER_FS, NULL},
    {"HDFS", hdfs_params, TYPE_CREDENTIAL_NONE, TESTER_NONE, NULL},
    {"PostgreSQL", pg_params, TYPE_CREDENTIAL_BASIC, TESTER_PG, NULL},
    {"MySql", mysql_params, TYPE_CREDENTIAL_BASIC, TESTER_MYSQL, NULL},
    {"SQLServer", sqlserver_params, TYPE_CREDENTIAL_BASIC, TESTER_NONE, NULL},
    {"Oracle", oracle_params, TYPE_CREDENTIAL_BASIC, TESTER_NONE, NULL},
    {"Snowflake", snowflake_params, TYPE_CREDENTIAL_BASIC, TESTER_NONE, NULL},
    {"Redshift", redshift_params, TYPE_CREDENTIAL_BASIC, TESTER_PG, NULL},
    {"BigQuery", bigquery_params, TYPE_CREDENTIAL_NONE, TESTER_NONE, NULL},
    {"Greenplum", greenplum_params, TYPE_CREDENTIAL_BASIC, TESTER_PG, NULL},
    {"Vertica", vertica_params, TYPE_CREDENTIAL_BASIC, TESTER_NONE, NULL},
    {"Teradata", teradata_params, TYPE_CREDENTIAL_BASIC, TESTER_NONE, NULL},
    {"Databricks", databricks_params, TYPE_CREDENTIAL_NONE, TESTER_NONE, NULL},
    {"EC2", ec2_params, TYPE_CREDENTIAL_AWS, TESTER_NONE, NULL},
    {"Azure", azure_params, TYPE_CREDENTIAL_NONE, TESTER_NONE, NULL},
    {"GCS", gcs_params, TYPE_CREDENTIAL_NONE, TESTER_NONE, NULL},
    {"FTP", ftp_params, TYPE_CREDENTIAL_BASIC, TESTER_CURL, "ftp"},
    {"SFTP", sftp_params, TYPE_CREDENTIAL_BASIC, TESTER_CURL, "sftp"},
    {"HTTP", http_params, TYPE_CREDENTIAL_BASIC, TESTER_CURL, "http"},
    {"MongoDB", mongo_params, TYPE_CREDENTIAL_BASIC, TESTER_NONE, NULL},
    {"Cassandra", cassandra_params, TYPE_CREDENTIAL_BASIC, TESTER_NONE, NULL},
    {"ElasticSearch", elastic_params, TYPE_CREDENTIAL_BASIC, TESTER_NONE, NULL},
    {"Kafka", kafka_params, TYPE_CREDENTIAL_NONE, TESTER_NONE, NULL},
};

#define N_TYPES ((int)(sizeof(types) / sizeof(types[0])))

int types_count(void)
{
    return N_TYPES;
}

const struct conn_type *types_at(int i)
{
    return &types[i];
}

const struct conn_type *types_find(const char *name)
{
    if (!name)
        return NULL;
    for (int i = 0; i < N_TYPES; i++)
        if (strcmp(types[i].name, name) == 0)
            return &types[i];
    return NULL;
}

enum sb_err_kind types_unknown(const char *name, struct sb_err *err)
{
    char list[SB_ERR_MSG_MAX - 128] = "", echo[SB_ECHO_MAX + 4];

    for (int i = 0; i < N_TYPES; i++) {
        if (i)
            strncat(list, ", ", sizeof(list) - strlen(list) - 1);
        strncat(list, types[i].name, sizeof(list) - strlen(list) - 1);
    }
    sb_err_echo(echo, sizeof(echo), name);
    return sb_err_set(err, SB_ERR_BAD_REQUEST,
                      "Field 'type' names an unknown connection type '%s'; known types: %s.", echo,
                      list);
}

/* A string with something other than blanks in it. */
static bool has_text(const json_t *v)
{
    const char *s = json_string_value(v);
    return s && s[strspn(s, " \t\r\n")] != '\0';
}

enum sb_err_kind types_apply(const struct conn_type *type, json_t *params, struct sb_err *err)
{
    /* check everything first, so that a refused body is left as it was */
    for (const struct type_param *p = type->params; p->name; p++)
        if (p->required && !has_text(json_object_get(params, p->name)))
            return sb_err_set(err, SB_ERR_BAD_REQUEST,
                              "Field 'params.%s' is required for a %s connection (a non-empty "
                              "string).",
                              p->name, type->name);
    types_apply_defaults(type, params);
    return SB_OK;
}

void types_apply_defaults(const struct conn_type *type, json_t *params)
{
    for (const struct type_param *p = type->params; p->name; p++) {
        json_t *v = json_object_get(params, p->name);
        if (p->def && (!v || json_is_null(v)))
            json_object_set_new(params, p->name, xcheck(json_string(p->def)));
    }
}

json_t *types_missing(const struct conn_type *type, const json_t *params)
{
    json_t *missing = xcheck(json_array());

    for (const struct type_param *p = type->params; p->name; p++)
        if (p->required && !has_text(json_object_get(params, p->name)))
            json_array_append_new(missing, xcheck(json_string(p->name)));
    return missing;
}

static const char *credential_name(enum type_credential c)
{
    return c == TYPE_CREDENTIAL_BASIC ? "basic" : c == TYPE_CREDENTIAL_AWS ? "aws" : "none";
}

json_t *types_registry_json(void)
{
    json_t *all = xcheck(json_array());

    for (int i = 0; i < N_TYPES; i++) {
        json_t *params = xcheck(json_array());
        for (const struct type_param *p = types[i].params; p->name; p++)
            json_array_append_new(
                params, xcheck(json_pack("{s:s, s:b, s:b, s:s?}", "name", p->name, "required",
                                         p->required, "secret", p->secret, "default", p->def)));
        json_array_append_new(
            all, xcheck(json_pack("{s:s, s:o, s:s, s:b}", "type", types[i].name, "params", params,
                                  "credential", credential_name(types[i].credential), "testable",
                                  types[i].tester != TESTER_NONE)));
    }
    return all;
}
