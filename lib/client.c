/*
 * client.c — the client address of client.h: REMOTE_ADDR, IPv6 per /64,
 * and X-Forwarded-For read from the right only as far as trusted proxies
 * wrote it.
 */
#include "jwtx/client.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Digits only, 1..5 of them, at most 65535. */
static bool is_port(const char *s, size_t n)
{
    if (n == 0 || n > 5)
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    return v <= 65535;
}

static int parse_bare(const char *s, size_t n, jwtx_netblock *out)
{
    char b[INET6_ADDRSTRLEN + 1];
    if (n == 0 || n >= sizeof b)
        return -1;
    memcpy(b, s, n);
    b[n] = '\0';
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, b, out->addr) == 1) {
        out->family = 4;
        out->prefix = 32;
        return 0;
    }
    unsigned char a6[16];
    if (inet_pton(AF_INET6, b, a6) == 1) {
        if (memcmp(a6, v4mapped, 12) == 0) {
            out->family = 4;
            out->prefix = 32;
            memcpy(out->addr, a6 + 12, 4);
        } else {
            out->family = 6;
            out->prefix = 128;
            memcpy(out->addr, a6, 16);
        }
        return 0;
    }
    return -1;
}

int jwtx_client_ip_parse(const char *s, size_t len, jwtx_netblock *out)
{
    if (s == NULL)
        return -1;
    while (len > 0 && blank(s[0]))
        s++, len--;
    while (len > 0 && blank(s[len - 1]))
        len--;
    if (len == 0)
        return -1;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL)
            return -1;
        size_t rest = len - (size_t)(close - s) - 1;
        if (rest != 0 && !(close[1] == ':' && is_port(close + 2, rest - 1)))
            return -1;
        /* brackets hold IPv6 text only (a mapped address is fine) */
        size_t in = (size_t)(close - s) - 1;
        jwtx_netblock t;
        if (memchr(s + 1, ':', in) == NULL || parse_bare(s + 1, in, &t) != 0)
            return -1;
        *out = t;
        return 0;
    }
    const char *colon = memchr(s, ':', len);
    if (colon != NULL && memchr(colon + 1, ':', len - (size_t)(colon - s) - 1) == NULL) {
        /* exactly one colon: IPv4:port */
        jwtx_netblock t;
        if (!is_port(colon + 1, len - (size_t)(colon - s) - 1) ||
            parse_bare(s, (size_t)(colon - s), &t) != 0 || t.family != 4)
            return -1;
        *out = t;
        return 0;
    }
    return parse_bare(s, len, out);
}

int jwtx_client_netblock_parse(const char *s, jwtx_netblock *out, char *why, size_t whysize)
{
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    char b[INET6_ADDRSTRLEN + 1];
    if (alen == 0 || alen >= sizeof b) {
        snprintf(why, whysize, "\"%.64s\" is not an IP address or CIDR block", s);
        return -1;
    }
    memcpy(b, s, alen);
    b[alen] = '\0';
    jwtx_netblock t;
    memset(&t, 0, sizeof t);
    unsigned char a6[16];
    bool mapped = false;
    if (inet_pton(AF_INET, b, t.addr) == 1) {
        t.family = 4;
        t.prefix = 32;
    } else if (inet_pton(AF_INET6, b, a6) == 1) {
        t.family = 6;
        t.prefix = 128;
        memcpy(t.addr, a6, 16);
        mapped = memcmp(a6, v4mapped, 12) == 0;
    } else {
        snprintf(why, whysize, "\"%.64s\" is not an IP address or CIDR block", s);
        return -1;
    }
    if (slash != NULL) {
        const char *p = slash + 1;
        unsigned v = 0;
        size_t nd = 0;
        for (; p[nd] >= '0' && p[nd] <= '9' && nd < 4; nd++)
            v = v * 10 + (unsigned)(p[nd] - '0');
        if (nd == 0 || p[nd] != '\0' || (nd > 1 && p[0] == '0') || v > t.prefix) {
            snprintf(why, whysize, "\"%.64s\": the prefix length must be 0 to %u", s, t.prefix);
            return -1;
        }
        t.prefix = (unsigned char)v;
    }
    /* bits after the prefix must be zero */
    for (unsigned bit = t.prefix; bit < (t.family == 4 ? 32u : 128u); bit++)
        if (t.addr[bit / 8] & (0x80 >> (bit % 8))) {
            jwtx_netblock net = t;
            for (unsigned k = t.prefix; k < (t.family == 4 ? 32u : 128u); k++)
                net.addr[k / 8] &= (unsigned char)~(0x80 >> (k % 8));
            char nb[80];
            snprintf(why, whysize, "\"%.64s\" has bits set after the prefix (did you mean %s?)", s,
                     jwtx_client_netblock_format(&net, nb, sizeof nb));
            return -1;
        }
    if (mapped && t.prefix >= 96) {
        t.family = 4;
        t.prefix = (unsigned char)(t.prefix - 96);
        memmove(t.addr, t.addr + 12, 4);
        memset(t.addr + 4, 0, 12);
    }
    *out = t;
    return 0;
}

