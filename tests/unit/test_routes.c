/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/http/routes.c: percent-decoding and the matching of methods and raw paths
 * against the route table, without sockets. */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/err.h"
#include "http/console.h"
#include "http/routes.h"
#include "util/limits.h"

#define API "/dip/publicapi"

/* The outcome of one routes_match call; params are owned until match_free. */
struct match {
    enum route_result result;
    const struct route *route;
    char *params[SB_ROUTE_MAX_SEGMENTS];
    int n_params;
    char allow[128];
    struct sb_err err;
};

static void match(struct match *m, const char *method, const char *path)
{
    memset(m, 0, sizeof(*m));
    m->n_params = -1;
    sb_err_clear(&m->err);
    m->result = routes_match(method, path, &m->route, m->params, &m->n_params, m->allow,
                             sizeof(m->allow), &m->err);
}

static void match_free(struct match *m)
{
    if (m->result == ROUTE_FOUND)
        for (int i = 0; i < m->n_params; i++)
            free(m->params[i]);
}

static int setup_routes(void **state)
{
    (void)state;
    routes_init();
    return 0;
}

/* Decodes TEXT (as a C string) and returns the result; *LEN gets its length. */
static char *decode(const char *text, bool plus_is_space, size_t *len)
{
    *len = (size_t)-1;
    return routes_percent_decode(text, strlen(text), plus_is_space, len);
}

/* --- routes_percent_decode --- */

static void test_decode_copies_plain_text(void **state)
{
    size_t len;
    char *out = decode("plain-text_1.2~", false, &len);
    (void)state;

    assert_non_null(out);
    assert_string_equal(out, "plain-text_1.2~");
    assert_int_equal(len, 15);
    free(out);
}

static void test_decode_of_empty_input_is_empty_string(void **state)
{
    size_t len;
    char *out = decode("", false, &len);
    (void)state;

    assert_non_null(out);
    assert_string_equal(out, "");
    assert_int_equal(len, 0);
    free(out);
}

static void test_decode_turns_percent_2f_into_slash(void **state)
{
    size_t len;
    char *out = decode("a%2Fb", false, &len), *lower;
    (void)state;

    assert_non_null(out);
    assert_string_equal(out, "a/b");
    assert_int_equal(len, 3);
    lower = decode("a%2fb", false, &len);
    assert_non_null(lower);
    assert_string_equal(lower, "a/b");
    free(lower);
    free(out);
}

static void test_decode_turns_percent_41_into_letter(void **state)
{
    size_t len;
    char *out = decode("%41", false, &len);
    (void)state;

    assert_non_null(out);
    assert_string_equal(out, "A");
    assert_int_equal(len, 1);
    free(out);
}

static void test_decode_refuses_percent_with_one_hex_digit(void **state)
{
    size_t len;
    (void)state;

    assert_null(decode("%4", false, &len));
    assert_null(decode("ab%4", false, &len));
    assert_null(decode("%4G", false, &len));
}

static void test_decode_refuses_non_hex_digits(void **state)
{
    size_t len;
    (void)state;

    assert_null(decode("%ZZ", false, &len));
    assert_null(decode("x%zzy", false, &len));
    assert_null(decode("%G1", false, &len));
}

static void test_decode_refuses_trailing_percent(void **state)
{
    size_t len;
    (void)state;

    assert_null(decode("abc%", false, &len));
    assert_null(decode("%", false, &len));
}

static void test_decode_reads_only_the_given_length(void **state)
{
    size_t len = 0;
    char *out = routes_percent_decode("abc%41", 3, false, &len);
    (void)state;

    assert_non_null(out);
    assert_string_equal(out, "abc");
    assert_int_equal(len, 3);
    free(out);
    /* an escape cut by the length is malformed, even though the bytes after it are hex */
    assert_null(routes_percent_decode("%41", 2, false, &len));
}

static void test_decode_plus_is_space_only_when_asked(void **state)
{
    size_t len;
    char *spaced = decode("a+b+", true, &len), *kept;
    (void)state;

    assert_non_null(spaced);
    assert_string_equal(spaced, "a b ");
    assert_int_equal(len, 4);
    kept = decode("a+b+", false, &len);
    assert_non_null(kept);
    assert_string_equal(kept, "a+b+");
    assert_int_equal(len, 4);
    free(kept);
    free(spaced);
}

