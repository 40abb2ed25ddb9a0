/*
 * fuzz_users.c — libFuzzer target for the htpasswd and claims file readers
 * (jwtx_users_open, then count / exists / claims / check).
 *
 * Input: NUL-separated fields: htpasswd text, a user name, then the claims
 * file (the rest; with no second NUL there is no claims file). The fields are
 * written to files in a private temporary directory and opened as the
 * gateway opens them. Checked: no crash, leak, overread or UB; a refusal
 * carries JWTX_ERR_CONFIG or JWTX_ERR_IO and a message; count agrees with
 * exists for the looked-up name; claims are an object when present.
 *
 * Speed: jwtx_users_open hashes a random password with the parameters of the
 * file's most common hash (its "dummy hash", so unknown users cost as much
 * as known ones). A fuzzed "$2y$17$" or "$6$rounds=999999999$" line would
 * make that take seconds or minutes per input, which is the point of those
 * hashes, not a parser bug. So this program provides its own crypt_rn and
 * crypt_gensalt_rn (static linking picks them over libcrypt's): they answer
 * at once with a string derived from the setting. Everything the file
 * reader does itself — parsing, classifying hashes, $apr1$ (md5crypt) and
 * {SHA}, which jwtx computes without libcrypt — still runs for real.
 */
#include <crypt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "jwtx/users.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

char *crypt_rn(const char *phrase, const char *setting, void *data, int size)
{
    (void)phrase;
    if (setting == NULL || data == NULL || size < (int)sizeof(struct crypt_data))
        return NULL;
    struct crypt_data *cd = data;
    size_t n = strnlen(setting, sizeof cd->output - 8);
    if (n == 0 || setting[0] == '*')
        return NULL;
    memcpy(cd->output, setting, n);
    memcpy(cd->output + n, "fuzzhsh", 8);
    return cd->output;
}

char *crypt_gensalt_rn(const char *prefix, unsigned long count, const char *rbytes, int nrbytes,
                       char *output, int output_size)
{
    (void)rbytes;
    (void)nrbytes;
    if (output == NULL || output_size < 32)
        return NULL;
    snprintf(output, (size_t)output_size, "%s%02lu$abcdefghijklmnopqrstuv", prefix ? prefix : "",
             count);
    return output;
}

static char dir[64], users_path[128], claims_path[128];

static void cleanup(void)
{
    unlink(users_path);
    unlink(claims_path);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(dir, sizeof dir, "/tmp/jwtx-fuzz-users-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        abort();
    }
    snprintf(users_path, sizeof users_path, "%s/htpasswd", dir);
    snprintf(claims_path, sizeof claims_path, "%s/claims.json", dir);
    atexit(cleanup);
    return 0;
}

static void write_file(const char *path, const char *s, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(s, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

static void log_line(const char *msg, void *ctx)
{
    (void)ctx;
    if (msg == NULL)
        fuzz_fail("log line is NULL");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_fields ff;
    fuzz_fields_split(&ff, data, size, 3);
    write_file(users_path, ff.f[0], ff.len[0]);
    bool with_claims = ff.n >= 3;
    if (with_claims)
        write_file(claims_path, ff.f[2], ff.len[2]);

    jwtx_users *u = NULL;
    jwtx_error err;
    jwtx_error_clear(&err);
    if (jwtx_users_open(users_path, with_claims ? claims_path : NULL, log_line, NULL, &u, &err) ==
        0) {
        const char *name = ff.f[1];
        size_t n = jwtx_users_count(u);
        bool exists = jwtx_users_exists(u, name);
        if (exists && n == 0)
            fuzz_fail("a user exists in an empty file");
        const json_t *c = jwtx_users_claims(u, name);
        if (c != NULL && !json_is_object(c))
            fuzz_fail("claims of a user are not an object");
        (void)jwtx_users_check(u, name, "fuzz-password");
        (void)jwtx_users_check(u, name, "");
        jwtx_users_free(u);
    } else {
        if (u != NULL)
            fuzz_fail("*out written on failure");
        if ((err.code != JWTX_ERR_CONFIG && err.code != JWTX_ERR_IO) || err.text[0] == '\0')
            fuzz_fail("refusal without JWTX_ERR_CONFIG/IO and a message");
    }
    fuzz_fields_free(&ff);
    return 0;
}