bool jwtx_client_netblock_contains(const jwtx_netblock *block, const jwtx_netblock *ip)
{
    if (block == NULL || ip == NULL || block->family != ip->family)
        return false;
    unsigned full = block->prefix / 8, rest = block->prefix % 8;
    if (memcmp(block->addr, ip->addr, full) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (block->addr[full] & mask) == (ip->addr[full] & mask);
}

const char *jwtx_client_netblock_format(const jwtx_netblock *b, char *out, size_t size)
{
    char t[INET6_ADDRSTRLEN];
    if (inet_ntop(b->family == 4 ? AF_INET : AF_INET6, b->addr, t, sizeof t) == NULL)
        snprintf(t, sizeof t, "?");
    if (b->prefix == (b->family == 4 ? 32 : 128))
        snprintf(out, size, "%s", t);
    else
        snprintf(out, size, "%s/%u", t, b->prefix);
    return out;
}

static bool trusted_ip(const jwtx_netblock *ip, const jwtx_netblock *trusted, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (jwtx_client_netblock_contains(&trusted[i], ip))
            return true;
    return false;
}

/* The key of one address: IPv4 as is, IPv6 as its /64. */
static const char *key_of(const jwtx_netblock *ip, char out[JWTX_CLIENT_ADDR_MAX])
{
    jwtx_netblock k = *ip;
    if (k.family == 6) {
        memset(k.addr + 8, 0, 8);
        k.prefix = 64;
    }
    return jwtx_client_netblock_format(&k, out, JWTX_CLIENT_ADDR_MAX);
}

const char *jwtx_client_address(const jwtx_request *req, const jwtx_netblock *trusted,
                                size_t n_trusted, char out[JWTX_CLIENT_ADDR_MAX])
{
    const char *ra = jwtx_request_param(req, "REMOTE_ADDR");
    jwtx_netblock ip;
    if (ra == NULL || jwtx_client_ip_parse(ra, strlen(ra), &ip) != 0) {
        snprintf(out, JWTX_CLIENT_ADDR_MAX, "%s", JWTX_CLIENT_UNKNOWN);
        return out;
    }
    if (n_trusted == 0 || !trusted_ip(&ip, trusted, n_trusted))
        return key_of(&ip, out);
    /* From the right: each trusted hop vouches for the entry left of it. */
    const char *xff = jwtx_request_header(req, "X-Forwarded-For");
    size_t end = xff != NULL ? strlen(xff) : 0;
    while (end > 0) {
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',')
            start--;
        jwtx_netblock hop;
        if (jwtx_client_ip_parse(xff + start, end - start, &hop) != 0)
            break; /* a bad entry from a trusted hop: stop at that hop */
        ip = hop;
        if (!trusted_ip(&ip, trusted, n_trusted))
            break;
        end = start > 0 ? start - 1 : 0;
    }
    return key_of(&ip, out);
}