static void test_decode_percent_2b_is_plus_even_when_plus_is_space(void **state)
{
    size_t len;
    char *out = decode("a%2Bb", true, &len);
    (void)state;

    assert_non_null(out);
    assert_string_equal(out, "a+b");
    free(out);
}

static void test_decode_percent_00_gives_length_beyond_strlen(void **state)
{
    size_t len;
    char *out = decode("a%00b", false, &len);
    (void)state;

    assert_non_null(out);
    assert_int_equal(len, 3);
    assert_int_equal(strlen(out), 1);
    assert_true(len != strlen(out));
    assert_memory_equal(out, "a\0b", 4);
    free(out);
}

static void test_decode_high_bytes_pass_through(void **state)
{
    size_t len;
    char *out = decode("caf%C3%A9", false, &len);
    (void)state;

    assert_non_null(out);
    assert_string_equal(out, "caf\xc3\xa9");
    assert_int_equal(len, 5);
    free(out);
}

/* --- routes_match --- */

static void test_match_healthz(void **state)
{
    struct match m;
    (void)state;

    match(&m, "GET", "/healthz");
    assert_int_equal(m.result, ROUTE_FOUND);
    assert_non_null(m.route);
    assert_ptr_equal(m.route->handler, api_meta_healthz);
    assert_string_equal(m.route->method, "GET");
    assert_int_equal(m.route->access, ROUTE_PUBLIC);
    assert_int_equal(m.n_params, 0);
    match_free(&m);
}

static void test_match_connections_list_with_trailing_slash(void **state)
{
    struct match m;
    (void)state;

    match(&m, "GET", API "/admin/connections/");
    assert_int_equal(m.result, ROUTE_FOUND);
    assert_ptr_equal(m.route->handler, api_connections_list);
    assert_int_equal(m.route->access, ROUTE_ADMIN);
    assert_int_equal(m.n_params, 0);
    match_free(&m);
}

static void test_match_connections_list_without_trailing_slash(void **state)
{
    struct match m;
    (void)state;

    match(&m, "GET", API "/admin/connections");
    assert_int_equal(m.result, ROUTE_FOUND);
    assert_ptr_equal(m.route->handler, api_connections_list);
    assert_int_equal(m.n_params, 0);
    match_free(&m);
    match(&m, "POST", API "/admin/connections");
    assert_int_equal(m.result, ROUTE_FOUND);
    assert_ptr_equal(m.route->handler, api_connections_create);
    match_free(&m);
}

static void test_delete_on_connections_list_is_wrong_method_allowing_get_post(void **state)
{
    struct match m;
    (void)state;

    match(&m, "DELETE", API "/admin/connections/");
    assert_int_equal(m.result, ROUTE_WRONG_METHOD);
    assert_string_equal(m.allow, "GET, POST");
    match_free(&m);
    match(&m, "DELETE", API "/admin/connections");
    assert_int_equal(m.result, ROUTE_WRONG_METHOD);
    assert_string_equal(m.allow, "GET, POST");
    match_free(&m);
}

static void test_post_on_one_connection_is_wrong_method_listing_its_methods(void **state)
{
    struct match m;
    (void)state;

    match(&m, "POST", API "/admin/connections/pg-main");
    assert_int_equal(m.result, ROUTE_WRONG_METHOD);
    assert_non_null(strstr(m.allow, "GET"));
    assert_non_null(strstr(m.allow, "PUT"));
    assert_non_null(strstr(m.allow, "DELETE"));
    assert_null(strstr(m.allow, "POST"));
    match_free(&m);
}

