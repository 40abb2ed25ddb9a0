/*
 * test_client.c — the client address (client.h): address forms, IPv6 per
 * /64, IPv4-mapped IPv6, trusted proxy blocks and their validation, and
 * X-Forwarded-For read from the right: forged entries on the left, malformed
 * entries, chains of proxies, and XFF ignored without trusted proxies.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "jwtx/client.h"
#include "cu.h"

static void test_ip_parse(void)
{
    static const struct {
        const char *in;
        const char *want; /* normalised, NULL = refused */
    } rows[] = {
        {"192.0.2.1", "192.0.2.1"},
        {" 192.0.2.1\t", "192.0.2.1"},
        {"192.0.2.1:8080", "192.0.2.1"},
        {"2001:db8::1", "2001:db8::1"},
        {"2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
        {"[2001:db8::1]", "2001:db8::1"},
        {"[2001:db8::1]:443", "2001:db8::1"},
        {"::ffff:192.0.2.1", "192.0.2.1"},
        {"::FFFF:c000:0201", "192.0.2.1"},
        {"[::ffff:192.0.2.1]:80", "192.0.2.1"},
        {"::1", "::1"},
        {"::", "::"},
        {"", NULL},
        {" ", NULL},
        {"unknown", NULL},
        {"192.0.2", NULL},
        {"192.0.2.256", NULL},
        {"192.0.2.1.5", NULL},
        {"010.0.0.1", NULL}, /* octal-looking: refused, not read as 8.0.0.1 */
        {"0x7f.0.0.1", NULL},
        {"192.0.2.1:", NULL},
        {"192.0.2.1:99999", NULL},
        {"192.0.2.1:80:80", NULL},
        {"fe80::1%eth0", NULL},
        {"[192.0.2.1]", NULL},
        {"[2001:db8::1", NULL},
        {"[2001:db8::1]x", NULL},
        {"[2001:db8::1]:", NULL},
        {"2001:db8::1:443x", NULL},
        {"1.2.3.4 5.6.7.8", NULL},
        {"_hidden", NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        jwtx_netblock ip;
        int rc = jwtx_client_ip_parse(rows[i].in, strlen(rows[i].in), &ip);
        if ((rc == 0) != (rows[i].want != NULL))
            fprintf(stderr, "\n  row %zu [%s]: rc %d\n", i, rows[i].in, rc);
        CU_ASSERT_EQUAL(rc == 0, rows[i].want != NULL);
        if (rc == 0 && rows[i].want != NULL) {
            char t[80];
            JWTX_ASSERT_STR(jwtx_client_netblock_format(&ip, t, sizeof t), rows[i].want);
        }
    }
    jwtx_netblock ip;
    CU_ASSERT_EQUAL(jwtx_client_ip_parse(NULL, 0, &ip), -1);
    /* counted: the bytes after len are not read */
    CU_ASSERT_EQUAL(jwtx_client_ip_parse("10.0.0.1, 10.0.0.2", 8, &ip), 0);
}

static void test_netblock_parse(void)
{
    static const struct {
        const char *in;
        const char *want; /* normalised, or the start of the reason */
        bool ok;
    } rows[] = {
        {"127.0.0.1", "127.0.0.1", true},
        {"10.0.0.0/8", "10.0.0.0/8", true},
        {"0.0.0.0/0", "0.0.0.0/0", true},
        {"192.168.1.0/24", "192.168.1.0/24", true},
        {"::1", "::1", true},
        {"2001:db8::/32", "2001:db8::/32", true},
        {"::/0", "::/0", true},
        {"::ffff:10.0.0.0/104", "10.0.0.0/8", true},
        {"::ffff:10.1.2.3", "10.1.2.3", true},
        {"10.0.0.1/8", "\"10.0.0.1/8\" has bits set after the prefix (did you mean 10.0.0.0/8?)",
         false},
        {"2001:db8::1/32",
         "\"2001:db8::1/32\" has bits set after the prefix (did you mean 2001:db8::/32?)", false},
        {"10.0.0.0/33", "\"10.0.0.0/33\": the prefix length must be 0 to 32", false},
        {"::/129", "\"::/129\": the prefix length must be 0 to 128", false},
        {"10.0.0.0/", "\"10.0.0.0/\": the prefix length must be 0 to 32", false},
        {"10.0.0.0/08", "\"10.0.0.0/08\": the prefix length must be 0 to 32", false},
        {"10.0.0.0/8x", "\"10.0.0.0/8x\": the prefix length must be 0 to 32", false},
        {"10.0.0.0/-1", "\"10.0.0.0/-1\": the prefix length must be 0 to 32", false},
        {"localhost", "\"localhost\" is not an IP address or CIDR block", false},
        {"", "\"\" is not an IP address or CIDR block", false},
        {"/8", "\"/8\" is not an IP address or CIDR block", false},
        {"10.0.0.0 /8", "\"10.0.0.0 /8\" is not an IP address or CIDR block", false},
        {"[::1]", "\"[::1]\" is not an IP address or CIDR block", false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        jwtx_netblock b;
        char why[160] = "";
        int rc = jwtx_client_netblock_parse(rows[i].in, &b, why, sizeof why);
        CU_ASSERT_EQUAL(rc == 0, rows[i].ok);
        if (rc == 0) {
            char t[80];
            JWTX_ASSERT_STR(jwtx_client_netblock_format(&b, t, sizeof t), rows[i].want);
        } else {
            JWTX_ASSERT_STR(why, rows[i].want);
        }
    }
}

static void test_contains(void)
{
    static const struct {
        const char *block, *ip;
        bool in;
    } rows[] = {
        {"10.0.0.0/8", "10.255.1.2", true},
        {"10.0.0.0/8", "11.0.0.0", false},
        {"192.168.1.128/25", "192.168.1.200", true},
        {"192.168.1.128/25", "192.168.1.127", false},
        {"127.0.0.1", "127.0.0.1", true},
        {"127.0.0.1", "127.0.0.2", false},
        {"127.0.0.1", "::ffff:127.0.0.1", true}, /* mapped = IPv4 */
        {"0.0.0.0/0", "203.0.113.9", true},
        {"0.0.0.0/0", "2001:db8::1", false},
        {"::1", "::1", true},
        {"::1", "127.0.0.1", false},
        {"2001:db8::/32", "2001:db8:ffff::1", true},
        {"2001:db8::/33", "2001:db8:8000::1", false},
        {"::/0", "2001:db8::1", true},
        {"::/0", "192.0.2.1", false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        jwtx_netblock b, ip;
        char why[160];
        CU_ASSERT_EQUAL_FATAL(jwtx_client_netblock_parse(rows[i].block, &b, why, sizeof why), 0);
        CU_ASSERT_EQUAL_FATAL(jwtx_client_ip_parse(rows[i].ip, strlen(rows[i].ip), &ip), 0);
        CU_ASSERT_EQUAL(jwtx_client_netblock_contains(&b, &ip), rows[i].in);
    }
}

/* The key for REMOTE_ADDR ra and X-Forwarded-For xff (NULL = absent). */
static const char *key(const char *ra, const char *xff, const char *const *proxies, char *out)
{
    jwtx_netblock t[8];
    size_t n = 0;
    for (; proxies != NULL && proxies[n] != NULL; n++) {
        char why[160];
        if (jwtx_client_netblock_parse(proxies[n], &t[n], why, sizeof why) != 0)
            return "bad proxy";
    }
    jwtx_request req;
    if (jwtx_request_init(&req) != 0)
        return "init";
    if (ra != NULL)
        jwtx_request_set_param(&req, "REMOTE_ADDR", ra);
    if (xff != NULL)
        jwtx_request_set_param(&req, "HTTP_X_FORWARDED_FOR", xff);
    jwtx_client_address(&req, t, n, out);
    jwtx_request_clear(&req);
    return out;
}

static void test_address_direct(void)
{
    char out[JWTX_CLIENT_ADDR_MAX];
    JWTX_ASSERT_STR(key("192.0.2.1", NULL, NULL, out), "192.0.2.1");
    JWTX_ASSERT_STR(key("::ffff:192.0.2.1", NULL, NULL, out), "192.0.2.1");
    /* IPv6 per /64: two addresses of one /64 share a key, the next /64 not */
    JWTX_ASSERT_STR(key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", NULL, NULL, out), "2001:db8:1:2::/64");
    JWTX_ASSERT_STR(key("2001:db8:1:2::1", NULL, NULL, out), "2001:db8:1:2::/64");
    JWTX_ASSERT_STR(key("2001:db8:1:3::1", NULL, NULL, out), "2001:db8:1:3::/64");
    JWTX_ASSERT_STR(key("::1", NULL, NULL, out), "::/64");
    JWTX_ASSERT_STR(key(NULL, NULL, NULL, out), JWTX_CLIENT_UNKNOWN);
    JWTX_ASSERT_STR(key("", NULL, NULL, out), JWTX_CLIENT_UNKNOWN);
    JWTX_ASSERT_STR(key("not an address", NULL, NULL, out), JWTX_CLIENT_UNKNOWN);
    /* without trusted proxies X-Forwarded-For is never read */
    JWTX_ASSERT_STR(key("203.0.113.5", "198.51.100.1", NULL, out), "203.0.113.5");
    JWTX_ASSERT_STR(key("127.0.0.1", "198.51.100.1", NULL, out), "127.0.0.1");
}

static void test_address_proxies(void)
{
    static const char *const px[] = {"127.0.0.1", "10.0.0.0/8", "::1", "2001:db8:ffff::/48", NULL};
    char out[JWTX_CLIENT_ADDR_MAX];
    /* one proxy, one client */
    JWTX_ASSERT_STR(key("127.0.0.1", "198.51.100.1", px, out), "198.51.100.1");
    JWTX_ASSERT_STR(key("::ffff:127.0.0.1", "198.51.100.1", px, out), "198.51.100.1");
    JWTX_ASSERT_STR(key("::1", "2001:db8:5:6::7", px, out), "2001:db8:5:6::/64");
    /* a direct client (not a proxy): its XFF is its own invention */
    JWTX_ASSERT_STR(key("203.0.113.5", "198.51.100.1", px, out), "203.0.113.5");
    /* forgery: the client sent its own XFF, our proxy appended the peer */
    JWTX_ASSERT_STR(key("127.0.0.1", "6.6.6.6, 198.51.100.1", px, out), "198.51.100.1");
    JWTX_ASSERT_STR(key("127.0.0.1", "10.0.0.9, 198.51.100.1", px, out), "198.51.100.1");
    JWTX_ASSERT_STR(key("127.0.0.1", "garbage, 198.51.100.1", px, out), "198.51.100.1");
    JWTX_ASSERT_STR(key("127.0.0.1", "6.6.6.6,198.51.100.1,10.1.1.1", px, out), "198.51.100.1");
    /* a chain of trusted proxies: the first untrusted from the right */
    JWTX_ASSERT_STR(key("10.0.0.2", "198.51.100.1, 10.0.0.3, 10.0.0.4", px, out), "198.51.100.1");
    JWTX_ASSERT_STR(key("10.0.0.2", "198.51.100.1, 2001:db8:ffff::9, ::1", px, out),
                    "198.51.100.1");
    /* every hop trusted: the left-most is the client (an internal host) */
    JWTX_ASSERT_STR(key("127.0.0.1", "10.0.0.7, 10.0.0.8", px, out), "10.0.0.7");
    /* no or an empty XFF from a proxy: the proxy is the client */
    JWTX_ASSERT_STR(key("127.0.0.1", NULL, px, out), "127.0.0.1");
    JWTX_ASSERT_STR(key("127.0.0.1", "", px, out), "127.0.0.1");
    /* a malformed entry where a trusted hop wrote: stop at that hop */
    JWTX_ASSERT_STR(key("127.0.0.1", "198.51.100.1, bogus", px, out), "127.0.0.1");
    JWTX_ASSERT_STR(key("127.0.0.1", "198.51.100.1, 10.0.0.3, bogus", px, out), "127.0.0.1");
    JWTX_ASSERT_STR(key("127.0.0.1", "198.51.100.1, bogus, 10.0.0.3", px, out), "10.0.0.3");
    JWTX_ASSERT_STR(key("127.0.0.1", "198.51.100.1,", px, out), "127.0.0.1");
    JWTX_ASSERT_STR(key("127.0.0.1", ",", px, out), "127.0.0.1");
    JWTX_ASSERT_STR(key("127.0.0.1", "unknown", px, out), "127.0.0.1");
    /* ports and brackets some proxies write */
    JWTX_ASSERT_STR(key("127.0.0.1", "198.51.100.1:5555", px, out), "198.51.100.1");
    JWTX_ASSERT_STR(key("127.0.0.1", "[2001:db8:5:6::7]:443", px, out), "2001:db8:5:6::/64");
    /* IPv4-mapped entries are IPv4 (and match IPv4 proxy blocks) */
    JWTX_ASSERT_STR(key("127.0.0.1", "::ffff:198.51.100.1, ::ffff:10.0.0.3", px, out),
                    "198.51.100.1");
    /* a long forged list on the left costs nothing and changes nothing */
    char big[8192];
    size_t n = 0;
    while (n + 20 < sizeof big - 40)
        n += (size_t)snprintf(big + n, sizeof big - n, "6.6.6.%zu, ", n % 250);
    snprintf(big + n, sizeof big - n, "198.51.100.1, 10.0.0.3");
    JWTX_ASSERT_STR(key("127.0.0.1", big, px, out), "198.51.100.1");
}

static const jwtx_cu_test tests[] = {
    {"address forms: IPv4, IPv6, mapped, brackets, ports", test_ip_parse},
    {"trusted proxy entries: CIDR, validation, normalised", test_netblock_parse},
    {"block membership", test_contains},
    {"REMOTE_ADDR: IPv6 per /64, XFF ignored without proxies", test_address_direct},
    {"X-Forwarded-For: right-most untrusted, forgery, malformed", test_address_proxies},
    {NULL, NULL},
};

JWTX_CU_MAIN("client", tests)
