/*
 * client.h — who is asking: the client address that login protection counts
 * failures against and the audit log names.
 *
 * The address is REMOTE_ADDR, the peer of the web server's connection. An
 * IPv4-mapped IPv6 address (::ffff:192.0.2.1, what a dual-stack socket
 * reports for an IPv4 peer) is the IPv4 address. IPv6 addresses count per
 * /64, the block one subscriber or one host usually holds (anyone can pick
 * any of its 2^64 addresses), so an IPv6 client's key is its /64 prefix in
 * normalised text ("2001:db8:1:2::/64"). IPv4 addresses count one by one.
 *
 * Behind a reverse proxy every REMOTE_ADDR is the proxy. JWTX_TRUSTED_PROXIES
 * lists the proxies (addresses and CIDR blocks, IPv4 and IPv6): when
 * REMOTE_ADDR is one of them, the client is the right-most address of
 * X-Forwarded-For that is not a trusted proxy (each proxy appends the peer it
 * saw; everything further left was written by the client and may be forged).
 * Without trusted proxies X-Forwarded-For is ignored. When the entry a
 * trusted proxy wrote is not an address, the walk stops at that proxy (its
 * address is the key): nothing left of a bad entry can be trusted.
 */
#ifndef JWTX_CLIENT_H
#define JWTX_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "jwtx/request.h"

/* An address or a block of them: family 4 or 6, addr in network order
 * (IPv4 in the first 4 bytes), prefix 0..32 / 0..128. */
typedef struct jwtx_netblock {
    unsigned char family;
    unsigned char prefix;
    unsigned char addr[16];
} jwtx_netblock;

/* Room for any key jwtx_client_address writes, NUL included. */
#define JWTX_CLIENT_ADDR_MAX 64

/* The key written when REMOTE_ADDR is absent or not an address (a unix
 * socket, a CGI run by hand): all such clients share it. */
#define JWTX_CLIENT_UNKNOWN "unknown"

/* Parses one address as it appears in REMOTE_ADDR or X-Forwarded-For: IPv4
 * dotted quad, IPv6 (an IPv4-mapped one becomes IPv4), "[IPv6]", "[IPv6]:port"
 * or "IPv4:port"; spaces and tabs around it ignored. No zone ids ("%eth0").
 * Fills *out with the full-length prefix. Returns 0, or -1 when s is not an
 * address. */
int jwtx_client_ip_parse(const char *s, size_t len, jwtx_netblock *out);

/* Parses a JWTX_TRUSTED_PROXIES entry: an address or "ADDRESS/PREFIX" (IPv4
 * or IPv6, IPv4-mapped IPv6 blocks of /96 and longer become IPv4). A block
 * with bits set after its prefix ("10.0.0.1/8") is refused: it is most
 * likely a mistake. Returns 0, or -1 with the reason in why. */
int jwtx_client_netblock_parse(const char *s, jwtx_netblock *out, char *why, size_t whysize);

/* True when block holds the address ip (same family). */
bool jwtx_client_netblock_contains(const jwtx_netblock *block, const jwtx_netblock *ip);

/* The normalised text of a block: "10.0.0.0/8", "::1", "2001:db8::/32"
 * (a full-length prefix is written without "/N"). Returns out. */
const char *jwtx_client_netblock_format(const jwtx_netblock *b, char *out, size_t size);

/* The client address key of req (see above) into out (JWTX_CLIENT_ADDR_MAX
 * bytes): "192.0.2.1", "2001:db8:1:2::/64" or JWTX_CLIENT_UNKNOWN. trusted
 * holds n_trusted proxies (may be NULL when n_trusted is 0). Returns out. */
const char *jwtx_client_address(const jwtx_request *req, const jwtx_netblock *trusted,
                                size_t n_trusted, char out[JWTX_CLIENT_ADDR_MAX]);

#endif