static void test_match_one_connection_gives_name_param_for_each_method(void **state)
{
    static const struct {
        const char *method;
        void (*handler)(struct request *req);
    } cases[] = {
        {"GET", api_connections_get},
        {"PUT", api_connections_update},
        {"DELETE", api_connections_delete},
    };
    struct match m;
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        match(&m, cases[i].method, API "/admin/connections/pg-main");
        assert_int_equal(m.result, ROUTE_FOUND);
        assert_ptr_equal(m.route->handler, cases[i].handler);
        assert_int_equal(m.n_params, 1);
        assert_string_equal(m.params[0], "pg-main");
        match_free(&m);
    }
}

static void test_match_decodes_percent_2f_inside_name_param(void **state)
{
    struct match m;
    (void)state;

    match(&m, "GET", API "/admin/connections/a%2Fb");
    assert_int_equal(m.result, ROUTE_FOUND);
    assert_ptr_equal(m.route->handler, api_connections_get);
    assert_int_equal(m.n_params, 1);
    assert_string_equal(m.params[0], "a/b");
    match_free(&m);
}

static void test_match_keeps_plus_in_path_param(void **state)
{
    struct match m;
    (void)state;

    match(&m, "GET", API "/admin/connections/a+b");
    assert_int_equal(m.result, ROUTE_FOUND);
    assert_int_equal(m.n_params, 1);
    assert_string_equal(m.params[0], "a+b");
    match_free(&m);
}

static void test_unencoded_slash_in_name_is_not_found(void **state)
{
    struct match m;
    (void)state;

    match(&m, "GET", API "/admin/connections/a/b");
    assert_int_equal(m.result, ROUTE_NOT_FOUND);
    match_free(&m);
}

static void test_empty_name_segment_is_not_found(void **state)
{
    struct match m;
    (void)state;

    match(&m, "GET", API "/admin/connections//");
    assert_int_equal(m.result, ROUTE_NOT_FOUND);
    match_free(&m);
    match(&m, "GET", API "//admin/connections");
    assert_int_equal(m.result, ROUTE_NOT_FOUND);
    match_free(&m);
}

static void test_get_names_matches_its_literal_route_not_a_name_route(void **state)
{
    struct match m;
    (void)state;

    match(&m, "GET", API "/connections/get-names");
    assert_int_equal(m.result, ROUTE_FOUND);
    assert_ptr_equal(m.route->handler, api_connections_names);
    assert_string_equal(m.route->pattern, API "/connections/get-names");
    assert_int_equal(m.route->access, ROUTE_AUTH);
    assert_int_equal(m.n_params, 0);
    match_free(&m);
}

static void test_connection_named_get_names_still_reaches_its_info_route(void **state)
{
    struct match m;
    (void)state;

    match(&m, "GET", API "/connections/get-names/info");
    assert_int_equal(m.result, ROUTE_FOUND);
    assert_string_equal(m.route->pattern, API "/connections/{name}/info");
    assert_int_equal(m.n_params, 1);
    assert_string_equal(m.params[0], "get-names");
    match_free(&m);
}

static void test_match_global_key_by_id_gives_id_param(void **state)
{
    struct match m;
    (void)state;

    match(&m, "PUT", API "/admin/global-api-keys/0123456789abcdef");
    assert_int_equal(m.result, ROUTE_FOUND);
    assert_ptr_equal(m.route->handler, api_keys_global_update);
    assert_int_equal(m.n_params, 1);
    assert_string_equal(m.params[0], "0123456789abcdef");
    match_free(&m);
}

static void test_console_paths_are_routed(void **state)
{
    struct match m;
    (void)state;

    match(&m, "GET", "/");
    assert_int_equal(m.result, ROUTE_FOUND);
    assert_ptr_equal(m.route->handler, console_redirect);
    match_free(&m);
    match(&m, "GET", "/console/");
    assert_ptr_equal(m.route->handler, console_index);
    match_free(&m);
    match(&m, "GET", "/console/app.js");
    assert_ptr_equal(m.route->handler, console_file);
    assert_string_equal(m.params[0], "app.js");
    match_free(&m);
    match(&m, "GET", "/console/js/pages.js");
    assert_ptr_equal(m.route->handler, console_file_in_dir);
    match_free(&m);
    match(&m, "POST", "/console/app.js");
    assert_int_equal(m.result, ROUTE_WRONG_METHOD);
    match_free(&m);
    match(&m, "GET", "/console/a/b/c.js");
    assert_int_equal(m.result, ROUTE_NOT_FOUND);
    match_free(&m);
}

