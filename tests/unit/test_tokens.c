/*
 * test_tokens.c — token creation layout and the decode pipeline.
 *
 * Creation: with a fixed clock and a counting random source, every token must
 * equal, byte for byte, the one a Python model of Flask-JWT-Extended 4.7.1's
 * _encode_jwt produces through PyJWT (HS256 and Ed25519 are deterministic, so
 * whole tokens compare). The rows were generated with /usr/bin/python3 and
 * python3-jwt; the expected header and payload JSON are listed too, so a
 * failure shows which part differs.
 * Decoding: crafted tokens (arbitrary header/payload bytes signed with
 * jwtx_jws_sign) for every claim error of spec section 4.2, the expiry
 * precedence examples of section 3, leeway, allow_expired and CSRF.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "jwtx/b64url.h"
#include "jwtx/config.h"
#include "jwtx/jws.h"
#include "jwtx/keys.h"
#include "jwtx/tokens.h"

#define SECRET "JWT_SECRET_KEY = 'test-secret-key-that-is-long-enough-0123'\n"

static double fixed_now = 1700000000.25;
static double test_clock(void)
{
    return fixed_now;
}

/* Byte k of the stream is k mod 256: the first UUID is built from 00..0f,
 * the second from 10..1f. */
static unsigned counter;
static int test_random(unsigned char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)(counter++ & 0xFF);
    return 0;
}

static int setup(void)
{
    jwtx_tokens_set_sources(test_clock, test_random);
    return 0;
}

static int teardown(void)
{
    jwtx_tokens_set_sources(NULL, NULL);
    return 0;
}

static int load(jwtx_config *cfg, const char *extra)
{
    char text[2048];
    snprintf(text, sizeof text, "%s%s", strstr(extra, "JWT_ALGORITHM = 'EdDSA'") ? "" : SECRET,
             extra);
    jwtx_config_error e;
    if (jwtx_config_load_string("test.conf", text, strlen(text), cfg, &e, NULL, NULL) != 0) {
        char buf[1024];
        fprintf(stderr, "\n  config: %s\n", jwtx_config_error_format(&e, buf, sizeof buf));
        return -1;
    }
    return 0;
}

static json_t *parse_opt(const char *s)
{
    return s ? jwtx_json_parse(s, strlen(s), NULL, 0) : NULL;
}

/* Decodes segment i (0 header, 1 payload) of a compact token into a string. */
static char *segment(const char *tok, int i)
{
    const char *start = tok;
    for (int k = 0; k < i; k++)
        start = strchr(start, '.') + 1;
    const char *end = strchr(start, '.');
    size_t n = (size_t)(end - start);
    unsigned char *out = malloc(jwtx_b64url_decoded_max(n) + 1);
    size_t len = 0;
    if (out == NULL || jwtx_b64url_decode(start, n, out, &len) != 0) {
        free(out);
        return NULL;
    }
    out[len] = '\0';
    return (char *)out;
}

