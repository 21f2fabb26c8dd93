/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of src/http/proxy.c: which address X-Forwarded-For gives behind trusted proxies
 * (the rightmost hop that is not a trusted proxy, never a hop a client could write when the
 * connection does not come from a trusted proxy), and the count of requests per address. */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "http/proxy.h"

static struct sockaddr_storage peer4(const char *ip)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    memset(&ss, 0, sizeof(ss));
    in->sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, ip, &in->sin_addr), 1);
    return ss;
}

static struct sockaddr_storage peer6(const char *ip)
{
    struct sockaddr_storage ss;
    struct sockaddr_in6 *in = (struct sockaddr_in6 *)&ss;
    memset(&ss, 0, sizeof(ss));
    in->sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, ip, &in->sin6_addr), 1);
    return ss;
}

/* The client address of a request from PEER carrying XFF, with TRUSTED proxies. */
static const char *client(const char *trusted, struct sockaddr_storage peer, const char *xff)
{
    static char out[64];
    struct trusted_proxies tp;
    struct sb_err err;

    assert_int_equal(proxies_parse(trusted, &tp, &err), SB_OK);
    proxies_client_addr(&tp, (struct sockaddr *)&peer, xff, out, sizeof(out));
    return out;
}

static void test_without_trusted_proxies_the_peer_is_the_client(void **state)
{
    (void)state;
    assert_string_equal(client("", peer4("127.0.0.1"), "203.0.113.9"), "127.0.0.1");
    assert_string_equal(client("", peer4("127.0.0.1"), NULL), "127.0.0.1");
}

static void test_header_from_an_untrusted_peer_is_ignored(void **state)
{
    (void)state;
    assert_string_equal(client("10.0.0.0/8", peer4("127.0.0.3"), "203.0.113.9"), "127.0.0.3");
}

static void test_trusted_proxy_gives_the_rightmost_untrusted_hop(void **state)
{
    (void)state;
    assert_string_equal(client("127.0.0.2", peer4("127.0.0.2"), "203.0.113.9"), "203.0.113.9");
    /* the client wrote 1.1.1.1 itself; 10.0.0.2 is a second trusted proxy */
    assert_string_equal(
        client("127.0.0.2,10.0.0.0/8", peer4("127.0.0.2"), "1.1.1.1, 203.0.113.9, 10.0.0.2"),
        "203.0.113.9");
    assert_string_equal(client("127.0.0.2", peer4("127.0.0.2"), "1.1.1.1,203.0.113.9 "),
                        "203.0.113.9");
}

static void test_only_trusted_hops_give_the_leftmost(void **state)
{
    (void)state;
    assert_string_equal(client("127.0.0.0/8", peer4("127.0.0.2"), "127.0.0.5, 127.0.0.4"),
                        "127.0.0.5");
}

static void test_garbage_hop_stops_at_the_last_address_vouched_for(void **state)
{
    (void)state;
    assert_string_equal(client("127.0.0.2", peer4("127.0.0.2"), "203.0.113.9, unknown"),
                        "127.0.0.2");
    assert_string_equal(client("127.0.0.2", peer4("127.0.0.2"), "evil\r\nx, 203.0.113.9"),
                        "203.0.113.9");
    assert_string_equal(client("127.0.0.2", peer4("127.0.0.2"), ""), "127.0.0.2");
    assert_string_equal(client("127.0.0.2", peer4("127.0.0.2"), ",,"), "127.0.0.2");
}

static void test_ipv6_brackets_ports_and_mapped_addresses(void **state)
{
    (void)state;
    assert_string_equal(client("::1", peer6("::1"), "2001:db8::7"), "2001:db8::7");
    assert_string_equal(client("::1", peer6("::1"), "[2001:db8::7]"), "2001:db8::7");
    assert_string_equal(client("::1", peer6("::1"), "198.51.100.4:5123"), "198.51.100.4");
    /* an IPv4-mapped peer is matched as IPv4 */
    assert_string_equal(client("127.0.0.2", peer6("::ffff:127.0.0.2"), "198.51.100.4"),
                        "198.51.100.4");
}

static void test_prefixes_are_matched_bit_by_bit(void **state)
{
    (void)state;
    assert_string_equal(client("192.0.2.128/25", peer4("192.0.2.200"), "198.51.100.1"),
                        "198.51.100.1");
    assert_string_equal(client("192.0.2.128/25", peer4("192.0.2.100"), "198.51.100.1"),
                        "192.0.2.100");
}

static void test_bad_cidr_is_refused(void **state)
{
    struct trusted_proxies tp;
    struct sb_err err;
    (void)state;
    assert_int_not_equal(proxies_parse("10.0.0.0/33", &tp, &err), SB_OK);
    assert_int_not_equal(proxies_parse("not-an-address", &tp, &err), SB_OK);
}

static void test_requests_in_flight_are_counted_per_address(void **state)
{
    (void)state;
    assert_true(proxies_enter("198.51.100.20", 2));
    assert_true(proxies_enter("198.51.100.20", 2));
    assert_false(proxies_enter("198.51.100.20", 2));
    assert_true(proxies_enter("198.51.100.21", 2)); /* another address has its own count */
    proxies_leave("198.51.100.20");
    assert_true(proxies_enter("198.51.100.20", 2));
    proxies_leave("198.51.100.20");
    proxies_leave("198.51.100.20");
    proxies_leave("198.51.100.21");
    assert_true(proxies_enter("198.51.100.20", 1));
    proxies_leave("198.51.100.20");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_without_trusted_proxies_the_peer_is_the_client),
        cmocka_unit_test(test_header_from_an_untrusted_peer_is_ignored),
        cmocka_unit_test(test_trusted_proxy_gives_the_rightmost_untrusted_hop),
        cmocka_unit_test(test_only_trusted_hops_give_the_leftmost),
        cmocka_unit_test(test_garbage_hop_stops_at_the_last_address_vouched_for),
        cmocka_unit_test(test_ipv6_brackets_ports_and_mapped_addresses),
        cmocka_unit_test(test_prefixes_are_matched_bit_by_bit),
        cmocka_unit_test(test_bad_cidr_is_refused),
        cmocka_unit_test(test_requests_in_flight_are_counted_per_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