static void test_unknown_path_is_not_found(void **state)
{
    static const char *const paths[] = {
        "/nothing",
        API "/admin/unknown",
        API,
        "",
        "healthz",
        "/healthz/extra",
        API "/admin/connections/pg-main/extra",
    };
    struct match m;
    (void)state;

    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        match(&m, "GET", paths[i]);
        if (m.result != ROUTE_NOT_FOUND)
            fail_msg("path '%s': expected ROUTE_NOT_FOUND, got %d", paths[i], m.result);
        match_free(&m);
    }
}

static void test_literal_segments_are_case_sensitive(void **state)
{
    struct match m;
    (void)state;

    match(&m, "GET", "/HEALTHZ");
    assert_int_equal(m.result, ROUTE_NOT_FOUND);
    match_free(&m);
}

/* A literal pattern without the method does not hide a {param} pattern with it. */
static void test_literal_pattern_without_the_method_falls_back_to_a_parameter(void **state)
{
    struct match m;
    (void)state;

    match(&m, "POST", API "/projects/P/datasets/managed");
    assert_int_equal(m.result, ROUTE_FOUND);
    assert_ptr_equal(m.route->handler, api_datasets_create_managed);
    assert_int_equal(m.n_params, 1);
    match_free(&m);
    match(&m, "GET", API "/projects/P/datasets/managed");
    assert_int_equal(m.result, ROUTE_FOUND);
    assert_ptr_equal(m.route->handler, api_datasets_get);
    assert_int_equal(m.n_params, 2);
    assert_string_equal(m.params[1], "managed");
    match_free(&m);
    match(&m, "PATCH", API "/projects/P/datasets/managed");
    assert_int_equal(m.result, ROUTE_WRONG_METHOD);
    assert_non_null(strstr(m.allow, "POST"));
    match_free(&m);
}

static void test_percent_encoded_literal_segment_matches(void **state)
{
    struct match m;
    (void)state;

    match(&m, "GET", "/%68ealthz");
    assert_int_equal(m.result, ROUTE_FOUND);
    assert_ptr_equal(m.route->handler, api_meta_healthz);
    match_free(&m);
}

static void test_malformed_escape_in_path_is_bad_path(void **state)
{
    static const char *const paths[] = {
        API "/admin/connections/%zz", API "/admin/connections/%4",
        API "/admin/connections/a%",  "/%zz",
        API "/adm%zzin/connections",
    };
    struct match m;
    (void)state;

    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        match(&m, "GET", paths[i]);
        if (m.result != ROUTE_BAD_PATH)
            fail_msg("path '%s': expected ROUTE_BAD_PATH, got %d", paths[i], m.result);
        assert_int_equal(m.err.kind, SB_ERR_BAD_REQUEST);
        assert_true(m.err.msg[0] != '\0');
        match_free(&m);
    }
}

static void test_nul_byte_in_path_is_bad_path(void **state)
{
    static const char *const paths[] = {
        API "/admin/connections/%00",
        API "/admin/connections/a%00b",
        "/%00",
        "/healthz%00",
    };
    struct match m;
    (void)state;

    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        match(&m, "GET", paths[i]);
        if (m.result != ROUTE_BAD_PATH)
            fail_msg("path '%s': expected ROUTE_BAD_PATH, got %d", paths[i], m.result);
        assert_int_equal(m.err.kind, SB_ERR_BAD_REQUEST);
        assert_non_null(strstr(m.err.msg, "NUL"));
        match_free(&m);
    }
}

static void test_too_many_segments_is_not_found(void **state)
{
    char path[256] = "";
    struct match m;
    (void)state;

    /* routes.h: a path longer than any route is simply not found */
    for (int i = 0; i <= SB_ROUTE_MAX_SEGMENTS; i++)
        strcat(path, "/s");
    match(&m, "GET", path);
    assert_int_equal(m.result, ROUTE_NOT_FOUND);
    match_free(&m);
}

