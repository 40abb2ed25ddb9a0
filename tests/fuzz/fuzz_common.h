/*
 * fuzz_common.h — helpers shared by the libFuzzer targets in tests/fuzz/.
 *
 * Inputs that carry several strings (a request, a cookie) are split at NUL
 * bytes: field i is the bytes between the i-th and (i+1)-th NUL, each copied
 * into its own malloc'd, NUL-terminated buffer, so ASan sees an overread of
 * any one field. Configs are built from conf text with
 * jwtx_config_load_string, named as if they lived in tests/fixtures/conf/, so
 * relative key paths ("../keys/ec-p256.pem") resolve against the fixtures.
 * The token clock and randomness are fixed, so every run of an input takes
 * the same path (a crash reproduces, a corpus replays the same).
 */
#ifndef JWTX_FUZZ_COMMON_H
#define JWTX_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jwtx/config.h"

/* The time the fuzz clock answers. make_seeds creates the seed tokens at
 * this time too, so they are valid when replayed (iat = FUZZ_NOW, exp 15
 * minutes later for access tokens). */
#define FUZZ_NOW 1800000000.0 /* 2027-01-15T08:00:00Z */

#define FUZZ_MAX_FIELDS 16

/* The first nfields (at most FUZZ_MAX_FIELDS) fields of an input: fields
 * 0..nfields-2 end at a NUL; the last takes the rest of the input, NULs
 * included (len counts them; it is still NUL-terminated). Missing fields are
 * "" (never NULL). Free with fuzz_fields_free. */
typedef struct fuzz_fields {
    char *f[FUZZ_MAX_FIELDS];
    size_t len[FUZZ_MAX_FIELDS];
    size_t n; /* fields actually present in the input */
} fuzz_fields;

void fuzz_fields_split(fuzz_fields *ff, const uint8_t *data, size_t size, size_t nfields);

/* Strict UTF-8 (Unicode table 3-7: no surrogates, no overlong forms). */
bool fuzz_utf8_valid(const char *s, size_t n);
void fuzz_fields_free(fuzz_fields *ff);

/* A malloc'd exact copy of size bytes (no terminator: ASan catches any read
 * past the end). Never NULL for size 0 (returns a 1-byte allocation, with
 * nothing valid in it). */
char *fuzz_dup_exact(const uint8_t *data, size_t size);
/* A malloc'd NUL-terminated copy. */
char *fuzz_dup_str(const uint8_t *data, size_t size);

/* Loads conf text (as tests/fixtures/conf/fuzz-NAME.conf); aborts with the
 * error when it does not load: a target's fixed configs must be valid. */
void fuzz_config_must_load(jwtx_config *cfg, const char *name, const char *text);

/* Makes the token clock and randomness deterministic (FUZZ_NOW, a counter). */
void fuzz_fixed_sources(void);

/* The repository root (JWTX_FUZZ_ROOT from the build, or the environment). */
const char *fuzz_root(void);

/* Aborts with a message: a property of a target does not hold. */
void fuzz_fail(const char *what) __attribute__((noreturn));

#endif

/* The fixed configs of the token, jws, locate and response targets. */
typedef enum fuzz_conf_id {
    FUZZ_CONF_HS256 = 0,     /* JWT_SECRET_KEY, decode HS256/384/512 */
    FUZZ_CONF_ES256,         /* ../keys/ec-p256.pem */
    FUZZ_CONF_EDDSA,         /* ../keys/ed25519.pem */
    FUZZ_CONF_CLAIMS,        /* HS256 + audience, issuer, leeway, identity claim "identity" */
    FUZZ_CONF_RS256,         /* ../keys/rsa2048.pem, RS/PS decode, JWTX_DECODE_KEYS old=rsa2048b */
    FUZZ_CONF_ALL_LOCATIONS, /* HS256, all four locations in order */
    FUZZ_CONF_NO_TYPE,       /* HS256, JWT_HEADER_TYPE = "", custom header name */
    FUZZ_CONF_CSRF_FORM,     /* cookies + query, JWT_CSRF_CHECK_FORM, custom names */
    FUZZ_CONF__COUNT
} fuzz_conf_id;

/* The conf text of a fixed config. */
const char *fuzz_conf_text(fuzz_conf_id id);
/* The loaded config (loaded on first use, kept for the process). */
const jwtx_config *fuzz_conf(fuzz_conf_id id);
