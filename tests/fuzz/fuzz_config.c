/*
 * fuzz_config.c — libFuzzer target for the conf reader
 * (jwtx_config_load_string).
 *
 * The input is conf text, named tests/fixtures/conf/fuzz-input.conf so that
 * relative key paths in it resolve against the fixtures (the seeds are the
 * fixture confs). Checked: no crash, leak or overread; a refusal names a
 * line within the text and carries a message; a conf that loads can be shown
 * (jwtx_config_to_json, dumped) and can create a token that jwtx_token_decode
 * then reads (the outcome is not asserted: a conf may legitimately require
 * claims its own tokens lack).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "jwtx/config.h"
#include "jwtx/json.h"
#include "jwtx/tokens.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_fixed_sources();
    return 0;
}

static void warn(const char *file, int line, const char *msg, void *ctx)
{
    (void)ctx;
    if (file == NULL || msg == NULL || line < 0)
        fuzz_fail("warning without file or message");
}

static void exercise(const jwtx_config *cfg)
{
    json_t *shown = jwtx_config_to_json(cfg);
    if (shown == NULL)
        fuzz_fail("config_to_json failed on a loaded config");
    jwtx_buf b;
    jwtx_buf_init(&b);
    if (jwtx_json_dump(shown, JWTX_JSON_SORT_KEYS, &b) != 0)
        fuzz_fail("dump of config_to_json failed");
    jwtx_buf_clear(&b);
    json_decref(shown);

    jwtx_token_spec spec = {0};
    jwtx_buf tok;
    jwtx_buf_init(&tok);
    jwtx_error err;
    if (jwtx_token_create(cfg, "fuzz", &spec, &tok, NULL, &err) == 0) {
        jwtx_token t = {0};
        jwtx_decode_opts opts = {0};
        if (jwtx_token_decode(cfg, tok.data, tok.len, &opts, &t, &err) == 0)
            jwtx_token_clear(&t);
    }
    jwtx_buf_clear(&tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_dup_exact(data, size);
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/fixtures/conf/fuzz-input.conf", fuzz_root());
    jwtx_config cfg;
    jwtx_config_error cerr;
    memset(&cerr, 0, sizeof cerr);
    if (jwtx_config_load_string(path, text, size, &cfg, &cerr, warn, NULL) == 0) {
        exercise(&cfg);
        jwtx_config_clear(&cfg);
    } else {
        char buf[1024];
        if (cerr.message[0] == '\0')
            fuzz_fail("refusal without a message");
        if (cerr.line < 0 || (size_t)cerr.line > size + 1)
            fuzz_fail("refusal names a line outside the text");
        jwtx_config_error_format(&cerr, buf, sizeof buf);
    }
    free(text);
    return 0;
}