static void test_most_segments_allowed_is_merely_not_found(void **state)
{
    char path[256] = "";
    struct match m;
    (void)state;

    for (int i = 0; i < SB_ROUTE_MAX_SEGMENTS; i++)
        strcat(path, "/s");
    strcat(path, "/");
    match(&m, "GET", path);
    assert_int_equal(m.result, ROUTE_NOT_FOUND);
    match_free(&m);
}

static void test_head_is_matched_as_get(void **state)
{
    struct match m;
    (void)state;

    match(&m, "HEAD", "/healthz");
    assert_int_equal(m.result, ROUTE_FOUND);
    assert_ptr_equal(m.route->handler, api_meta_healthz);
    match_free(&m);
    match(&m, "HEAD", API "/admin/connections/a%2Fb");
    assert_int_equal(m.result, ROUTE_FOUND);
    assert_ptr_equal(m.route->handler, api_connections_get);
    assert_int_equal(m.n_params, 1);
    assert_string_equal(m.params[0], "a/b");
    match_free(&m);
}

static void test_methods_are_case_sensitive(void **state)
{
    struct match m;
    (void)state;

    match(&m, "get", "/healthz");
    assert_int_equal(m.result, ROUTE_WRONG_METHOD);
    assert_string_equal(m.allow, "GET");
    match_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_copies_plain_text),
        cmocka_unit_test(test_decode_of_empty_input_is_empty_string),
        cmocka_unit_test(test_decode_turns_percent_2f_into_slash),
        cmocka_unit_test(test_decode_turns_percent_41_into_letter),
        cmocka_unit_test(test_decode_refuses_percent_with_one_hex_digit),
        cmocka_unit_test(test_decode_refuses_non_hex_digits),
        cmocka_unit_test(test_decode_refuses_trailing_percent),
        cmocka_unit_test(test_decode_reads_only_the_given_length),
        cmocka_unit_test(test_decode_plus_is_space_only_when_asked),
        cmocka_unit_test(test_decode_percent_2b_is_plus_even_when_plus_is_space),
        cmocka_unit_test(test_decode_percent_00_gives_length_beyond_strlen),
        cmocka_unit_test(test_decode_high_bytes_pass_through),
        cmocka_unit_test(test_match_healthz),
        cmocka_unit_test(test_match_connections_list_with_trailing_slash),
        cmocka_unit_test(test_match_connections_list_without_trailing_slash),
        cmocka_unit_test(test_delete_on_connections_list_is_wrong_method_allowing_get_post),
        cmocka_unit_test(test_post_on_one_connection_is_wrong_method_listing_its_methods),
        cmocka_unit_test(test_match_one_connection_gives_name_param_for_each_method),
        cmocka_unit_test(test_match_decodes_percent_2f_inside_name_param),
        cmocka_unit_test(test_match_keeps_plus_in_path_param),
        cmocka_unit_test(test_unencoded_slash_in_name_is_not_found),
        cmocka_unit_test(test_empty_name_segment_is_not_found),
        cmocka_unit_test(test_get_names_matches_its_literal_route_not_a_name_route),
        cmocka_unit_test(test_connection_named_get_names_still_reaches_its_info_route),
        cmocka_unit_test(test_match_global_key_by_id_gives_id_param),
        cmocka_unit_test(test_console_paths_are_routed),
        cmocka_unit_test(test_unknown_path_is_not_found),
        cmocka_unit_test(test_literal_segments_are_case_sensitive),
        cmocka_unit_test(test_literal_pattern_without_the_method_falls_back_to_a_parameter),
        cmocka_unit_test(test_percent_encoded_literal_segment_matches),
        cmocka_unit_test(test_malformed_escape_in_path_is_bad_path),
        cmocka_unit_test(test_nul_byte_in_path_is_bad_path),
        cmocka_unit_test(test_too_many_segments_is_not_found),
        cmocka_unit_test(test_most_segments_allowed_is_merely_not_found),
        cmocka_unit_test(test_head_is_matched_as_get),
        cmocka_unit_test(test_methods_are_case_sensitive),
    };
    return cmocka_run_group_tests(tests, setup_routes, NULL);
}
