/*
 * fuzz_jws.c — libFuzzer target for jwtx_jws_compact_verify (split, strict
 * base64url of each segment, header JSON, kid/crit/b64, alg allow-list, key
 * selection by kid, signature; the payload is not parsed).
 *
 * Input: one selector byte (config: HS256 with HS384/HS512 allowed, ES256,
 * EdDSA, RS256 with PS256/RS512 allowed and a second key under kid "old"),
 * then the compact token. Checked: no crash, leak, overread or UB; a
 * failure carries an outcome code; a success carries a header object, an
 * allowed algorithm and a NUL-terminated payload no longer than the token.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "jwtx/jws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const fuzz_conf_id confs[4] = {FUZZ_CONF_HS256, FUZZ_CONF_ES256, FUZZ_CONF_EDDSA,
                                      FUZZ_CONF_RS256};

static int verbose; /* FUZZ_VERBOSE=1: print each outcome (for checking seeds) */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    verbose = getenv("FUZZ_VERBOSE") != NULL;
    for (size_t i = 0; i < 4; i++)
        (void)fuzz_conf(confs[i]);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const jwtx_config *cfg = fuzz_conf(confs[data[0] & 3]);
    char *token = fuzz_dup_exact(data + 1, size - 1);
    jwtx_jws_parts parts = {0};
    jwtx_error err;
    jwtx_error_clear(&err);
    int rc = jwtx_jws_compact_verify(cfg, token, size - 1, &parts, &err);
    if (verbose)
        fprintf(stderr, "outcome: %s %s\n", jwtx_err_name(err.code), err.text);
    if (rc == 0) {
        const char *name = jwtx_alg_name(parts.alg);
        if (!json_is_object(parts.header) || parts.payload == NULL || name == NULL)
            fuzz_fail("verified JWS without header, payload or algorithm");
        if (!jwtx_config_alg_allowed(cfg, name, strlen(name)))
            fuzz_fail("verified with an algorithm outside the allow-list");
        if (parts.payload_len >= size || parts.payload[parts.payload_len] != '\0')
            fuzz_fail("payload length");
        jwtx_jws_parts_clear(&parts);
    } else if (err.code == JWTX_OK || err.code >= JWTX_ERR__COUNT) {
        fuzz_fail("failure without an outcome");
    }
    free(token);
    return 0;
}
