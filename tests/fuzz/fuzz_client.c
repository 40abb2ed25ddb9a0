/*
 * fuzz_client.c — libFuzzer target for the client address (client.h:
 * REMOTE_ADDR, X-Forwarded-For through trusted proxies, CIDR entries) and the
 * audit log's escaping of client text (audit.h).
 *
 * Input: one selector byte, then NUL-separated fields REMOTE_ADDR,
 * X-Forwarded-For, a JWTX_TRUSTED_PROXIES entry, then the rest (NULs
 * included) as client text for the audit line. Selector bit 0: use the fixed
 * trusted proxies (127.0.0.1, 10.0.0.0/8, ::1, 2001:db8::/32).
 * Checked: no crash, leak, overread or UB; the key is "unknown" or an
 * address (IPv4, or an IPv6 /64) that parses back to itself; without trusted
 * proxies X-Forwarded-For changes nothing; a CIDR entry that parses formats
 * and parses back to the same block; a quoted value and a whole audit line
 * are printable ASCII without a raw space in the value, and unescape to the
 * client text (cut at JWTX_AUDIT_VALUE_MAX).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "jwtx/audit.h"
#include "jwtx/client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static jwtx_netblock proxies[4];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const char *const p[4] = {"127.0.0.1", "10.0.0.0/8", "::1", "2001:db8::/32"};
    char why[160];
    for (int i = 0; i < 4; i++)
        if (jwtx_client_netblock_parse(p[i], &proxies[i], why, sizeof why) != 0)
            fuzz_fail("fixed proxy list");
    return 0;
}

enum { F_REMOTE, F_XFF, F_CIDR, F_TEXT, F_N };

static void key_of(const char *ra, const char *xff, bool trusted, char out[JWTX_CLIENT_ADDR_MAX])
{
    jwtx_request req;
    if (jwtx_request_init(&req) != 0)
        fuzz_fail("request init");
    if (ra != NULL && jwtx_request_set_param(&req, "REMOTE_ADDR", ra) != 0)
        ra = NULL;
    if (xff != NULL)
        (void)jwtx_request_set_param(&req, "HTTP_X_FORWARDED_FOR", xff);
    jwtx_client_address(&req, trusted ? proxies : NULL, trusted ? 4 : 0, out);
    jwtx_request_clear(&req);
}

static void check_key(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n >= JWTX_CLIENT_ADDR_MAX)
        fuzz_fail("key length");
    if (strcmp(k, JWTX_CLIENT_UNKNOWN) == 0)
        return;
    for (size_t i = 0; i < n; i++)
        if (k[i] <= ' ' || k[i] >= 0x7f || k[i] == '"')
            fuzz_fail("key holds a space, a quote or a non-printable byte");
    jwtx_netblock b;
    char why[160], back[80];
    if (n > 3 && strcmp(k + n - 3, "/64") == 0) {
        if (jwtx_client_netblock_parse(k, &b, why, sizeof why) != 0 || b.family != 6 ||
            b.prefix != 64)
            fuzz_fail("an IPv6 key is not a /64");
    } else if (jwtx_client_ip_parse(k, n, &b) != 0 || b.family != 4) {
        fuzz_fail("a key is neither an IPv4 address nor an IPv6 /64");
    }
    if (strcmp(jwtx_client_netblock_format(&b, back, sizeof back), k) != 0)
        fuzz_fail("a key does not format back to itself");
}

static int hexv(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Unescapes a quoted value; returns its length or -1 when malformed. */
static long unquote(const char *q, size_t n, char *out)
{
    if (n < 2 || q[0] != '"' || q[n - 1] != '"')
        return -1;
    long len = 0;
    for (size_t i = 1; i + 1 < n; i++) {
        char c = q[i];
        if (c <= ' ' || c >= 0x7f || c == '"')
            return -1;
        if (c == '\\') {
            char e = q[++i];
            if (e == '"' || e == '\\')
                c = e;
            else if (e == 'n')
                c = '\n';
            else if (e == 'r')
                c = '\r';
            else if (e == 't')
                c = '\t';
            else if (e == 'x' && i + 2 < n && hexv(q[i + 1]) >= 0 && hexv(q[i + 2]) >= 0) {
                c = (char)(hexv(q[i + 1]) * 16 + hexv(q[i + 2]));
                i += 2;
            } else
                return -1;
        }
        out[len++] = c;
    }
    return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool trusted = data[0] & 1;
    fuzz_fields ff;
    fuzz_fields_split(&ff, data + 1, size - 1, F_N);

    char k1[JWTX_CLIENT_ADDR_MAX], k2[JWTX_CLIENT_ADDR_MAX];
    key_of(ff.f[F_REMOTE], ff.f[F_XFF], trusted, k1);
    check_key(k1);
    if (!trusted) {
        key_of(ff.f[F_REMOTE], NULL, false, k2);
        if (strcmp(k1, k2) != 0)
            fuzz_fail("X-Forwarded-For was read without trusted proxies");
    }

    jwtx_netblock b, b2;
    char why[160], txt[80];
    if (jwtx_client_netblock_parse(ff.f[F_CIDR], &b, why, sizeof why) == 0) {
        jwtx_client_netblock_format(&b, txt, sizeof txt);
        if (jwtx_client_netblock_parse(txt, &b2, why, sizeof why) != 0 ||
            memcmp(&b, &b2, sizeof b) != 0)
            fuzz_fail("a CIDR entry does not round-trip");
    }

    char q[4 * JWTX_AUDIT_VALUE_MAX + 3], back[4 * JWTX_AUDIT_VALUE_MAX + 3];
    bool cut = false;
    size_t tl = ff.len[F_TEXT];
    size_t qn = jwtx_audit_quote(ff.f[F_TEXT], tl, q, sizeof q, &cut);
    if (qn != strlen(q) || cut != (tl > JWTX_AUDIT_VALUE_MAX))
        fuzz_fail("quote length or cut flag");
    long bn = unquote(q, qn, back);
    size_t want = tl > JWTX_AUDIT_VALUE_MAX ? JWTX_AUDIT_VALUE_MAX : tl;
    if (bn < 0 || (size_t)bn != want || memcmp(back, ff.f[F_TEXT], want) != 0)
        fuzz_fail("a quoted value does not unescape to the client text");

    jwtx_audit_event ev = {.time = 1800000000,
                           .event = "login_failure",
                           .addr = k1,
                           .user = ff.f[F_TEXT],
                           .route = ff.f[F_XFF],
                           .reason = ff.f[F_CIDR]};
    char line[JWTX_AUDIT_LINE_MAX];
    size_t ln = jwtx_audit_format(&ev, line, sizeof line);
    if (ln != strlen(line) || ln >= sizeof line - 1)
        fuzz_fail("line length");
    for (size_t i = 0; i < ln; i++)
        if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] > 0x7e)
            fuzz_fail("a line holds a control or non-ASCII byte");
    const char *a = strstr(line, " addr=");
    if (a == NULL || strncmp(a + 6, k1, strlen(k1)) != 0 || strstr(a + 1, " addr=") != NULL)
        fuzz_fail("the line's addr= is not the key, or there are two");

    fuzz_fields_free(&ff);
    return 0;
}
