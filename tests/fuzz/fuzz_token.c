/*
 * fuzz_token.c — libFuzzer target for jwtx_token_decode (the whole pipeline
 * of spec section 3: split, base64url, header JSON, alg allow-list, key,
 * signature, payload JSON, claim checks, CSRF).
 *
 * Input: one selector byte, then the token; when the selector asks for a
 * CSRF check, the token ends at the first NUL and the CSRF value follows.
 * Selector bits: 0-1 config (HS256 / ES256 / EdDSA / HS256 with audience,
 * issuer, leeway and identity claim), 2 allow_expired, 3 check_csrf. The clock
 * is fixed (FUZZ_NOW), so the seed tokens are neither expired nor early.
 * Checked: no crash, leak, overread or UB; a failure carries an outcome code;
 * a success carries header and claims objects with type and jti filled in,
 * and the accessors answer on it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "jwtx/tokens.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const fuzz_conf_id confs[4] = {FUZZ_CONF_HS256, FUZZ_CONF_ES256, FUZZ_CONF_EDDSA,
                                      FUZZ_CONF_CLAIMS};

static int verbose; /* FUZZ_VERBOSE=1: print each outcome (for checking seeds) */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    verbose = getenv("FUZZ_VERBOSE") != NULL;
    fuzz_fixed_sources();
    for (size_t i = 0; i < 4; i++)
        (void)fuzz_conf(confs[i]);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    const jwtx_config *cfg = fuzz_conf(confs[sel & 3]);
    data++;
    size--;

    jwtx_decode_opts opts = {0};
    opts.allow_expired = (sel & 4) != 0;
    size_t toklen = size;
    char *csrf = NULL;
    if (sel & 8) {
        const uint8_t *nul = memchr(data, 0, size);
        if (nul != NULL) {
            toklen = (size_t)(nul - data);
            csrf = fuzz_dup_exact(nul + 1, size - toklen - 1);
            opts.check_csrf = true;
            opts.csrf = csrf;
            opts.csrf_len = size - toklen - 1;
        }
    }
    char *token = fuzz_dup_exact(data, toklen);

    jwtx_token tok = {0};
    jwtx_error err;
    jwtx_error_clear(&err);
    int rc = jwtx_token_decode(cfg, token, toklen, &opts, &tok, &err);
    if (verbose)
        fprintf(stderr, "outcome: %s %s\n", jwtx_err_name(err.code), err.text);
    if (rc == 0) {
        if (!json_is_object(tok.header) || !json_is_object(tok.claims))
            fuzz_fail("decoded token without header or claims object");
        if (jwtx_token_type(&tok) == NULL || jwtx_token_jti(&tok) == NULL)
            fuzz_fail("decoded token without type or jti");
        long long t;
        (void)jwtx_token_identity(cfg, &tok);
        (void)jwtx_token_exp(&tok, &t);
        (void)jwtx_token_iat(&tok, &t);
        (void)jwtx_token_is_fresh(&tok, FUZZ_NOW);
        jwtx_token_clear(&tok);
    } else if (err.code == JWTX_OK || err.code >= JWTX_ERR__COUNT) {
        fuzz_fail("failure without an outcome");
    }
    free(token);
    free(csrf);
    return 0;
}