static const struct create_row {
    const char *name;
    const char *identity;
    const char *conf;
    double now;
    bool refresh;
    jwtx_fresh_mode fresh;
    double fresh_for;
    jwtx_expires_mode expires;
    long long expires_seconds;
    const char *claims;
    const char *headers;
    const char *header_json;
    const char *payload_json;
    const char *token;
} create_rows[] = {
    {"access default", "alice",
     "",
     1700000000.25, false, JWTX_FRESH_FALSE, 0, JWTX_EXPIRES_DEFAULT, 0, NULL, NULL,
     "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
     "{\"fresh\":false,\"iat\":1700000000,\"jti\":\"00010203-0405-4607-8809-0a0b0c0d0e0f\",\"type\":\"access\",\"sub\":\"alice\",\"nbf\":1700000000,\"csrf\":\"10111213-1415-4617-9819-1a1b1c1d1e1f\",\"exp\":1700000900}",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJmcmVzaCI6ZmFsc2UsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiMDAwMTAyMDMtMDQwNS00NjA3LTg4MDktMGEwYjBjMGQwZTBmIiwidHlwZSI6ImFjY2VzcyIsInN1YiI6ImFsaWNlIiwibmJmIjoxNzAwMDAwMDAwLCJjc3JmIjoiMTAxMTEyMTMtMTQxNS00NjE3LTk4MTktMWExYjFjMWQxZTFmIiwiZXhwIjoxNzAwMDAwOTAwfQ.zpkNiQFiyoelCd5nDyi_q0veZveiAvKklZMCTJgHmQA"},
    {"refresh default", "alice",
     "",
     1700000000.25, true, JWTX_FRESH_TRUE, 0, JWTX_EXPIRES_DEFAULT, 0, NULL, NULL,
     "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
     "{\"fresh\":false,\"iat\":1700000000,\"jti\":\"00010203-0405-4607-8809-0a0b0c0d0e0f\",\"type\":\"refresh\",\"sub\":\"alice\",\"nbf\":1700000000,\"csrf\":\"10111213-1415-4617-9819-1a1b1c1d1e1f\",\"exp\":1702592000}",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJmcmVzaCI6ZmFsc2UsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiMDAwMTAyMDMtMDQwNS00NjA3LTg4MDktMGEwYjBjMGQwZTBmIiwidHlwZSI6InJlZnJlc2giLCJzdWIiOiJhbGljZSIsIm5iZiI6MTcwMDAwMDAwMCwiY3NyZiI6IjEwMTExMjEzLTE0MTUtNDYxNy05ODE5LTFhMWIxYzFkMWUxZiIsImV4cCI6MTcwMjU5MjAwMH0.j1Wni84ZxGOWZcEdxQykKB1-EBpEK0alImmqGq6gTd4"},
    {"fresh true", "alice",
     "",
     1700000000.25, false, JWTX_FRESH_TRUE, 0, JWTX_EXPIRES_DEFAULT, 0, NULL, NULL,
     "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
     "{\"fresh\":true,\"iat\":1700000000,\"jti\":\"00010203-0405-4607-8809-0a0b0c0d0e0f\",\"type\":\"access\",\"sub\":\"alice\",\"nbf\":1700000000,\"csrf\":\"10111213-1415-4617-9819-1a1b1c1d1e1f\",\"exp\":1700000900}",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJmcmVzaCI6dHJ1ZSwiaWF0IjoxNzAwMDAwMDAwLCJqdGkiOiIwMDAxMDIwMy0wNDA1LTQ2MDctODgwOS0wYTBiMGMwZDBlMGYiLCJ0eXBlIjoiYWNjZXNzIiwic3ViIjoiYWxpY2UiLCJuYmYiOjE3MDAwMDAwMDAsImNzcmYiOiIxMDExMTIxMy0xNDE1LTQ2MTctOTgxOS0xYTFiMWMxZDFlMWYiLCJleHAiOjE3MDAwMDA5MDB9.yVeYYaB7HUdBwMG4IANIXPAHfFLqj-Ucxpsbbbo3XV0"},
    {"fresh for 300s", "alice",
     "",
     1700000000.123456, false, JWTX_FRESH_FOR, 300, JWTX_EXPIRES_DEFAULT, 0, NULL, NULL,
     "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
     "{\"fresh\":1700000300.123456,\"iat\":1700000000,\"jti\":\"00010203-0405-4607-8809-0a0b0c0d0e0f\",\"type\":\"access\",\"sub\":\"alice\",\"nbf\":1700000000,\"csrf\":\"10111213-1415-4617-9819-1a1b1c1d1e1f\",\"exp\":1700000900}",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJmcmVzaCI6MTcwMDAwMDMwMC4xMjM0NTYsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiMDAwMTAyMDMtMDQwNS00NjA3LTg4MDktMGEwYjBjMGQwZTBmIiwidHlwZSI6ImFjY2VzcyIsInN1YiI6ImFsaWNlIiwibmJmIjoxNzAwMDAwMDAwLCJjc3JmIjoiMTAxMTEyMTMtMTQxNS00NjE3LTk4MTktMWExYjFjMWQxZTFmIiwiZXhwIjoxNzAwMDAwOTAwfQ.q5dcHsRV6D2mRSqXYrZOZgpcCqHdsn-8IL8tTEhMYPE"},
    {"fresh for 0.5s", "alice",
     "",
     1700000000.25, false, JWTX_FRESH_FOR, 0.5, JWTX_EXPIRES_DEFAULT, 0, NULL, NULL,
     "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
     "{\"fresh\":1700000000.75,\"iat\":1700000000,\"jti\":\"00010203-0405-4607-8809-0a0b0c0d0e0f\",\"type\":\"access\",\"sub\":\"alice\",\"nbf\":1700000000,\"csrf\":\"10111213-1415-4617-9819-1a1b1c1d1e1f\",\"exp\":1700000900}",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJmcmVzaCI6MTcwMDAwMDAwMC43NSwiaWF0IjoxNzAwMDAwMDAwLCJqdGkiOiIwMDAxMDIwMy0wNDA1LTQ2MDctODgwOS0wYTBiMGMwZDBlMGYiLCJ0eXBlIjoiYWNjZXNzIiwic3ViIjoiYWxpY2UiLCJuYmYiOjE3MDAwMDAwMDAsImNzcmYiOiIxMDExMTIxMy0xNDE1LTQ2MTctOTgxOS0xYTFiMWMxZDFlMWYiLCJleHAiOjE3MDAwMDA5MDB9.Q9AG1Mv2PCGyddATjdPuB-Ac77FLR24N9H7bULbd-Ek"},
    {"no nbf, no csrf", "alice",
     "JWT_ENCODE_NBF = False\nJWT_COOKIE_CSRF_PROTECT = False\n",
     1700000000.25, false, JWTX_FRESH_FALSE, 0, JWTX_EXPIRES_DEFAULT, 0, NULL, NULL,
     "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
     "{\"fresh\":false,\"iat\":1700000000,\"jti\":\"00010203-0405-4607-8809-0a0b0c0d0e0f\",\"type\":\"access\",\"sub\":\"alice\",\"exp\":1700000900}",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJmcmVzaCI6ZmFsc2UsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiMDAwMTAyMDMtMDQwNS00NjA3LTg4MDktMGEwYjBjMGQwZTBmIiwidHlwZSI6ImFjY2VzcyIsInN1YiI6ImFsaWNlIiwiZXhwIjoxNzAwMDAwOTAwfQ.3fjgJTvGaJ-EgAcdIzxR92PcJICUIafj5G5IgVJ-WpU"},
    {"custom identity claim", "bob",
     "JWT_IDENTITY_CLAIM = 'identity'\n",
     1700000000.25, false, JWTX_FRESH_FALSE, 0, JWTX_EXPIRES_DEFAULT, 0, NULL, NULL,
     "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
     "{\"fresh\":false,\"iat\":1700000000,\"jti\":\"00010203-0405-4607-8809-0a0b0c0d0e0f\",\"type\":\"access\",\"identity\":\"bob\",\"nbf\":1700000000,\"csrf\":\"10111213-1415-4617-9819-1a1b1c1d1e1f\",\"exp\":1700000900}",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJmcmVzaCI6ZmFsc2UsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiMDAwMTAyMDMtMDQwNS00NjA3LTg4MDktMGEwYjBjMGQwZTBmIiwidHlwZSI6ImFjY2VzcyIsImlkZW50aXR5IjoiYm9iIiwibmJmIjoxNzAwMDAwMDAwLCJjc3JmIjoiMTAxMTEyMTMtMTQxNS00NjE3LTk4MTktMWExYjFjMWQxZTFmIiwiZXhwIjoxNzAwMDAwOTAwfQ.Tr-qQjgetz6WqPciCmBXcgCQ0hQgTss72X6z5wl7Pjs"},
    {"aud string, iss", "alice",
     "JWT_ENCODE_AUDIENCE = 'api'\nJWT_ENCODE_ISSUER = 'https://issuer'\n",
     1700000000.25, false, JWTX_FRESH_FALSE, 0, JWTX_EXPIRES_DEFAULT, 0, NULL, NULL,
     "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
     "{\"fresh\":false,\"iat\":1700000000,\"jti\":\"00010203-0405-4607-8809-0a0b0c0d0e0f\",\"type\":\"access\",\"sub\":\"alice\",\"nbf\":1700000000,\"csrf\":\"10111213-1415-4617-9819-1a1b1c1d1e1f\",\"aud\":\"api\",\"iss\":\"https://issuer\",\"exp\":1700000900}",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJmcmVzaCI6ZmFsc2UsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiMDAwMTAyMDMtMDQwNS00NjA3LTg4MDktMGEwYjBjMGQwZTBmIiwidHlwZSI6ImFjY2VzcyIsInN1YiI6ImFsaWNlIiwibmJmIjoxNzAwMDAwMDAwLCJjc3JmIjoiMTAxMTEyMTMtMTQxNS00NjE3LTk4MTktMWExYjFjMWQxZTFmIiwiYXVkIjoiYXBpIiwiaXNzIjoiaHR0cHM6Ly9pc3N1ZXIiLCJleHAiOjE3MDAwMDA5MDB9.4xkn7dg-un1h3QVqRa38PXOtNwwoXoh9srtBhIgWLsg"},
    {"aud list", "alice",
     "JWT_ENCODE_AUDIENCE = ['a', 'b']\n",
     1700000000.25, false, JWTX_FRESH_FALSE, 0, JWTX_EXPIRES_DEFAULT, 0, NULL, NULL,
     "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
     "{\"fresh\":false,\"iat\":1700000000,\"jti\":\"00010203-0405-4607-8809-0a0b0c0d0e0f\",\"type\":\"access\",\"sub\":\"alice\",\"nbf\":1700000000,\"csrf\":\"10111213-1415-4617-9819-1a1b1c1d1e1f\",\"aud\":[\"a\",\"b\"],\"exp\":1700000900}",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJmcmVzaCI6ZmFsc2UsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiMDAwMTAyMDMtMDQwNS00NjA3LTg4MDktMGEwYjBjMGQwZTBmIiwidHlwZSI6ImFjY2VzcyIsInN1YiI6ImFsaWNlIiwibmJmIjoxNzAwMDAwMDAwLCJjc3JmIjoiMTAxMTEyMTMtMTQxNS00NjE3LTk4MTktMWExYjFjMWQxZTFmIiwiYXVkIjpbImEiLCJiIl0sImV4cCI6MTcwMDAwMDkwMH0.5uhgezjorIPVdN55En2vxLESDHatqaJYZKTCaFN2w-E"},
    {"expiry from config", "alice",
     "JWT_ACCESS_TOKEN_EXPIRES = 60\nJWT_REFRESH_TOKEN_EXPIRES = 120\n",
     1700000000.25, true, JWTX_FRESH_FALSE, 0, JWTX_EXPIRES_DEFAULT, 0, NULL, NULL,
     "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
     "{\"fresh\":false,\"iat\":1700000000,\"jti\":\"00010203-0405-4607-8809-0a0b0c0d0e0f\",\"type\":\"refresh\",\"sub\":\"alice\",\"nbf\":1700000000,\"csrf\":\"10111213-1415-4617-9819-1a1b1c1d1e1f\",\"exp\":1700000120}",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJmcmVzaCI6ZmFsc2UsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiMDAwMTAyMDMtMDQwNS00NjA3LTg4MDktMGEwYjBjMGQwZTBmIiwidHlwZSI6InJlZnJlc2giLCJzdWIiOiJhbGljZSIsIm5iZiI6MTcwMDAwMDAwMCwiY3NyZiI6IjEwMTExMjEzLTE0MTUtNDYxNy05ODE5LTFhMWIxYzFkMWUxZiIsImV4cCI6MTcwMDAwMDEyMH0.PTZHSWP9WIClmWQn2HwKsYNofYy2uBzJ42iO6gm-yzg"},
    {"config never expires", "alice",
     "JWT_ACCESS_TOKEN_EXPIRES = False\n",
     1700000000.25, false, JWTX_FRESH_FALSE, 0, JWTX_EXPIRES_DEFAULT, 0, NULL, NULL,
     "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
     "{\"fresh\":false,\"iat\":1700000000,\"jti\":\"00010203-0405-4607-8809-0a0b0c0d0e0f\",\"type\":\"access\",\"sub\":\"alice\",\"nbf\":1700000000,\"csrf\":\"10111213-1415-4617-9819-1a1b1c1d1e1f\"}",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJmcmVzaCI6ZmFsc2UsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiMDAwMTAyMDMtMDQwNS00NjA3LTg4MDktMGEwYjBjMGQwZTBmIiwidHlwZSI6ImFjY2VzcyIsInN1YiI6ImFsaWNlIiwibmJmIjoxNzAwMDAwMDAwLCJjc3JmIjoiMTAxMTEyMTMtMTQxNS00NjE3LTk4MTktMWExYjFjMWQxZTFmIn0.jE6jLE2XGTNMKkl54DqNeJZw7d3r5PzWe1ysZtHqRgo"},
    {"per-call 0 seconds: no exp", "alice",
     "",
     1700000000.25, false, JWTX_FRESH_FALSE, 0, JWTX_EXPIRES_SECONDS, 0, NULL, NULL,
     "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
     "{\"fresh\":false,\"iat\":1700000000,\"jti\":\"00010203-0405-4607-8809-0a0b0c0d0e0f\",\"type\":\"access\",\"sub\":\"alice\",\"nbf\":1700000000,\"csrf\":\"10111213-1415-4617-9819-1a1b1c1d1e1f\"}",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJmcmVzaCI6ZmFsc2UsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiMDAwMTAyMDMtMDQwNS00NjA3LTg4MDktMGEwYjBjMGQwZTBmIiwidHlwZSI6ImFjY2VzcyIsInN1YiI6ImFsaWNlIiwibmJmIjoxNzAwMDAwMDAwLCJjc3JmIjoiMTAxMTEyMTMtMTQxNS00NjE3LTk4MTktMWExYjFjMWQxZTFmIn0.jE6jLE2XGTNMKkl54DqNeJZw7d3r5PzWe1ysZtHqRgo"},
    {"per-call never", "alice",
     "",
     1700000000.25, false, JWTX_FRESH_FALSE, 0, JWTX_EXPIRES_NEVER, 0, NULL, NULL,
     "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
     "{\"fresh\":false,\"iat\":1700000000,\"jti\":\"00010203-0405-4607-8809-0a0b0c0d0e0f\",\"type\":\"access\",\"sub\":\"alice\",\"nbf\":1700000000,\"csrf\":\"10111213-1415-4617-9819-1a1b1c1d1e1f\"}",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJmcmVzaCI6ZmFsc2UsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiMDAwMTAyMDMtMDQwNS00NjA3LTg4MDktMGEwYjBjMGQwZTBmIiwidHlwZSI6ImFjY2VzcyIsInN1YiI6ImFsaWNlIiwibmJmIjoxNzAwMDAwMDAwLCJjc3JmIjoiMTAxMTEyMTMtMTQxNS00NjE3LTk4MTktMWExYjFjMWQxZTFmIn0.jE6jLE2XGTNMKkl54DqNeJZw7d3r5PzWe1ysZtHqRgo"},
    {"per-call 3600 seconds", "alice",
     "",
     1700000000.25, false, JWTX_FRESH_FALSE, 0, JWTX_EXPIRES_SECONDS, 3600, NULL, NULL,
     "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
     "{\"fresh\":false,\"iat\":1700000000,\"jti\":\"00010203-0405-4607-8809-0a0b0c0d0e0f\",\"type\":\"access\",\"sub\":\"alice\",\"nbf\":1700000000,\"csrf\":\"10111213-1415-4617-9819-1a1b1c1d1e1f\",\"exp\":1700003600}",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJmcmVzaCI6ZmFsc2UsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiMDAwMTAyMDMtMDQwNS00NjA3LTg4MDktMGEwYjBjMGQwZTBmIiwidHlwZSI6ImFjY2VzcyIsInN1YiI6ImFsaWNlIiwibmJmIjoxNzAwMDAwMDAwLCJjc3JmIjoiMTAxMTEyMTMtMTQxNS00NjE3LTk4MTktMWExYjFjMWQxZTFmIiwiZXhwIjoxNzAwMDAzNjAwfQ.bfDZJKYhx4wwsoyeLkSbj1AiAaQMy8SpA7UOLYCaq-0"},
    {"per-call negative", "alice",
     "",
     1700000000.25, false, JWTX_FRESH_FALSE, 0, JWTX_EXPIRES_SECONDS, -10, NULL, NULL,
     "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
     "{\"fresh\":false,\"iat\":1700000000,\"jti\":\"00010203-0405-4607-8809-0a0b0c0d0e0f\",\"type\":\"access\",\"sub\":\"alice\",\"nbf\":1700000000,\"csrf\":\"10111213-1415-4617-9819-1a1b1c1d1e1f\",\"exp\":1699999990}",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJmcmVzaCI6ZmFsc2UsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiMDAwMTAyMDMtMDQwNS00NjA3LTg4MDktMGEwYjBjMGQwZTBmIiwidHlwZSI6ImFjY2VzcyIsInN1YiI6ImFsaWNlIiwibmJmIjoxNzAwMDAwMDAwLCJjc3JmIjoiMTAxMTEyMTMtMTQxNS00NjE3LTk4MTktMWExYjFjMWQxZTFmIiwiZXhwIjoxNjk5OTk5OTkwfQ.nHLy_RQba7mOQqWzB5BfrvQRsukJL0josR2ynIbeDt0"},
    {"claims override in place", "alice",
     "",
     1700000000.25, false, JWTX_FRESH_FALSE, 0, JWTX_EXPIRES_DEFAULT, 0, "{\"type\":\"custom\",\"foo\":\"bar\",\"exp\":5,\"sub\":\"bob\",\"x\":[1,2.5,null],\"fresh\":true,\"csrf\":\"mine\"}", NULL,
     "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
     "{\"fresh\":true,\"iat\":1700000000,\"jti\":\"00010203-0405-4607-8809-0a0b0c0d0e0f\",\"type\":\"custom\",\"sub\":\"bob\",\"nbf\":1700000000,\"csrf\":\"mine\",\"exp\":5,\"foo\":\"bar\",\"x\":[1,2.5,null]}",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJmcmVzaCI6dHJ1ZSwiaWF0IjoxNzAwMDAwMDAwLCJqdGkiOiIwMDAxMDIwMy0wNDA1LTQ2MDctODgwOS0wYTBiMGMwZDBlMGYiLCJ0eXBlIjoiY3VzdG9tIiwic3ViIjoiYm9iIiwibmJmIjoxNzAwMDAwMDAwLCJjc3JmIjoibWluZSIsImV4cCI6NSwiZm9vIjoiYmFyIiwieCI6WzEsMi41LG51bGxdfQ.KvW9W9Bmam2C7jQzTfdYlVksslfGBC7ojkAMBg8vuv0"},
    {"extra headers", "alice",
     "",
     1700000000.25, false, JWTX_FRESH_FALSE, 0, JWTX_EXPIRES_DEFAULT, 0, NULL, "{\"kid\":\"k1\",\"typ\":\"custom\",\"x\":\"arg\"}",
     "{\"alg\":\"HS256\",\"kid\":\"k1\",\"typ\":\"custom\",\"x\":\"arg\"}",
     "{\"fresh\":false,\"iat\":1700000000,\"jti\":\"00010203-0405-4607-8809-0a0b0c0d0e0f\",\"type\":\"access\",\"sub\":\"alice\",\"nbf\":1700000000,\"csrf\":\"10111213-1415-4617-9819-1a1b1c1d1e1f\",\"exp\":1700000900}",
     "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiY3VzdG9tIiwieCI6ImFyZyJ9.eyJmcmVzaCI6ZmFsc2UsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiMDAwMTAyMDMtMDQwNS00NjA3LTg4MDktMGEwYjBjMGQwZTBmIiwidHlwZSI6ImFjY2VzcyIsInN1YiI6ImFsaWNlIiwibmJmIjoxNzAwMDAwMDAwLCJjc3JmIjoiMTAxMTEyMTMtMTQxNS00NjE3LTk4MTktMWExYjFjMWQxZTFmIiwiZXhwIjoxNzAwMDAwOTAwfQ.e236mNFw2y4IHNRCIIIMNqv1d7MpRzwFfpP8-D5thBQ"},
    {"typ null removed", "alice",
     "",
     1700000000.25, false, JWTX_FRESH_FALSE, 0, JWTX_EXPIRES_DEFAULT, 0, NULL, "{\"typ\":null}",
     "{\"alg\":\"HS256\"}",
     "{\"fresh\":false,\"iat\":1700000000,\"jti\":\"00010203-0405-4607-8809-0a0b0c0d0e0f\",\"type\":\"access\",\"sub\":\"alice\",\"nbf\":1700000000,\"csrf\":\"10111213-1415-4617-9819-1a1b1c1d1e1f\",\"exp\":1700000900}",
     "eyJhbGciOiJIUzI1NiJ9.eyJmcmVzaCI6ZmFsc2UsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiMDAwMTAyMDMtMDQwNS00NjA3LTg4MDktMGEwYjBjMGQwZTBmIiwidHlwZSI6ImFjY2VzcyIsInN1YiI6ImFsaWNlIiwibmJmIjoxNzAwMDAwMDAwLCJjc3JmIjoiMTAxMTEyMTMtMTQxNS00NjE3LTk4MTktMWExYjFjMWQxZTFmIiwiZXhwIjoxNzAwMDAwOTAwfQ.gruOBD1LMFgtSkORw5AOPY_zEkrOpbSEJ5tycvGB_3s"},
    {"typ empty removed", "alice",
     "",
     1700000000.25, false, JWTX_FRESH_FALSE, 0, JWTX_EXPIRES_DEFAULT, 0, NULL, "{\"typ\":\"\"}",
     "{\"alg\":\"HS256\"}",
     "{\"fresh\":false,\"iat\":1700000000,\"jti\":\"00010203-0405-4607-8809-0a0b0c0d0e0f\",\"type\":\"access\",\"sub\":\"alice\",\"nbf\":1700000000,\"csrf\":\"10111213-1415-4617-9819-1a1b1c1d1e1f\",\"exp\":1700000900}",
     "eyJhbGciOiJIUzI1NiJ9.eyJmcmVzaCI6ZmFsc2UsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiMDAwMTAyMDMtMDQwNS00NjA3LTg4MDktMGEwYjBjMGQwZTBmIiwidHlwZSI6ImFjY2VzcyIsInN1YiI6ImFsaWNlIiwibmJmIjoxNzAwMDAwMDAwLCJjc3JmIjoiMTAxMTEyMTMtMTQxNS00NjE3LTk4MTktMWExYjFjMWQxZTFmIiwiZXhwIjoxNzAwMDAwOTAwfQ.gruOBD1LMFgtSkORw5AOPY_zEkrOpbSEJ5tycvGB_3s"},
    {"alg override HS512", "alice",
     "JWT_DECODE_ALGORITHMS = ['HS256', 'HS512']\n",
     1700000000.25, false, JWTX_FRESH_FALSE, 0, JWTX_EXPIRES_DEFAULT, 0, NULL, "{\"alg\":\"HS512\"}",
     "{\"alg\":\"HS512\",\"typ\":\"JWT\"}",
     "{\"fresh\":false,\"iat\":1700000000,\"jti\":\"00010203-0405-4607-8809-0a0b0c0d0e0f\",\"type\":\"access\",\"sub\":\"alice\",\"nbf\":1700000000,\"csrf\":\"10111213-1415-4617-9819-1a1b1c1d1e1f\",\"exp\":1700000900}",
     "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJmcmVzaCI6ZmFsc2UsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiMDAwMTAyMDMtMDQwNS00NjA3LTg4MDktMGEwYjBjMGQwZTBmIiwidHlwZSI6ImFjY2VzcyIsInN1YiI6ImFsaWNlIiwibmJmIjoxNzAwMDAwMDAwLCJjc3JmIjoiMTAxMTEyMTMtMTQxNS00NjE3LTk4MTktMWExYjFjMWQxZTFmIiwiZXhwIjoxNzAwMDAwOTAwfQ.NE2iXGYcQyRo3fIN_DhNIhwM-igkuM_evwii1_18UK5Mp3AbPFV_Vh3YZhEl7LyHlhf9slohQfmPwUs6yKOnLg"},
    {"falsy alg kept, signs HS256", "alice",
     "",
     1700000000.25, false, JWTX_FRESH_FALSE, 0, JWTX_EXPIRES_DEFAULT, 0, NULL, "{\"alg\":\"\"}",
     "{\"alg\":\"\",\"typ\":\"JWT\"}",
     "{\"fresh\":false,\"iat\":1700000000,\"jti\":\"00010203-0405-4607-8809-0a0b0c0d0e0f\",\"type\":\"access\",\"sub\":\"alice\",\"nbf\":1700000000,\"csrf\":\"10111213-1415-4617-9819-1a1b1c1d1e1f\",\"exp\":1700000900}",
     "eyJhbGciOiIiLCJ0eXAiOiJKV1QifQ.eyJmcmVzaCI6ZmFsc2UsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiMDAwMTAyMDMtMDQwNS00NjA3LTg4MDktMGEwYjBjMGQwZTBmIiwidHlwZSI6ImFjY2VzcyIsInN1YiI6ImFsaWNlIiwibmJmIjoxNzAwMDAwMDAwLCJjc3JmIjoiMTAxMTEyMTMtMTQxNS00NjE3LTk4MTktMWExYjFjMWQxZTFmIiwiZXhwIjoxNzAwMDAwOTAwfQ.BD1XVFera2Rxee9sQNsrybRgemaJHRfvfy2nnYkxj9Y"},
    {"non-ASCII identity", "h\xc3""\xa9""llo \xf0""\x9f""\x98""\x80""",
     "",
     1700000000.25, false, JWTX_FRESH_FALSE, 0, JWTX_EXPIRES_DEFAULT, 0, NULL, NULL,
     "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
     "{\"fresh\":false,\"iat\":1700000000,\"jti\":\"00010203-0405-4607-8809-0a0b0c0d0e0f\",\"type\":\"access\",\"sub\":\"h\\u00e9llo \\ud83d\\ude00\",\"nbf\":1700000000,\"csrf\":\"10111213-1415-4617-9819-1a1b1c1d1e1f\",\"exp\":1700000900}",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJmcmVzaCI6ZmFsc2UsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiMDAwMTAyMDMtMDQwNS00NjA3LTg4MDktMGEwYjBjMGQwZTBmIiwidHlwZSI6ImFjY2VzcyIsInN1YiI6ImhcdTAwZTlsbG8gXHVkODNkXHVkZTAwIiwibmJmIjoxNzAwMDAwMDAwLCJjc3JmIjoiMTAxMTEyMTMtMTQxNS00NjE3LTk4MTktMWExYjFjMWQxZTFmIiwiZXhwIjoxNzAwMDAwOTAwfQ.TouYQtu7Zf_hUGUgOAOMbn055Ef1nRhnT0p-ai0ioek"},
    {"negative clock", "alice",
     "",
     -1.5, false, JWTX_FRESH_FALSE, 0, JWTX_EXPIRES_DEFAULT, 0, NULL, NULL,
     "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
     "{\"fresh\":false,\"iat\":-2,\"jti\":\"00010203-0405-4607-8809-0a0b0c0d0e0f\",\"type\":\"access\",\"sub\":\"alice\",\"nbf\":-2,\"csrf\":\"10111213-1415-4617-9819-1a1b1c1d1e1f\",\"exp\":898}",
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJmcmVzaCI6ZmFsc2UsImlhdCI6LTIsImp0aSI6IjAwMDEwMjAzLTA0MDUtNDYwNy04ODA5LTBhMGIwYzBkMGUwZiIsInR5cGUiOiJhY2Nlc3MiLCJzdWIiOiJhbGljZSIsIm5iZiI6LTIsImNzcmYiOiIxMDExMTIxMy0xNDE1LTQ2MTctOTgxOS0xYTFiMWMxZDFlMWYiLCJleHAiOjg5OH0.2xXeM4AlvmMOwYXr2_pVGdXs1WLo4PhkFJaDTu1ivWQ"},
    {"EdDSA with JWTX_KEY_ID", "alice",
     "JWT_ALGORITHM = 'EdDSA'\nJWTX_PRIVATE_KEY_FILE = 'tests/fixtures/keys/ed25519.pem'\nJWTX_PUBLIC_KEY_FILE = 'tests/fixtures/keys/ed25519.pub.pem'\nJWTX_KEY_ID = 'k1'\n",
     1700000000.25, false, JWTX_FRESH_FALSE, 0, JWTX_EXPIRES_DEFAULT, 0, NULL, NULL,
     "{\"alg\":\"EdDSA\",\"kid\":\"k1\",\"typ\":\"JWT\"}",
     "{\"fresh\":false,\"iat\":1700000000,\"jti\":\"00010203-0405-4607-8809-0a0b0c0d0e0f\",\"type\":\"access\",\"sub\":\"alice\",\"nbf\":1700000000,\"csrf\":\"10111213-1415-4617-9819-1a1b1c1d1e1f\",\"exp\":1700000900}",
     "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.eyJmcmVzaCI6ZmFsc2UsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiMDAwMTAyMDMtMDQwNS00NjA3LTg4MDktMGEwYjBjMGQwZTBmIiwidHlwZSI6ImFjY2VzcyIsInN1YiI6ImFsaWNlIiwibmJmIjoxNzAwMDAwMDAwLCJjc3JmIjoiMTAxMTEyMTMtMTQxNS00NjE3LTk4MTktMWExYjFjMWQxZTFmIiwiZXhwIjoxNzAwMDAwOTAwfQ.6FG_Ze18s-uhmUWw4-mFK1GtnrM1yywJc3Y-qwZuRpSfzoW8vFpRBv94eFgsDeGzdat5WG6RT_ItwLy-5SPJBQ"},
    {"EdDSA, kid overridden", "alice",
     "JWT_ALGORITHM = 'EdDSA'\nJWTX_PRIVATE_KEY_FILE = 'tests/fixtures/keys/ed25519.pem'\nJWTX_PUBLIC_KEY_FILE = 'tests/fixtures/keys/ed25519.pub.pem'\nJWTX_KEY_ID = 'k1'\n",
     1700000000.25, false, JWTX_FRESH_FALSE, 0, JWTX_EXPIRES_DEFAULT, 0, NULL, "{\"kid\":\"other\"}",
     "{\"alg\":\"EdDSA\",\"kid\":\"other\",\"typ\":\"JWT\"}",
     "{\"fresh\":false,\"iat\":1700000000,\"jti\":\"00010203-0405-4607-8809-0a0b0c0d0e0f\",\"type\":\"access\",\"sub\":\"alice\",\"nbf\":1700000000,\"csrf\":\"10111213-1415-4617-9819-1a1b1c1d1e1f\",\"exp\":1700000900}",
     "eyJhbGciOiJFZERTQSIsImtpZCI6Im90aGVyIiwidHlwIjoiSldUIn0.eyJmcmVzaCI6ZmFsc2UsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiMDAwMTAyMDMtMDQwNS00NjA3LTg4MDktMGEwYjBjMGQwZTBmIiwidHlwZSI6ImFjY2VzcyIsInN1YiI6ImFsaWNlIiwibmJmIjoxNzAwMDAwMDAwLCJjc3JmIjoiMTAxMTEyMTMtMTQxNS00NjE3LTk4MTktMWExYjFjMWQxZTFmIiwiZXhwIjoxNzAwMDAwOTAwfQ.65cxrYExzE2-2FuT9FZnVXEGpNFVd-l_eAJlTConioI3wSKC7Q6lxktk5rtL4VViGB9KRTIkpVPkWrlRzIZrCQ"},
};

static void test_create_layout(void)
{
    for (size_t i = 0; i < sizeof create_rows / sizeof create_rows[0]; i++) {
        const struct create_row *r = &create_rows[i];
        jwtx_config cfg;
        if (load(&cfg, r->conf) != 0) {
            fprintf(stderr, "  row %s\n", r->name);
            CU_FAIL("config");
            continue;
        }
        fixed_now = r->now;
        counter = 0;
        jwtx_token_spec spec = {.refresh = r->refresh,
                                .fresh = r->fresh,
                                .fresh_for = r->fresh_for,
                                .expires = r->expires,
                                .expires_seconds = r->expires_seconds};
        json_t *claims = parse_opt(r->claims), *headers = parse_opt(r->headers);
        spec.claims = claims;
        spec.headers = headers;
        jwtx_buf out;
        jwtx_buf_init(&out);
        jwtx_error err;
        jwtx_error_clear(&err);
        jwtx_issued issued;
        int rc = jwtx_token_create(&cfg, r->identity, &spec, &out, &issued, &err);
        if (rc != 0)
            fprintf(stderr, "\n  row %s: %s\n", r->name, jwtx_error_message(&err));
        CU_ASSERT_EQUAL(rc, 0);
        if (rc == 0) {
            char *h = segment(out.data, 0), *p = segment(out.data, 1);
            JWTX_ASSERT_STR(h, r->header_json);
            JWTX_ASSERT_STR(p, r->payload_json);
            JWTX_ASSERT_STR(out.data, r->token);
            free(h);
            free(p);
            /* issued mirrors the final claims */
            json_t *pj = jwtx_json_parse(r->payload_json, strlen(r->payload_json), NULL, 0);
            JWTX_ASSERT_STR(issued.jti, json_string_value(json_object_get(pj, "jti")));
            json_t *csrf = json_object_get(pj, "csrf");
            JWTX_ASSERT_STR(issued.csrf, csrf ? json_string_value(csrf) : "");
            CU_ASSERT_EQUAL(issued.iat, json_integer_value(json_object_get(pj, "iat")));
            json_t *exp = json_object_get(pj, "exp");
            CU_ASSERT_EQUAL(issued.has_exp, exp != NULL);
            if (exp)
                CU_ASSERT_EQUAL(issued.exp, json_integer_value(exp));
            json_decref(pj);
        }
        json_decref(claims);
        json_decref(headers);
        jwtx_buf_clear(&out);
        jwtx_config_clear(&cfg);
    }
}

static const struct create_error_row {
    const char *name;
    const char *conf;
    const char *headers;
    const char *claims;
    jwtx_err code;
    const char *message;
} create_errors[] = {
    {"kid number", "", "{\"kid\":5}", NULL, JWTX_ERR_KID_NOT_STRING,
     "Key ID header parameter must be a string"},
    {"kid null", "", "{\"kid\":null}", NULL, JWTX_ERR_KID_NOT_STRING,
     "Key ID header parameter must be a string"},
    {"alg not in allow-list", "", "{\"alg\":\"HS512\"}", NULL, JWTX_ERR_ALG_NOT_ALLOWED,
     "The specified alg value is not allowed"},
    {"alg unknown", "", "{\"alg\":\"XX1\"}", NULL,
     JWTX_ERR_ALG_NOT_SUPPORTED, "Algorithm not supported"},
    {"alg not a string", "", "{\"alg\":1}", NULL, JWTX_ERR_ALG_NOT_SUPPORTED,
     "Algorithm not supported"},
    {"alg of another family", "JWT_DECODE_ALGORITHMS = ['HS256', 'RS256']\n"
     "JWTX_DECODE_KEYS = ['r1=tests/fixtures/keys/rsa2048.pub.pem']\n",
     "{\"alg\":\"RS256\"}", NULL, JWTX_ERR_KEY, NULL},
    {"b64 false", "", "{\"b64\":false}", NULL, JWTX_ERR_B64_FALSE, NULL},
    {"headers not an object", "", "[1]", NULL, JWTX_ERR_INTERNAL, NULL},
    {"claims not an object", "", NULL, "\"x\"", JWTX_ERR_INTERNAL, NULL},
};

static void test_create_errors(void)
{
    for (size_t i = 0; i < sizeof create_errors / sizeof create_errors[0]; i++) {
        const struct create_error_row *r = &create_errors[i];
        jwtx_config cfg;
        if (load(&cfg, r->conf) != 0) {
            fprintf(stderr, "  row %s\n", r->name);
            CU_FAIL("config");
            continue;
        }
        json_t *h = parse_opt(r->headers), *c = parse_opt(r->claims);
        jwtx_token_spec spec = {.headers = h, .claims = c};
        jwtx_buf out;
        jwtx_buf_init(&out);
        jwtx_buf_puts(&out, "keep");
        jwtx_error err;
        jwtx_error_clear(&err);
        CU_ASSERT_EQUAL(jwtx_token_create(&cfg, "alice", &spec, &out, NULL, &err), -1);
        if (err.code != r->code)
            fprintf(stderr, "\n  row %s: got %s (%s)\n", r->name, jwtx_err_name(err.code),
                    jwtx_error_message(&err));
        CU_ASSERT_EQUAL(err.code, r->code);
        if (r->message)
            JWTX_ASSERT_STR(jwtx_error_message(&err), r->message);
        JWTX_ASSERT_STR(out.data, "keep"); /* nothing appended on failure */
        jwtx_buf_clear(&out);
        json_decref(h);
        json_decref(c);
        jwtx_config_clear(&cfg);
    }
}

static void test_uuid4(void)
{
    char a[37], b[37];
    counter = 0;
    CU_ASSERT_EQUAL(jwtx_uuid4(a), 0);
    CU_ASSERT_EQUAL(jwtx_uuid4(b), 0);
    JWTX_ASSERT_STR(a, "00010203-0405-4607-8809-0a0b0c0d0e0f");
    JWTX_ASSERT_STR(b, "10111213-1415-4617-9819-1a1b1c1d1e1f");
    /* the real source: version and variant nibbles, all distinct */
    jwtx_tokens_set_sources(NULL, NULL);
    char seen[64][37];
    for (int i = 0; i < 64; i++) {
        CU_ASSERT_EQUAL(jwtx_uuid4(seen[i]), 0);
        CU_ASSERT_EQUAL(strlen(seen[i]), 36);
        CU_ASSERT_EQUAL(seen[i][14], '4');
        CU_ASSERT_PTR_NOT_NULL(strchr("89ab", seen[i][19]));
        for (int j = 0; j < i; j++)
            CU_ASSERT_NOT_EQUAL(strcmp(seen[i], seen[j]), 0);
    }
    double t = jwtx_now();
    CU_ASSERT_TRUE(t > 1.6e9 && t < 4e9);
    jwtx_tokens_set_sources(test_clock, test_random);
}

/* ------------------------------------------------------------------ */
/* Decoding                                                            */

/* hl bytes of header "." plen bytes of payload, signed with the config's
 * signing key. */
static char *craftn(const jwtx_config *cfg, const char *header_json, size_t hl,
                    const char *payload, size_t plen)
{
    jwtx_buf b;
    jwtx_buf_init(&b);
    char *h = malloc(jwtx_b64url_encoded_len(hl) + 1);
    char *p = malloc(jwtx_b64url_encoded_len(plen) + 1);
    jwtx_b64url_encode(header_json, hl, h);
    jwtx_b64url_encode(payload, plen, p);
    jwtx_buf_printf(&b, "%s.%s", h, p);
    free(h);
    free(p);
    unsigned char sig[JWTX_JWS_SIG_MAX];
    size_t slen = 0;
    jwtx_alg alg = jwtx_alg_parse(cfg->algorithm, strlen(cfg->algorithm));
    if (jwtx_jws_sign(alg, jwtx_keyset_signing(cfg->keys), (const unsigned char *)b.data, b.len,
                      sig, &slen) != 0) {
        jwtx_buf_clear(&b);
        return NULL;
    }
    char *s = malloc(jwtx_b64url_encoded_len(slen) + 1);
    jwtx_b64url_encode(sig, slen, s);
    jwtx_buf_printf(&b, ".%s", s);
    free(s);
    return b.data;
}

/* header_json "." payload bytes, signed with the config's signing key. */
static char *craft(const jwtx_config *cfg, const char *header_json, const char *payload,
                   size_t plen)
{
    return craftn(cfg, header_json, strlen(header_json), payload, plen);
}

#define NOW 1700000000.25

static const struct decode_row {
    const char *name;
    const char *conf;
    const char *payload; /* signed as is under {"alg":"HS256","typ":"JWT"} */
    bool allow_expired;
    const char *csrf; /* non-NULL: check_csrf with this value */
    jwtx_err code;    /* JWTX_OK = must decode */
    int status;
    const char *message;
} decode_rows[] = {
    /* payload JSON */
    {"not JSON", "", "not json", false, NULL, JWTX_ERR_PAYLOAD_STRING, 422,
     "Invalid payload string: Expecting value: line 1 column 1 (char 0)"},
    {"empty payload", "", "", false, NULL, JWTX_ERR_PAYLOAD_STRING, 422,
     "Invalid payload string: Expecting value: line 1 column 1 (char 0)"},
    {"trailing junk", "", "{\"sub\":\"a\"} x", false, NULL, JWTX_ERR_PAYLOAD_STRING, 422,
     "Invalid payload string: Extra data: line 1 column 13 (char 12)"},
    {"array payload", "", "[]", false, NULL, JWTX_ERR_PAYLOAD_STRING, 422,
     "Invalid payload string: must be a json object"},
    {"string payload", "", "\"x\"", false, NULL, JWTX_ERR_PAYLOAD_STRING, 422,
     "Invalid payload string: must be a json object"},
    {"bad UTF-8", "", "{\"sub\":\"\xb7\"}", false, NULL, JWTX_ERR_PAYLOAD_STRING, 422,
     "Invalid payload string: 'utf-8' codec can't decode byte 0xb7 in position 8: invalid start "
     "byte"},
    /* iat */
    {"iat string", "", "{\"sub\":\"a\",\"iat\":\"abc\"}", false, NULL, JWTX_ERR_IAT_NOT_INT, 422,
     "Issued At claim (iat) must be an integer."},
    {"iat 12.5 string", "", "{\"sub\":\"a\",\"iat\":\"12.5\"}", false, NULL, JWTX_ERR_IAT_NOT_INT,
     422, "Issued At claim (iat) must be an integer."},
    {"iat null", "", "{\"sub\":\"a\",\"iat\":null}", false, NULL, JWTX_ERR_IAT_NOT_INT, 422,
     "Issued At claim (iat) must be an integer."},
    {"iat array", "", "{\"sub\":\"a\",\"iat\":[1]}", false, NULL, JWTX_ERR_IAT_NOT_INT, 422,
     "Issued At claim (iat) must be an integer."},
    {"iat object", "", "{\"sub\":\"a\",\"iat\":{}}", false, NULL, JWTX_ERR_IAT_NOT_INT, 422,
     "Issued At claim (iat) must be an integer."},
    {"iat NaN", "", "{\"sub\":\"a\",\"iat\":NaN}", false, NULL, JWTX_ERR_IAT_NOT_INT, 422,
     "Issued At claim (iat) must be an integer."},
    {"iat -Infinity", "", "{\"sub\":\"a\",\"iat\":-Infinity}", false, NULL, JWTX_ERR_IAT_NOT_INT,
     422, "Issued At claim (iat) must be an integer."},
    {"iat future", "", "{\"sub\":\"a\",\"iat\":1700000001}", false, NULL, JWTX_ERR_IAT_FUTURE, 422,
     "The token is not yet valid (iat)"},
    /* strings are no NumericDate, whatever int() makes of them */
    {"iat future as string", "", "{\"sub\":\"a\",\"iat\":\" 1700000001\\n\"}", false, NULL,
     JWTX_ERR_IAT_NOT_INT, 422, "Issued At claim (iat) must be an integer."},
    {"iat future with underscores", "", "{\"sub\":\"a\",\"iat\":\"1_700_000_001\"}", false, NULL,
     JWTX_ERR_IAT_NOT_INT, 422, "Issued At claim (iat) must be an integer."},
    {"iat bad underscores", "", "{\"sub\":\"a\",\"iat\":\"1__7\"}", false, NULL,
     JWTX_ERR_IAT_NOT_INT, 422, "Issued At claim (iat) must be an integer."},
    {"iat float truncated", "", "{\"sub\":\"a\",\"iat\":1700000000.99}", false, NULL, JWTX_OK, 200,
     NULL},
    {"iat now as string", "", "{\"sub\":\"a\",\"iat\":\"+1700000000\"}", false, NULL,
     JWTX_ERR_IAT_NOT_INT, 422, "Issued At claim (iat) must be an integer."},
    {"nbf past as string", "", "{\"sub\":\"a\",\"nbf\":\"1600000000\"}", false, NULL,
     JWTX_ERR_NBF_NOT_INT, 422, "Not Before claim (nbf) must be an integer."},
    {"exp far future as string", "", "{\"sub\":\"a\",\"exp\":\"9999999999\"}", false, NULL,
     JWTX_ERR_EXP_NOT_INT, 422, "Expiration Time claim (exp) must be an integer."},
    {"exp far future as number", "", "{\"sub\":\"a\",\"exp\":9999999999}", false, NULL, JWTX_OK,
     200, NULL},
    {"iat true", "", "{\"sub\":\"a\",\"iat\":true}", false, NULL, JWTX_OK, 200, NULL},
    {"iat huge", "", "{\"sub\":\"a\",\"iat\":99999999999999999999999}", false, NULL,
     JWTX_ERR_IAT_FUTURE, 422, "The token is not yet valid (iat)"},
    /* nbf */
    {"nbf string", "", "{\"sub\":\"a\",\"nbf\":\"x\"}", false, NULL, JWTX_ERR_NBF_NOT_INT, 422,
     "Not Before claim (nbf) must be an integer."},
    {"nbf object", "", "{\"sub\":\"a\",\"nbf\":{\"a\":1}}", false, NULL, JWTX_ERR_NBF_NOT_INT, 422,
     "Not Before claim (nbf) must be an integer."},
    {"nbf future", "", "{\"sub\":\"a\",\"nbf\":1700000001}", false, NULL, JWTX_ERR_NBF_FUTURE, 422,
     "The token is not yet valid (nbf)"},
    {"nbf now", "", "{\"sub\":\"a\",\"nbf\":1700000000}", false, NULL, JWTX_OK, 200, NULL},
    /* exp */
    {"exp string", "", "{\"sub\":\"a\",\"exp\":\"soon\"}", false, NULL, JWTX_ERR_EXP_NOT_INT, 422,
     "Expiration Time claim (exp) must be an integer."},
    {"exp NaN", "", "{\"sub\":\"a\",\"exp\":NaN}", false, NULL, JWTX_ERR_EXP_NOT_INT, 422,
     "Expiration Time claim (exp) must be an integer."},
    {"exp Infinity", "", "{\"sub\":\"a\",\"exp\":Infinity}", false, NULL, JWTX_ERR_EXP_NOT_INT,
     422, "Expiration Time claim (exp) must be an integer."},
    {"exp null", "", "{\"sub\":\"a\",\"exp\":null}", false, NULL, JWTX_ERR_EXP_NOT_INT, 422,
     "Expiration Time claim (exp) must be an integer."},
    {"exp == now (floor)", "", "{\"sub\":\"a\",\"exp\":1700000000}", false, NULL, JWTX_ERR_EXPIRED,
     401, "Token has expired"},
    {"exp past", "", "{\"sub\":\"a\",\"exp\":1}", false, NULL, JWTX_ERR_EXPIRED, 401,
     "Token has expired"},
    {"exp next second", "", "{\"sub\":\"a\",\"exp\":1700000001}", false, NULL, JWTX_OK, 200, NULL},
    {"exp past, allow_expired", "", "{\"sub\":\"a\",\"exp\":1}", true, NULL, JWTX_OK, 200, NULL},
    /* leeway */
    {"leeway keeps exp", "JWT_DECODE_LEEWAY = 10\n", "{\"sub\":\"a\",\"exp\":1699999991}", false,
     NULL, JWTX_OK, 200, NULL},
    {"leeway exceeded", "JWT_DECODE_LEEWAY = 10\n", "{\"sub\":\"a\",\"exp\":1699999990}", false,
     NULL, JWTX_ERR_EXPIRED, 401, "Token has expired"},
    {"leeway iat", "JWT_DECODE_LEEWAY = 10\n", "{\"sub\":\"a\",\"iat\":1700000010}", false, NULL,
     JWTX_OK, 200, NULL},
    {"leeway nbf exceeded", "JWT_DECODE_LEEWAY = 10\n", "{\"sub\":\"a\",\"nbf\":1700000011}", false,
     NULL, JWTX_ERR_NBF_FUTURE, 422, "The token is not yet valid (nbf)"},
    /* iss */
    {"iss missing", "JWT_DECODE_ISSUER = 'me'\n", "{\"sub\":\"a\"}", false, NULL,
     JWTX_ERR_ISS_MISSING, 422, "Token is missing the \"iss\" claim"},
    {"iss number", "JWT_DECODE_ISSUER = 'me'\n", "{\"sub\":\"a\",\"iss\":5}", false, NULL,
     JWTX_ERR_ISS_NOT_STRING, 422, "Payload Issuer (iss) must be a string"},
    {"iss other", "JWT_DECODE_ISSUER = 'me'\n", "{\"sub\":\"a\",\"iss\":\"you\"}", false, NULL,
     JWTX_ERR_ISS_INVALID, 422, "Invalid issuer"},
    {"iss prefix", "JWT_DECODE_ISSUER = 'me'\n", "{\"sub\":\"a\",\"iss\":\"m\"}", false, NULL,
     JWTX_ERR_ISS_INVALID, 422, "Invalid issuer"},
    {"iss ok", "JWT_DECODE_ISSUER = 'me'\n", "{\"sub\":\"a\",\"iss\":\"me\"}", false, NULL, JWTX_OK,
     200, NULL},
    {"iss member of list", "JWT_DECODE_ISSUER = ['x', 'me']\n", "{\"sub\":\"a\",\"iss\":\"me\"}",
     false, NULL, JWTX_OK, 200, NULL},
    {"iss not checked when unset", "", "{\"sub\":\"a\",\"iss\":5}", false, NULL, JWTX_OK, 200, NULL},
    /* aud */
    {"aud missing", "JWT_DECODE_AUDIENCE = ['a1', 'a2']\n", "{\"sub\":\"a\"}", false, NULL,
     JWTX_ERR_AUD_MISSING, 422, "Token is missing the \"aud\" claim"},
    {"aud empty string", "JWT_DECODE_AUDIENCE = 'a1'\n", "{\"sub\":\"a\",\"aud\":\"\"}", false, NULL,
     JWTX_ERR_AUD_MISSING, 422, "Token is missing the \"aud\" claim"},
    {"aud empty list", "JWT_DECODE_AUDIENCE = 'a1'\n", "{\"sub\":\"a\",\"aud\":[]}", false, NULL,
     JWTX_ERR_AUD_MISSING, 422, "Token is missing the \"aud\" claim"},
    {"aud zero", "JWT_DECODE_AUDIENCE = 'a1'\n", "{\"sub\":\"a\",\"aud\":0}", false, NULL,
     JWTX_ERR_AUD_MISSING, 422, "Token is missing the \"aud\" claim"},
    {"aud number", "JWT_DECODE_AUDIENCE = 'a1'\n", "{\"sub\":\"a\",\"aud\":5}", false, NULL,
     JWTX_ERR_AUD_FORMAT, 422, "Invalid claim format in token"},
    {"aud object", "JWT_DECODE_AUDIENCE = 'a1'\n", "{\"sub\":\"a\",\"aud\":{\"a1\":1}}", false,
     NULL, JWTX_ERR_AUD_FORMAT, 422, "Invalid claim format in token"},
    {"aud list with number", "JWT_DECODE_AUDIENCE = 'a1'\n", "{\"sub\":\"a\",\"aud\":[\"a1\",1]}",
     false, NULL, JWTX_ERR_AUD_FORMAT, 422, "Invalid claim format in token"},
    {"aud mismatch", "JWT_DECODE_AUDIENCE = ['a1', 'a2']\n", "{\"sub\":\"a\",\"aud\":\"x\"}", false,
     NULL, JWTX_ERR_AUD_MISMATCH, 422, "Audience doesn't match"},
    {"aud list mismatch", "JWT_DECODE_AUDIENCE = 'a1'\n", "{\"sub\":\"a\",\"aud\":[\"x\",\"y\"]}",
     false, NULL, JWTX_ERR_AUD_MISMATCH, 422, "Audience doesn't match"},
    {"aud list match", "JWT_DECODE_AUDIENCE = ['a1', 'a2']\n",
     "{\"sub\":\"a\",\"aud\":[\"x\",\"a2\"]}", false, NULL, JWTX_OK, 200, NULL},
    {"aud string match", "JWT_DECODE_AUDIENCE = ['a1', 'a2']\n", "{\"sub\":\"a\",\"aud\":\"a1\"}",
     false, NULL, JWTX_OK, 200, NULL},
    {"aud unchecked when unset", "", "{\"sub\":\"a\",\"aud\":5}", false, NULL, JWTX_OK, 200, NULL},
    /* sub, jti, identity */
    {"sub number", "", "{\"sub\":123}", false, NULL, JWTX_ERR_SUB_NOT_STRING, 422,
     "Subject must be a string"},
    {"sub false", "", "{\"sub\":false}", false, NULL, JWTX_ERR_SUB_NOT_STRING, 422,
     "Subject must be a string"},
    {"sub array", "", "{\"sub\":[]}", false, NULL, JWTX_ERR_SUB_NOT_STRING, 422,
     "Subject must be a string"},
    {"sub number, verify off", "JWT_VERIFY_SUB = False\n", "{\"sub\":123}", false, NULL, JWTX_OK,
     200, NULL},
    {"sub checked under custom identity claim", "JWT_IDENTITY_CLAIM = 'id'\n",
     "{\"id\":\"a\",\"sub\":1}", false, NULL, JWTX_ERR_SUB_NOT_STRING, 422,
     "Subject must be a string"},
    {"jti number", "", "{\"sub\":\"a\",\"jti\":5}", false, NULL, JWTX_ERR_JTI_NOT_STRING, 422,
     "JWT ID must be a string"},
    {"jti null", "", "{\"sub\":\"a\",\"jti\":null}", false, NULL, JWTX_ERR_JTI_NOT_STRING, 422,
     "JWT ID must be a string"},
    {"identity missing", "", "{\"iat\":1}", false, NULL, JWTX_ERR_MISSING_CLAIM, 422,
     "Missing claim: sub"},
    {"custom identity missing", "JWT_IDENTITY_CLAIM = 'user'\n", "{\"sub\":\"a\"}", false, NULL,
     JWTX_ERR_MISSING_CLAIM, 422, "Missing claim: user"},
    {"identity of any type", "", "{\"sub\":\"a\"}", false, NULL, JWTX_OK, 200, NULL},
    /* identity holding U+0000: refused (a deliberate difference, see errors.h) */
    {"identity with NUL", "", "{\"sub\":\"testuser\\u0000x\"}", false, NULL,
     JWTX_ERR_IDENTITY_NUL, 422, "Identity claim must not contain a NUL character"},
    {"identity is NUL", "", "{\"sub\":\"\\u0000\"}", false, NULL, JWTX_ERR_IDENTITY_NUL, 422,
     "Identity claim must not contain a NUL character"},
    {"identity ends in NUL", "", "{\"sub\":\"bob\\u0000\"}", false, NULL, JWTX_ERR_IDENTITY_NUL,
     422, "Identity claim must not contain a NUL character"},
    {"custom identity with NUL", "JWT_IDENTITY_CLAIM = 'user'\n",
     "{\"user\":\"a\\u0000b\",\"sub\":\"c\"}", false, NULL, JWTX_ERR_IDENTITY_NUL, 422,
     "Identity claim must not contain a NUL character"},
    {"NUL in sub, identity elsewhere", "JWT_IDENTITY_CLAIM = 'user'\n",
     "{\"user\":\"a\",\"sub\":\"b\\u0000\"}", false, NULL, JWTX_OK, 200, NULL},
    {"NUL in another claim", "", "{\"sub\":\"a\",\"role\":\"x\\u0000\"}", false, NULL,
     JWTX_OK, 200, NULL},
    {"identity with escaped backslash-u0000 text", "", "{\"sub\":\"a\\\\u0000\"}", false,
     NULL, JWTX_OK, 200, NULL},
    {"identity NUL, sub check off", "JWT_VERIFY_SUB = False\n", "{\"sub\":\"a\\u0000\"}", false,
     NULL, JWTX_ERR_IDENTITY_NUL, 422, "Identity claim must not contain a NUL character"},
    {"identity NUL + expired", "", "{\"sub\":\"a\\u0000\",\"exp\":1}", false, NULL,
     JWTX_ERR_IDENTITY_NUL, 422, "Identity claim must not contain a NUL character"},
    {"identity NUL + expired, allow_expired", "", "{\"sub\":\"a\\u0000\",\"exp\":1}", true,
     NULL, JWTX_ERR_IDENTITY_NUL, 422, "Identity claim must not contain a NUL character"},
    {"identity NUL + CSRF mismatch", "", "{\"sub\":\"a\\u0000\",\"csrf\":\"x\"}", false, "y",
     JWTX_ERR_IDENTITY_NUL, 422, "Identity claim must not contain a NUL character"},
    {"jti type before identity NUL", "", "{\"sub\":\"a\\u0000\",\"jti\":1}", false, NULL,
     JWTX_ERR_JTI_NOT_STRING, 422, "JWT ID must be a string"},
    {"nbf before identity NUL", "", "{\"sub\":\"a\\u0000\",\"nbf\":1800000000}", false, NULL,
     JWTX_ERR_NBF_FUTURE, 422, "The token is not yet valid (nbf)"},
    /* precedence: expiry is reported last (spec section 3, step 10) */
    {"expired + jti wrong type", "", "{\"sub\":\"a\",\"exp\":1,\"jti\":1}", false, NULL,
     JWTX_ERR_JTI_NOT_STRING, 422, "JWT ID must be a string"},
    {"expired + no sub", "", "{\"exp\":1}", false, NULL, JWTX_ERR_MISSING_CLAIM, 422,
     "Missing claim: sub"},
    {"expired + nbf future", "", "{\"sub\":\"a\",\"exp\":1,\"nbf\":1800000000}", false, NULL,
     JWTX_ERR_NBF_FUTURE, 422, "The token is not yet valid (nbf)"},
    {"expired + iat future", "", "{\"sub\":\"a\",\"exp\":1,\"iat\":1800000000}", false, NULL,
     JWTX_ERR_IAT_FUTURE, 422, "The token is not yet valid (iat)"},
    {"expired + sub number", "", "{\"sub\":1,\"exp\":1}", false, NULL, JWTX_ERR_SUB_NOT_STRING,
     422, "Subject must be a string"},
    {"expired + issuer", "JWT_DECODE_ISSUER = 'me'\n", "{\"sub\":\"a\",\"exp\":1}", false, NULL,
     JWTX_ERR_ISS_MISSING, 422, "Token is missing the \"iss\" claim"},
    {"expired + audience", "JWT_DECODE_AUDIENCE = 'a1'\n", "{\"sub\":\"a\",\"exp\":1,\"aud\":\"b\"}",
     false, NULL, JWTX_ERR_AUD_MISMATCH, 422, "Audience doesn't match"},
    {"expired + CSRF mismatch", "", "{\"sub\":\"a\",\"exp\":1,\"csrf\":\"abc\"}", false, "abd",
     JWTX_ERR_CSRF_MISMATCH, 401, "CSRF double submit tokens do not match"},
    {"expired + CSRF ok", "", "{\"sub\":\"a\",\"exp\":1,\"csrf\":\"abc\"}", false, "abc",
     JWTX_ERR_EXPIRED, 401, "Token has expired"},
    {"expired + exp type checked first", "", "{\"sub\":\"a\",\"exp\":\"x\",\"jti\":1}", false, NULL,
     JWTX_ERR_EXP_NOT_INT, 422, "Expiration Time claim (exp) must be an integer."},
    /* CSRF */
    {"csrf match", "", "{\"sub\":\"a\",\"csrf\":\"abc\"}", false, "abc", JWTX_OK, 200, NULL},
    {"csrf mismatch", "", "{\"sub\":\"a\",\"csrf\":\"abc\"}", false, "ABC", JWTX_ERR_CSRF_MISMATCH,
     401, "CSRF double submit tokens do not match"},
    {"csrf prefix", "", "{\"sub\":\"a\",\"csrf\":\"abc\"}", false, "ab", JWTX_ERR_CSRF_MISMATCH,
     401, "CSRF double submit tokens do not match"},
    {"csrf claim missing", "", "{\"sub\":\"a\"}", false, "abc", JWTX_ERR_MISSING_CLAIM, 422,
     "Missing claim: csrf"},
    {"csrf claim number", "", "{\"sub\":\"a\",\"csrf\":5}", false, "5", JWTX_ERR_CSRF_MISMATCH, 401,
     "CSRF double submit tokens do not match"},
    {"csrf non-ASCII value", "", "{\"sub\":\"a\",\"csrf\":\"\\u00e9\"}", false, "\xc3\xa9",
     JWTX_ERR_CSRF_MISMATCH, 401, "CSRF double submit tokens do not match"},
    {"csrf empty value", "", "{\"sub\":\"a\",\"csrf\":\"\"}", false, "", JWTX_ERR_CSRF_MISMATCH, 401,
     "CSRF double submit tokens do not match"},
    {"csrf not checked without value", "", "{\"sub\":\"a\"}", false, NULL, JWTX_OK, 200, NULL},
    {"identity before csrf", "", "{\"csrf\":\"abc\"}", false, "x", JWTX_ERR_MISSING_CLAIM, 422,
     "Missing claim: sub"},
};

static void test_decode_table(void)
{
    fixed_now = NOW;
    for (size_t i = 0; i < sizeof decode_rows / sizeof decode_rows[0]; i++) {
        const struct decode_row *r = &decode_rows[i];
        jwtx_config cfg;
        if (load(&cfg, r->conf) != 0) {
            fprintf(stderr, "  row %s\n", r->name);
            CU_FAIL("config");
            continue;
        }
        char *tok = craft(&cfg, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", r->payload, strlen(r->payload));
        CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
        jwtx_decode_opts opts = {.allow_expired = r->allow_expired};
        if (r->csrf) {
            opts.check_csrf = true;
            opts.csrf = r->csrf;
            opts.csrf_len = strlen(r->csrf);
        }
        jwtx_token t = {0};
        jwtx_error err;
        jwtx_error_clear(&err);
        int rc = jwtx_token_decode(&cfg, tok, strlen(tok), &opts, &t, &err);
        if (rc != (r->code == JWTX_OK ? 0 : -1) || err.code != r->code)
            fprintf(stderr, "\n  row %s: got %s (%s)\n", r->name, jwtx_err_name(err.code),
                    jwtx_error_message(&err));
        CU_ASSERT_EQUAL(rc, r->code == JWTX_OK ? 0 : -1);
        CU_ASSERT_EQUAL(err.code, r->code);
        if (r->code != JWTX_OK) {
            CU_ASSERT_EQUAL(jwtx_err_status(err.code), r->status);
            JWTX_ASSERT_STR(jwtx_error_message(&err), r->message);
            CU_ASSERT_PTR_NULL(t.claims);
            CU_ASSERT_PTR_NULL(t.header);
        } else {
            CU_ASSERT_PTR_NOT_NULL(t.claims);
            CU_ASSERT_PTR_NOT_NULL(t.header);
        }
        jwtx_token_clear(&t);
        free(tok);
        jwtx_config_clear(&cfg);
    }
}

/* Signature and structure errors come from jws.c; check they pass through
 * and that the signature is checked before the payload is parsed. */
static void test_decode_signature_first(void)
{
    fixed_now = NOW;
    jwtx_config cfg;
    CU_ASSERT_EQUAL_FATAL(load(&cfg, ""), 0);
    char *tok = craft(&cfg, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", "{\"sub\":\"a\",\"exp\":1,\"csrf\":\"x\"}", 31);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
    jwtx_error err;
    jwtx_token t = {0};
    /* tamper with the last signature character */
    size_t n = strlen(tok);
    tok[n - 1] = tok[n - 1] == 'A' ? 'Q' : 'A';
    jwtx_decode_opts opts = {.check_csrf = true, .csrf = "y", .csrf_len = 1};
    CU_ASSERT_EQUAL(jwtx_token_decode(&cfg, tok, n, &opts, &t, &err), -1);
    CU_ASSERT_EQUAL(err.code, JWTX_ERR_SIGNATURE);
    JWTX_ASSERT_STR(jwtx_error_message(&err), "Signature verification failed");
    free(tok);

    /* a payload that is not JSON but whose signature is wrong: signature error */
    tok = craft(&cfg, "{\"alg\":\"HS256\"}", "garbage", 7);
    char *dot = strrchr(tok, '.');
    dot[1] = dot[1] == 'A' ? 'B' : 'A';
    CU_ASSERT_EQUAL(jwtx_token_decode(&cfg, tok, strlen(tok), NULL, &t, &err), -1);
    CU_ASSERT_EQUAL(err.code, JWTX_ERR_SIGNATURE);
    free(tok);

    CU_ASSERT_EQUAL(jwtx_token_decode(&cfg, "abc", 3, NULL, &t, &err), -1);
    CU_ASSERT_EQUAL(err.code, JWTX_ERR_NOT_ENOUGH_SEGMENTS);
    CU_ASSERT_EQUAL(jwtx_token_decode(&cfg, NULL, 0, NULL, &t, &err), -1);
    CU_ASSERT_EQUAL(err.code, JWTX_ERR_TOKEN_TYPE);

    /* an oversized token is refused before any work */
    size_t big = JWTX_TOKEN_MAX + 1;
    char *huge = malloc(big);
    memset(huge, 'a', big);
    huge[10] = '.';
    huge[20] = '.';
    CU_ASSERT_EQUAL(jwtx_token_decode(&cfg, huge, big, NULL, &t, &err), -1);
    CU_ASSERT_EQUAL(err.code, JWTX_ERR_SIGNATURE);
    free(huge);
    CU_ASSERT_PTR_NULL(t.claims);
    jwtx_config_clear(&cfg);
}

/* create -> decode, defaults filled, accessors. */
static void test_roundtrip_and_accessors(void)
{
    fixed_now = NOW;
    counter = 0;
    jwtx_config cfg;
    CU_ASSERT_EQUAL_FATAL(load(&cfg, "JWT_IDENTITY_CLAIM = 'who'\n"), 0);
    jwtx_token_spec spec = {.fresh = JWTX_FRESH_FOR, .fresh_for = 60};
    jwtx_buf out;
    jwtx_buf_init(&out);
    jwtx_error err;
    jwtx_issued iss;
    CU_ASSERT_EQUAL_FATAL(jwtx_token_create(&cfg, "carol", &spec, &out, &iss, &err), 0);
    jwtx_token t = {0};
    jwtx_decode_opts opts = {.check_csrf = true, .csrf = iss.csrf, .csrf_len = strlen(iss.csrf)};
    CU_ASSERT_EQUAL_FATAL(jwtx_token_decode(&cfg, out.data, out.len, &opts, &t, &err), 0);
    JWTX_ASSERT_STR(jwtx_token_identity(&cfg, &t), "carol");
    JWTX_ASSERT_STR(jwtx_token_type(&t), "access");
    JWTX_ASSERT_STR(jwtx_token_jti(&t), iss.jti);
    long long v = 0;
    CU_ASSERT_TRUE(jwtx_token_exp(&t, &v));
    CU_ASSERT_EQUAL(v, 1700000900);
    CU_ASSERT_TRUE(jwtx_token_iat(&t, &v));
    CU_ASSERT_EQUAL(v, 1700000000);
    CU_ASSERT_TRUE(jwtx_token_is_fresh(&t, NOW + 59.0));
    CU_ASSERT_TRUE(jwtx_token_is_fresh(&t, NOW + 60.0));
    CU_ASSERT_FALSE(jwtx_token_is_fresh(&t, NOW + 60.5));
    JWTX_ASSERT_STR(json_string_value(json_object_get(t.header, "typ")), "JWT");
    jwtx_token_clear(&t);
    jwtx_token_clear(&t); /* idempotent */
    jwtx_buf_clear(&out);

    /* defaults: type access, fresh false, jti null, appended in that order */
    char *tok = craft(&cfg, "{\"alg\":\"HS256\"}", "{\"who\":\"d\"}", 11);
    CU_ASSERT_EQUAL_FATAL(jwtx_token_decode(&cfg, tok, strlen(tok), NULL, &t, &err), 0);
    jwtx_buf b;
    jwtx_buf_init(&b);
    jwtx_json_dump(t.claims, 0, &b);
    JWTX_ASSERT_STR(b.data, "{\"who\":\"d\",\"type\":\"access\",\"fresh\":false,\"jti\":null}");
    CU_ASSERT_PTR_NULL(jwtx_token_jti(&t));
    CU_ASSERT_FALSE(jwtx_token_exp(&t, &v));
    CU_ASSERT_FALSE(jwtx_token_iat(&t, &v));
    CU_ASSERT_FALSE(jwtx_token_is_fresh(&t, NOW));
    jwtx_buf_clear(&b);
    jwtx_token_clear(&t);
    free(tok);
    jwtx_config_clear(&cfg);
}

static void test_is_fresh(void)
{
    static const struct {
        const char *fresh;
        bool expect;
    } rows[] = {
        {"true", true},         {"false", false},        {"1", false},
        {"1700000000.5", true}, {"1700000000.25", true}, {"1700000000.0", false},
        {"1800000000", true},   {"\"x\"", false},        {"null", false},
        {"[]", false},          {"NaN", false},          {"Infinity", false /* read as null: deny */},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        jwtx_token t = {0};
        char text[64];
        snprintf(text, sizeof text, "{\"fresh\":%s}", rows[i].fresh);
        t.claims = jwtx_json_parse(text, strlen(text), NULL, 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t.claims);
        if (jwtx_token_is_fresh(&t, NOW) != rows[i].expect)
            fprintf(stderr, "\n  fresh %s\n", rows[i].fresh);
        CU_ASSERT_EQUAL(jwtx_token_is_fresh(&t, NOW), rows[i].expect);
        jwtx_token_clear(&t);
    }
    CU_ASSERT_FALSE(jwtx_token_is_fresh(NULL, NOW));
}

/* ------------------------------------------------------------------ */
/* NumericDate claims are JSON numbers                                 */

/* Strings that Python's int() reads as integers (whitespace around them,
 * Unicode digits, underscores, signs, far past and future) and some it does
 * not. PyJWT accepts the first kind in iat, nbf and exp; jwtx refuses every
 * string there with the claim's "must be an integer." message, before any
 * expiry (spec/README.md point 8, RFC 7519 section 2). */
static const char *const string_dates[] = {
    "\"12\"",
    "\"\\u001c12\"",
    "\"12\\u001c\"",
    "\"\\u001d12\"",
    "\"\\u001e12\"",
    "\"12\\u001f\"",
    "\"\\t12\"",
    "\"\\n12\\n\"",
    "\"\\u000b12\"",
    "\"\\f12\"",
    "\"\\r12\"",
    "\" 12 \"",
    "\"\\u008512\\u0085\"",
    "\"\\u00a012\\u00a0\"",
    "\"\\u168012\"",
    "\"\\u200012\"",
    "\"\\u200a12\"",
    "\"\\u202812\"",
    "\"\\u202912\"",
    "\"\\u202f12\"",
    "\"\\u205f12\"",
    "\"\\u300012\\u3000\"",
    "\" \\t\\u3000 12 \\u2029\\r\\n\"",
    "\"\\u200b12\"",
    "\"\\u180e12\"",
    "\"\\ufeff12\"",
    "\"\\u00a0\"",
    "\"\"",
    "\" \"",
    "\"-\"",
    "\"+\"",
    "\"\\uff11\\uff12\"",
    "\"\\u0661\\u0662\\u0663\"",
    "\"\\ud835\\udfd9\"",
    "\"\\u06f1\\u06f2\"",
    "\"1\\u0661\\ud835\\udfd9\"",
    "\"\\u0669\"",
    "\"\\u066a\"",
    "\"\\ud835\\udfff\"",
    "\"\\ud83e\\udff9\"",
    "\"\\ud83e\\udffa\"",
    "\"\\u00b2\"",
    "\"\\u216b\"",
    "\"1_000\"",
    "\"1__0\"",
    "\"_1\"",
    "\"1_\"",
    "\"+_1\"",
    "\"-1_0\"",
    "\"\\u0661_\\u0662\"",
    "\"1_ \"",
    "\"1_2_3\"",
    "\"0_0\"",
    "\"+12\"",
    "\"-12\"",
    "\"+-1\"",
    "\"++1\"",
    "\"- 1\"",
    "\" -1 \"",
    "\"\\u3000-12\\u3000\"",
    "\"-\\u300012\"",
    "\"1\\u00a02\"",
    "\"00012\"",
    "\"\\ud800\"",
    "\"1\\ud800\"",
    "\"1\\u0000\"",
    "\"1\\u00002\"",
    "\"12.5\"",
    "\"1e3\"",
    "\"0x10\"",
    "\"\\uff0b1\"",
    "\"1700000000\"",
    "\"1700000001\"",
    "\"-0\"",
    "\"9007199254740993\"",
    "\"18446744073709551615\"",
    "\"18446744073709551616\"",
    "\"-99999999999999999999999\"",
    "\"99999999999999999999999999999999999999\"",
    "\"9999999999\"",
};

static void test_string_dates_refused(void)
{
    fixed_now = NOW;
    jwtx_config cfg;
    CU_ASSERT_EQUAL_FATAL(load(&cfg, ""), 0);
    static const struct {
        const char *claim;
        jwtx_err want;
        const char *message;
    } claims[] = {
        {"exp", JWTX_ERR_EXP_NOT_INT, "Expiration Time claim (exp) must be an integer."},
        {"iat", JWTX_ERR_IAT_NOT_INT, "Issued At claim (iat) must be an integer."},
        {"nbf", JWTX_ERR_NBF_NOT_INT, "Not Before claim (nbf) must be an integer."},
    };
    for (size_t i = 0; i < sizeof string_dates / sizeof string_dates[0]; i++) {
        for (size_t c = 0; c < 3; c++) {
            char payload[256];
            snprintf(payload, sizeof payload, "{\"sub\":\"a\",\"%s\":%s}", claims[c].claim,
                     string_dates[i]);
            char *tok = craft(&cfg, "{\"alg\":\"HS256\"}", payload, strlen(payload));
            CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
            /* Refused with and without the expiry check. */
            for (int allow_expired = 0; allow_expired < 2; allow_expired++) {
                jwtx_decode_opts opts = {.allow_expired = allow_expired != 0};
                jwtx_token t = {0};
                jwtx_error err;
                jwtx_error_clear(&err);
                int rc = jwtx_token_decode(&cfg, tok, strlen(tok), &opts, &t, &err);
                if (err.code != claims[c].want)
                    fprintf(stderr, "\n  %s %s: got %s\n", claims[c].claim, string_dates[i],
                            jwtx_err_name(err.code));
                CU_ASSERT_EQUAL(rc, -1);
                CU_ASSERT_EQUAL(err.code, claims[c].want);
                CU_ASSERT_EQUAL(jwtx_err_status(err.code), 422);
                JWTX_ASSERT_STR(jwtx_error_message(&err), claims[c].message);
                jwtx_token_clear(&t);
            }
            free(tok);
        }
    }
    jwtx_config_clear(&cfg);
}

/* JSON numbers keep Python's int(): floats truncated, bools 1/0. */
static void test_numeric_dates(void)
{
    fixed_now = NOW;
    jwtx_config cfg;
    CU_ASSERT_EQUAL_FATAL(load(&cfg, ""), 0);
    static const struct {
        const char *json;
        long long value;
    } rows[] = {
        {"9999999999", 9999999999LL}, {"1700000001.9", 1700000001LL}, {"-12.5", -12LL},
        {"true", 1LL},                {"false", 0LL},                 {"0", 0LL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char payload[128];
        snprintf(payload, sizeof payload, "{\"sub\":\"a\",\"exp\":%s}", rows[i].json);
        char *tok = craft(&cfg, "{\"alg\":\"HS256\"}", payload, strlen(payload));
        CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
        jwtx_decode_opts opts = {.allow_expired = true};
        jwtx_token t = {0};
        jwtx_error err;
        jwtx_error_clear(&err);
        CU_ASSERT_EQUAL(jwtx_token_decode(&cfg, tok, strlen(tok), &opts, &t, &err), 0);
        long long v = -1;
        CU_ASSERT_TRUE(jwtx_token_exp(&t, &v));
        CU_ASSERT_EQUAL(v, rows[i].value);
        jwtx_token_clear(&t);
        jwtx_error_clear(&err);
        int rc = jwtx_token_decode(&cfg, tok, strlen(tok), NULL, &t, &err);
        CU_ASSERT_EQUAL(rc, (double)rows[i].value > NOW ? 0 : -1);
        CU_ASSERT_EQUAL(err.code, (double)rows[i].value > NOW ? JWTX_OK : JWTX_ERR_EXPIRED);
        jwtx_token_clear(&t);
        free(tok);
    }
    jwtx_config_clear(&cfg);
}

/* Long digit runs: as JSON numbers, beyond 64 bits the value still orders
 * right against the clock, and json.loads refuses more than 4300 digits
 * (sys.get_int_max_str_digits()); as strings they are refused whatever
 * their length. */
static void test_int_digit_limit(void)
{
    fixed_now = NOW;
    jwtx_config cfg;
    CU_ASSERT_EQUAL_FATAL(load(&cfg, ""), 0);
    static const struct {
        const char *claim;
        const char *sign;
        char digit;
        size_t ndigits;
        bool underscores; /* "d_d_..._d" */
        bool json_number; /* a JSON number instead of a string */
        jwtx_err want;
    } rows[] = {
        /* strings of any length are no NumericDate */
        {"exp", "", '1', 4300, false, false, JWTX_ERR_EXP_NOT_INT},
        {"exp", "", '1', 4301, false, false, JWTX_ERR_EXP_NOT_INT},
        {"exp", "", '0', 4300, false, false, JWTX_ERR_EXP_NOT_INT},
        {"exp", "-", '9', 4300, false, false, JWTX_ERR_EXP_NOT_INT},
        {"exp", "+", '9', 4300, true, false, JWTX_ERR_EXP_NOT_INT},
        {"iat", "", '5', 4300, false, false, JWTX_ERR_IAT_NOT_INT},
        {"iat", "-", '5', 4300, false, false, JWTX_ERR_IAT_NOT_INT},
        {"nbf", "", '7', 4300, true, false, JWTX_ERR_NBF_NOT_INT},
        {"exp", "", '1', 400, false, false, JWTX_ERR_EXP_NOT_INT},
        /* JSON numbers: beyond the doubles they stay huge, not null */
        {"exp", "", '9', 400, false, true, JWTX_OK},
        {"exp", "-", '9', 400, false, true, JWTX_ERR_EXPIRED},
        {"iat", "", '9', 4300, false, true, JWTX_ERR_IAT_FUTURE},
        {"iat", "", '9', 4301, false, true, JWTX_ERR_PAYLOAD_STRING},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        jwtx_buf p;
        jwtx_buf_init(&p);
        jwtx_buf_printf(&p, "{\"sub\":\"a\",\"%s\":%s%s", rows[i].claim,
                        rows[i].json_number ? "" : "\"", rows[i].sign);
        for (size_t k = 0; k < rows[i].ndigits; k++) {
            if (k > 0 && rows[i].underscores)
                jwtx_buf_append(&p, "_", 1);
            jwtx_buf_append(&p, &rows[i].digit, 1);
        }
        jwtx_buf_printf(&p, "%s}", rows[i].json_number ? "" : "\"");
        CU_ASSERT_FALSE_FATAL(p.failed);
        char *tok = craft(&cfg, "{\"alg\":\"HS256\"}", p.data, p.len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
        jwtx_token t = {0};
        jwtx_error err;
        jwtx_error_clear(&err);
        int rc = jwtx_token_decode(&cfg, tok, strlen(tok), NULL, &t, &err);
        if (err.code != rows[i].want)
            fprintf(stderr, "\n  row %zu: got %s\n", i, jwtx_err_name(err.code));
        CU_ASSERT_EQUAL(err.code, rows[i].want);
        CU_ASSERT_EQUAL(rc, rows[i].want == JWTX_OK ? 0 : -1);
        if (rows[i].want == JWTX_ERR_PAYLOAD_STRING)
            JWTX_ASSERT_STR(jwtx_error_message(&err),
                            "Invalid payload string: Exceeds the limit (4300 digits) for integer "
                            "string conversion: value has 4301 digits; use "
                            "sys.set_int_max_str_digits() to increase the limit");
        jwtx_token_clear(&t);
        free(tok);
        jwtx_buf_clear(&p);
    }
    jwtx_config_clear(&cfg);
}

/* json.loads(bytes) reads UTF-16 and UTF-32 headers and payloads too. */
static void test_decode_utf16_utf32(void)
{
    fixed_now = NOW;
    jwtx_config cfg;
    CU_ASSERT_EQUAL_FATAL(load(&cfg, ""), 0);
    /* '{"alg":"HS256"}' and '{"sub":"\u00e9\U0001F600","exp":1800000000}' as
     * Python's str.encode(enc) writes them (BOM included for utf-16/32). */
    static const char h16le[] = "{\0\"\0a\0l\0g\0\"\0:\0\"\0H\0S\0\x32\0\x35\0\x36\0\"\0}\0";
    static const char h32be_bom[] =
        "\0\0\xfe\xff\0\0\0{\0\0\0\"\0\0\0a\0\0\0l\0\0\0g\0\0\0\"\0\0\0:\0\0\0\"\0\0\0H\0\0\0S"
        "\0\0\0\x32\0\0\0\x35\0\0\0\x36\0\0\0\"\0\0\0}";
    static const char p16be[] =
        "\0{\0\"\0s\0u\0b\0\"\0:\0\"\0\xe9\xd8\x3d\xde\x00\0\"\0,\0\"\0e\0x\0p\0\"\0:\0\x31\0\x38"
        "\0\x30\0\x30\0\x30\0\x30\0\x30\0\x30\0\x30\0\x30\0}";
    static const char p32le[] =
        "{\0\0\0\"\0\0\0s\0\0\0u\0\0\0b\0\0\0\"\0\0\0:\0\0\0\"\0\0\0\xe9\0\0\0\x00\xf6\x01\0\"\0\0"
        "\0,\0\0\0\"\0\0\0e\0\0\0x\0\0\0p\0\0\0\"\0\0\0:\0\0\0\x31\0\0\0\x38\0\0\0\x30\0\0\0\x30\0"
        "\0\0\x30\0\0\0\x30\0\0\0\x30\0\0\0\x30\0\0\0\x30\0\0\0\x30\0\0\0}\0\0\0";
    static const char p16le_bom_odd[] = "\xff\xfe{\0}\0 ";
    static const char p16le_nul_raw[] = "{\0\"\0s\0u\0b\0\"\0:\0\"\0a\0\0\0\"\0}\0";
    static const char p16le_nul_esc[] =
        "{\0\"\0s\0u\0b\0\"\0:\0\"\0a\0\\\0u\0\x30\0\x30\0\x30\0\x30\0\"\0}\0";
    static const struct {
        const char *h;
        size_t hl;
        const char *p;
        size_t pl;
        jwtx_err want;
        const char *msg;
    } rows[] = {
        {h16le, sizeof h16le - 1, p16be, sizeof p16be - 1, JWTX_OK, NULL},
        {h32be_bom, sizeof h32be_bom - 1, p32le, sizeof p32le - 1, JWTX_OK, NULL},
        {"{\"alg\":\"HS256\"}", 15, p16le_bom_odd, sizeof p16le_bom_odd - 1,
         JWTX_ERR_PAYLOAD_STRING,
         "Invalid payload string: 'utf-16-le' codec can't decode byte 0x20 in position 6: "
         "truncated data"},
        {"{\"alg\":\"HS256\"}", 15, p16le_nul_raw, sizeof p16le_nul_raw - 1,
         JWTX_ERR_PAYLOAD_STRING,
         "Invalid payload string: Invalid control character at: line 1 column 10 (char 9)"},
        {"{\"alg\":\"HS256\"}", 15, p16le_nul_esc, sizeof p16le_nul_esc - 1, JWTX_ERR_IDENTITY_NUL,
         "Identity claim must not contain a NUL character"},
        {h16le, sizeof h16le - 2, "{\"sub\":\"a\"}", 11, JWTX_ERR_HEADER_STRING,
         "Invalid header string: 'utf-16-le' codec can't decode byte 0x7d in position 28: "
         "truncated data"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *tok = craftn(&cfg, rows[i].h, rows[i].hl, rows[i].p, rows[i].pl);
        CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
        jwtx_token t = {0};
        jwtx_error err;
        jwtx_error_clear(&err);
        int rc = jwtx_token_decode(&cfg, tok, strlen(tok), NULL, &t, &err);
        if (err.code != rows[i].want)
            fprintf(stderr, "\n  row %zu: got %s (%s)\n", i, jwtx_err_name(err.code),
                    jwtx_error_message(&err));
        CU_ASSERT_EQUAL(err.code, rows[i].want);
        if (rows[i].want == JWTX_OK) {
            CU_ASSERT_EQUAL(rc, 0);
            JWTX_ASSERT_STR(jwtx_token_identity(&cfg, &t), "\xc3\xa9\xf0\x9f\x98\x80");
            long long exp = 0;
            CU_ASSERT_TRUE(jwtx_token_exp(&t, &exp));
            CU_ASSERT_EQUAL(exp, 1800000000);
            JWTX_ASSERT_STR(json_string_value(json_object_get(t.header, "alg")), "HS256");
        } else {
            CU_ASSERT_EQUAL(rc, -1);
            JWTX_ASSERT_STR(jwtx_error_message(&err), rows[i].msg);
        }
        jwtx_token_clear(&t);
        free(tok);
    }
    jwtx_config_clear(&cfg);
}

/* The outcome added for NUL identities: appended, 422, an invalid token. */
static void test_identity_nul_outcome(void)
{
    CU_ASSERT_EQUAL(JWTX_ERR_IDENTITY_NUL, 61);
    CU_ASSERT_EQUAL(jwtx_err_status(JWTX_ERR_IDENTITY_NUL), 422);
    CU_ASSERT_EQUAL(jwtx_err_family_of(JWTX_ERR_IDENTITY_NUL), JWTX_FAMILY_INVALID);
    JWTX_ASSERT_STR(jwtx_err_message(JWTX_ERR_IDENTITY_NUL),
                    "Identity claim must not contain a NUL character");
    JWTX_ASSERT_STR(jwtx_err_name(JWTX_ERR_IDENTITY_NUL), "JWTX_ERR_IDENTITY_NUL");
}

/* ---- the session family (JWTX_REFRESH_ROTATION) ------------------------ */

#define FAM "0f1e2d3c-4b5a-4697-8877-665544332211"

/* Creates a token at the fixed clock with the random stream restarted, so
 * two calls differ only by what the spec asks. Returns the payload JSON
 * (malloc'd) and the whole token in *tok (malloc'd, may be NULL). */
static char *made(const jwtx_config *cfg, const jwtx_token_spec *spec, char **tok)
{
    fixed_now = 1700000000.25;
    counter = 0;
    jwtx_buf out;
    jwtx_buf_init(&out);
    jwtx_error err;
    jwtx_error_clear(&err);
    if (jwtx_token_create(cfg, "alice", spec, &out, NULL, &err) != 0) {
        fprintf(stderr, "\n  create: %s\n", jwtx_error_message(&err));
        jwtx_buf_clear(&out);
        return NULL;
    }
    char *p = segment(out.data, 1);
    if (tok != NULL)
        *tok = strdup(out.data);
    jwtx_buf_clear(&out);
    return p;
}

/* The keys of a payload in their order, comma-separated. */
static void key_order(const char *payload, char *out, size_t size)
{
    json_t *j = jwtx_json_parse(payload, strlen(payload), NULL, 0);
    const char *k;
    json_t *v;
    out[0] = '\0';
    json_object_foreach(j, k, v)
    {
        size_t n = strlen(out);
        snprintf(out + n, size - n, "%s%s", n ? "," : "", k);
    }
    json_decref(j);
}

static void test_family_claim(void)
{
    static const char *const confs[] = {
        "",
        "JWT_ENCODE_AUDIENCE = ['a', 'b']\nJWT_ENCODE_ISSUER = 'me'\nJWT_ENCODE_NBF = False\n",
        "JWT_COOKIE_CSRF_PROTECT = False\nJWT_IDENTITY_CLAIM = 'who'\n",
    };
    static const char *const extras[] = {NULL, "{\"role\":\"admin\",\"scopes\":[\"r\"]}"};
    for (size_t ci = 0; ci < sizeof confs / sizeof confs[0]; ci++) {
        jwtx_config cfg;
        CU_ASSERT_EQUAL_FATAL(load(&cfg, confs[ci]), 0);
        for (int refresh = 0; refresh < 2; refresh++) {
            for (size_t ei = 0; ei < 2; ei++) {
                json_t *claims = parse_opt(extras[ei]);
                jwtx_token_spec plain = {.refresh = refresh, .claims = claims};
                jwtx_token_spec fam = plain;
                fam.family = FAM;
                char *tp = NULL, *tf = NULL;
                char *pp = made(&cfg, &plain, &tp), *pf = made(&cfg, &fam, &tf);
                CU_ASSERT_PTR_NOT_NULL_FATAL(pp);
                CU_ASSERT_PTR_NOT_NULL_FATAL(pf);
                /* without a family: no fam anywhere */
                CU_ASSERT_PTR_NULL(strstr(pp, "fam"));
                /* with one: the same payload with "fam" inserted right after
                 * the jti member, and nothing else changed */
                const char *jti = strstr(pp, "\"jti\":\"");
                CU_ASSERT_PTR_NOT_NULL_FATAL(jti);
                const char *after = strchr(jti + 7, '"') + 1;
                char want[2048];
                snprintf(want, sizeof want, "%.*s,\"fam\":\"" FAM "\"%s", (int)(after - pp), pp,
                         after);
                JWTX_ASSERT_STR(pf, want);
                char order[512];
                key_order(pf, order, sizeof order);
                CU_ASSERT_PTR_NOT_NULL(strstr(order, "fresh,iat,jti,fam,type,"));
                CU_ASSERT_STRING_NOT_EQUAL(tp, tf);
                free(tp);
                free(tf);
                free(pp);
                free(pf);
                json_decref(claims);
            }
        }
        jwtx_config_clear(&cfg);
    }

    /* family NULL is byte for byte the reference token ("access default"
     * and "refresh default" above) */
    jwtx_config cfg;
    CU_ASSERT_EQUAL_FATAL(load(&cfg, ""), 0);
    for (int refresh = 0; refresh < 2; refresh++) {
        jwtx_token_spec spec = {.refresh = refresh, .family = NULL};
        char *tok = NULL;
        free(made(&cfg, &spec, &tok));
        JWTX_ASSERT_STR(tok, create_rows[refresh].token);
        free(tok);
    }

    /* a "fam" among the additional claims (a users claims file): ours wins,
     * in its place after jti; without a family it goes through as any
     * other extra claim (the reference behaviour) */
    json_t *evil = parse_opt("{\"fam\":\"someone-else\",\"role\":\"x\"}");
    jwtx_token_spec spec = {.claims = evil, .family = FAM};
    char *p = made(&cfg, &spec, NULL);
    char order[512];
    key_order(p, order, sizeof order);
    JWTX_ASSERT_STR(order, "fresh,iat,jti,fam,type,sub,nbf,csrf,exp,role");
    CU_ASSERT_PTR_NOT_NULL(strstr(p, "\"fam\":\"" FAM "\""));
    CU_ASSERT_PTR_NULL(strstr(p, "someone-else"));
    free(p);
    spec.family = NULL;
    p = made(&cfg, &spec, NULL);
    key_order(p, order, sizeof order);
    JWTX_ASSERT_STR(order, "fresh,iat,jti,type,sub,nbf,csrf,exp,fam,role");
    CU_ASSERT_PTR_NOT_NULL(strstr(p, "\"fam\":\"someone-else\""));
    free(p);
    json_decref(evil);

    /* the rotated refresh token's absolute expiry */
    jwtx_token_spec at = {
        .refresh = true, .family = FAM, .expires = JWTX_EXPIRES_AT, .expires_at = 1700000123};
    jwtx_issued iss;
    jwtx_buf out;
    jwtx_buf_init(&out);
    jwtx_error err;
    CU_ASSERT_EQUAL(jwtx_token_create(&cfg, "alice", &at, &out, &iss, &err), 0);
    CU_ASSERT_TRUE(iss.has_exp);
    CU_ASSERT_EQUAL(iss.exp, 1700000123);
    p = segment(out.data, 1);
    key_order(p, order, sizeof order);
    JWTX_ASSERT_STR(order, "fresh,iat,jti,fam,type,sub,nbf,csrf,exp");
    CU_ASSERT_PTR_NOT_NULL(strstr(p, "\"exp\":1700000123}"));
    free(p);
    jwtx_buf_clear(&out);
    /* an exp in the past is written as asked (the token is expired at once) */
    at.expires_at = 1600000000;
    CU_ASSERT_EQUAL(jwtx_token_create(&cfg, "alice", &at, &out, &iss, &err), 0);
    CU_ASSERT_EQUAL(iss.exp, 1600000000);
    jwtx_buf_clear(&out);
    at.expires_at = 0;
    CU_ASSERT_EQUAL(jwtx_token_create(&cfg, "alice", &at, &out, &iss, &err), -1);
    CU_ASSERT_EQUAL(err.code, JWTX_ERR_INTERNAL);
    CU_ASSERT_EQUAL(out.len, 0);
    jwtx_buf_clear(&out);
    /* NEVER with a family: no exp */
    at.expires = JWTX_EXPIRES_NEVER;
    p = made(&cfg, &at, NULL);
    key_order(p, order, sizeof order);
    JWTX_ASSERT_STR(order, "fresh,iat,jti,fam,type,sub,nbf,csrf");
    free(p);
    jwtx_config_clear(&cfg);

    /* the accessor */
    static const struct {
        const char *claims;
        const char *fam;
        bool bad;
    } acc[] = {
        {"{\"sub\":\"a\"}", NULL, false},        {"{\"fam\":\"" FAM "\"}", FAM, false},
        {"{\"fam\":null}", NULL, true},          {"{\"fam\":5}", NULL, true},
        {"{\"fam\":[\"x\"]}", NULL, true},       {"{\"fam\":\"\"}", NULL, true},
        {"{\"fam\":\"a\\u0000b\"}", NULL, true},
    };
    for (size_t i = 0; i < sizeof acc / sizeof acc[0]; i++) {
        jwtx_token t = {0};
        t.claims = jwtx_json_parse(acc[i].claims, strlen(acc[i].claims), NULL, 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t.claims);
        bool bad = !acc[i].bad;
        const char *f = jwtx_token_family(&t, &bad);
        if (acc[i].fam)
            JWTX_ASSERT_STR(f, acc[i].fam);
        else
            CU_ASSERT_PTR_NULL(f);
        CU_ASSERT_EQUAL(bad, acc[i].bad);
        jwtx_token_clear(&t);
    }
    CU_ASSERT_PTR_NULL(jwtx_token_family(NULL, NULL));
}

static const jwtx_cu_test tests[] = {
    {"created tokens equal the Python reference byte for byte", test_create_layout},
    {"creation errors", test_create_errors},
    {"uuid4 from the random source", test_uuid4},
    {"decode: claim errors, precedence, leeway, CSRF", test_decode_table},
    {"decode: signature before payload and CSRF", test_decode_signature_first},
    {"create/decode round trip, defaults, accessors", test_roundtrip_and_accessors},
    {"fresh claim semantics", test_is_fresh},
    {"string iat/nbf/exp refused (NumericDate is a JSON number)", test_string_dates_refused},
    {"numeric iat/nbf/exp as Python int() reads them", test_numeric_dates},
    {"int() digit limit and values beyond 64 bits", test_int_digit_limit},
    {"UTF-16 and UTF-32 headers and payloads", test_decode_utf16_utf32},
    {"NUL identity outcome in the table", test_identity_nul_outcome},
    {"session family: fam after jti, byte-identical without, ours over extras, fixed exp",
     test_family_claim},
    {NULL, NULL},
};

JWTX_CU_MAIN_FIXTURE("tokens", tests, setup, teardown)
