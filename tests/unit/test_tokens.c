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

/* header_json "." payload bytes, signed with the config's signing key. */
static char *craft(const jwtx_config *cfg, const char *header_json, const char *payload,
                   size_t plen)
{
    jwtx_buf b;
    jwtx_buf_init(&b);
    size_t hl = strlen(header_json);
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
    {"iat future as string", "", "{\"sub\":\"a\",\"iat\":\" 1700000001\\n\"}", false, NULL,
     JWTX_ERR_IAT_FUTURE, 422, "The token is not yet valid (iat)"},
    {"iat future with underscores", "", "{\"sub\":\"a\",\"iat\":\"1_700_000_001\"}", false, NULL,
     JWTX_ERR_IAT_FUTURE, 422, "The token is not yet valid (iat)"},
    {"iat bad underscores", "", "{\"sub\":\"a\",\"iat\":\"1__7\"}", false, NULL,
     JWTX_ERR_IAT_NOT_INT, 422, "Issued At claim (iat) must be an integer."},
    {"iat float truncated", "", "{\"sub\":\"a\",\"iat\":1700000000.99}", false, NULL, JWTX_OK, 200,
     NULL},
    {"iat now as string", "", "{\"sub\":\"a\",\"iat\":\"+1700000000\"}", false, NULL, JWTX_OK, 200,
     NULL},
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

static const jwtx_cu_test tests[] = {
    {"created tokens equal the Python reference byte for byte", test_create_layout},
    {"creation errors", test_create_errors},
    {"uuid4 from the random source", test_uuid4},
    {"decode: claim errors, precedence, leeway, CSRF", test_decode_table},
    {"decode: signature before payload and CSRF", test_decode_signature_first},
    {"create/decode round trip, defaults, accessors", test_roundtrip_and_accessors},
    {"fresh claim semantics", test_is_fresh},
    {NULL, NULL},
};

JWTX_CU_MAIN_FIXTURE("tokens", tests, setup, teardown)
