/*
 * test_wipe.c — secrets do not linger in freed memory (README: "Tokens,
 * cookies, the body and every answer buffer are wiped").
 *
 * This program is linked with -Wl,--wrap=free (see the Makefile): every
 * free() made by libjwtx.a and by this file goes through __wrap_free, which
 * looks for known secrets in the whole block (malloc_usable_size) before
 * handing it on. A secret found there is a block freed without being wiped.
 * The secrets: a login password (JSON and form bodies, right and wrong), and
 * the decoded header, payload and signature of a token (valid, tampered,
 * expired). jansson's blocks are routed through a wiping free as the cgi-bin
 * programs route them (lib/serve.c), so what is checked here is the
 * library's own buffers: the JSON string decoder, the JWS decoder, the login
 * route.
 */
#include <malloc.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#endif
#endif
#ifndef VALGRIND_MAKE_MEM_DEFINED
#define VALGRIND_MAKE_MEM_DEFINED(p, n) ((void)(p), (void)(n))
#endif

#include "cu.h"
#include "jwtx/b64url.h"
#include "jwtx/gateway.h"
#include "jwtx/json.h"
#include "jwtx/jws.h"
#include "jwtx/keys.h"
#include "jwtx/tokens.h"
#include "jwtx/users.h"

/* ------------------------------------------------------------ the spy */

void __real_free(void *p);
void __wrap_free(void *p);

#define MAX_NEEDLES 4
static struct {
    unsigned char bytes[64];
    size_t len;
    const char *what;
    unsigned hits;
} needles[MAX_NEEDLES];
static size_t n_needles;
static bool armed;

void __wrap_free(void *p)
{
    if (p != NULL && armed) {
        size_t size = malloc_usable_size(p);
        /* Bytes of the block never written are still bytes: tell memcheck
         * (10-valgrind) that reading them here is on purpose. */
        VALGRIND_MAKE_MEM_DEFINED(p, size);
        for (size_t i = 0; i < n_needles; i++)
            if (memmem(p, size, needles[i].bytes, needles[i].len) != NULL)
                needles[i].hits++;
    }
    __real_free(p);
}

static void arm(void)
{
    for (size_t i = 0; i < n_needles; i++)
        needles[i].hits = 0;
    armed = true;
}

static void add_needle(const void *bytes, size_t len, const char *what)
{
    CU_ASSERT_FATAL(n_needles < MAX_NEEDLES && len <= sizeof needles[0].bytes);
    memcpy(needles[n_needles].bytes, bytes, len);
    needles[n_needles].len = len;
    needles[n_needles].what = what;
    n_needles++;
}

/* Disarms and asserts that no needle was seen in a freed block. */
static void expect_clean(const char *label)
{
    armed = false;
    for (size_t i = 0; i < n_needles; i++) {
        if (needles[i].hits != 0)
            fprintf(stderr, "\n  [%s] %s found in %u freed block(s)\n", label, needles[i].what,
                    needles[i].hits);
        CU_ASSERT_EQUAL(needles[i].hits, 0);
    }
    OPENSSL_cleanse(needles, sizeof needles);
    n_needles = 0;
}

/* jansson's blocks, as the programs free them (lib/serve.c). */
static void *json_alloc(size_t n)
{
    return malloc(n);
}

static void json_release(void *p)
{
    if (p != NULL)
        OPENSSL_cleanse(p, malloc_usable_size(p));
    free(p);
}

/* ------------------------------------------------------------ fixture */

#define PASSWORD "Wipe-Me-Pa55word-7f3c"
#define SECRET "test-wipe-secret-0123456789abcdefghijklmnopqrstuv"
#define HDR_MARK "hdr-marker-5d1e"
#define PAY_MARK "payload-marker-91ab"

static char tmpdir[64];
static jwtx_gateway gw;
static bool gw_ok;

static char *tpath(const char *name)
{
    static char buf[2][256];
    static int k;
    k ^= 1;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static int setup(void)
{
    json_set_alloc_funcs(json_alloc, json_release);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/jwtx-wipe-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return 1;
    jwtx_error err;
    jwtx_error_clear(&err);
    if (jwtx_users_set_password(tpath("users.htpasswd"), "alice", PASSWORD, 4, &err) != 0) {
        fprintf(stderr, "setup: %s\n", jwtx_error_message(&err));
        return 1;
    }
    FILE *f = fopen(tpath("jwtx.conf"), "w");
    if (f == NULL)
        return 1;
    fprintf(f, "JWT_SECRET_KEY = '%s'\nJWTX_USERS_FILE = 'users.htpasswd'\n", SECRET);
    if (fclose(f) != 0)
        return 1;
    char msg[512] = "";
    if (jwtx_gateway_open(&gw, "test_wipe", tpath("jwtx.conf"), msg, sizeof msg) != 0) {
        fprintf(stderr, "setup: %s\n", msg);
        return 1;
    }
    gw_ok = true;
    return 0;
}

static int teardown(void)
{
    if (gw_ok)
        jwtx_gateway_close(&gw);
    unlink(tpath("users.htpasswd"));
    unlink(tpath("jwtx.conf"));
    rmdir(tmpdir);
    return 0;
}

/* ------------------------------------------------------------ tests */

/* The JSON string decoder: a password in a body, parsed and released. */
static void test_json_string(void)
{
    static const char body[] =
        "{\"username\": \"alice\", \"password\": \"Wipe-Me-Pa55word-\\u0037f3c\"}";
    add_needle(PASSWORD, strlen(PASSWORD), "the password");
    arm();
    json_t *v = jwtx_json_parse(body, strlen(body), NULL, 0);
    CU_ASSERT_PTR_NOT_NULL(v);
    JWTX_ASSERT_STR(json_string_value(json_object_get(v, "password")), PASSWORD);
    json_decref(v);
    /* an object key holding it, too */
    static const char keyed[] = "{\"Wipe-Me-Pa55word-7f3c\": 1}";
    v = jwtx_json_parse(keyed, strlen(keyed), NULL, 0);
    CU_ASSERT_PTR_NOT_NULL(v);
    json_decref(v);
    expect_clean("json string");
}

static void login(const char *ctype, const char *body, int want)
{
    jwtx_request r;
    CU_ASSERT_EQUAL_FATAL(jwtx_request_init(&r), 0);
    char len[32];
    snprintf(len, sizeof len, "%zu", strlen(body));
    CU_ASSERT_EQUAL(jwtx_request_set_param(&r, "REQUEST_METHOD", "POST"), 0);
    CU_ASSERT_EQUAL(jwtx_request_set_param(&r, "REQUEST_URI", "/login"), 0);
    CU_ASSERT_EQUAL(jwtx_request_set_param(&r, "CONTENT_TYPE", ctype), 0);
    CU_ASSERT_EQUAL(jwtx_request_set_param(&r, "CONTENT_LENGTH", len), 0);
    CU_ASSERT_EQUAL(jwtx_request_set_body(&r, body, strlen(body)), 0);
    jwtx_response resp;
    jwtx_response_init(&resp);
    CU_ASSERT_EQUAL(jwtx_route_login(&gw, &r, &resp), 0);
    if (resp.status != want)
        fprintf(stderr, "\n  login %s: %d %.*s\n", ctype, resp.status, (int)resp.body.len,
                resp.body.data ? resp.body.data : "");
    CU_ASSERT_EQUAL(resp.status, want);
    jwtx_response_clear(&resp);
    jwtx_request_clear(&r);
}

/* The login route: JSON and form bodies, right and wrong passwords. */
static void test_login(void)
{
    CU_ASSERT_TRUE_FATAL(gw_ok);
    add_needle(PASSWORD, strlen(PASSWORD), "the password");
    add_needle("Wrong-" PASSWORD, strlen("Wrong-" PASSWORD), "the wrong password");
    arm();
    login("application/json", "{\"username\":\"alice\",\"password\":\"" PASSWORD "\"}", 200);
    login("application/json", "{\"username\":\"alice\",\"password\":\"Wrong-" PASSWORD "\"}", 401);
    login("application/x-www-form-urlencoded", "username=alice&password=" PASSWORD, 200);
    login("application/x-www-form-urlencoded", "username=alice&password=Wrong-" PASSWORD, 401);
    /* a password with an encoded NUL is refused as absent, and wiped */
    login("application/x-www-form-urlencoded", "username=alice&password=Wrong-" PASSWORD "%00x",
          400);
    expect_clean("login");
}

/* A signed token whose header and payload carry markers. */
static char *make_token(const char *payload)
{
    json_t *hdr = json_pack("{s:s, s:s, s:s}", "alg", "HS256", "typ", "JWT", "x", HDR_MARK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(hdr);
    jwtx_buf out;
    jwtx_buf_init(&out);
    jwtx_error err;
    jwtx_error_clear(&err);
    CU_ASSERT_EQUAL_FATAL(jwtx_jws_compact_sign(hdr, payload, strlen(payload), JWTX_ALG_HS256,
                                                jwtx_keyset_signing(gw.cfg.keys), &out, &err),
                          0);
    json_decref(hdr);
    return jwtx_buf_take(&out, NULL);
}

/* Adds the token's decoded signature as a needle. */
static void add_signature_needle(const char *tok)
{
    const char *dot = strrchr(tok, '.');
    unsigned char sig[64];
    size_t n = 0;
    CU_ASSERT_FATAL(dot != NULL && jwtx_b64url_decoded_max(strlen(dot + 1)) <= sizeof sig);
    CU_ASSERT_EQUAL_FATAL(jwtx_b64url_decode(dot + 1, strlen(dot + 1), sig, &n), 0);
    CU_ASSERT_EQUAL(n, 32);
    add_needle(sig, n, "the signature");
    OPENSSL_cleanse(sig, sizeof sig);
}

/* Verifies the signature (want_sig) and decodes the token (want_decode). */
static void verify_once(const char *tok, int want_sig, int want_decode)
{
    jwtx_jws_parts parts = {0};
    jwtx_error err;
    jwtx_error_clear(&err);
    int rc = jwtx_jws_compact_verify(&gw.cfg, tok, strlen(tok), &parts, &err);
    CU_ASSERT_EQUAL(rc, want_sig);
    jwtx_jws_parts_clear(&parts);
    jwtx_token t = {0};
    jwtx_error_clear(&err);
    rc = jwtx_token_decode(&gw.cfg, tok, strlen(tok), NULL, &t, &err);
    CU_ASSERT_EQUAL(rc, want_decode);
    jwtx_token_clear(&t);
}

/* The JWS decoder: decoded header, payload and signature of a valid token,
 * of one whose signature does not verify, and of an expired one. */
static void test_jws_decode(void)
{
    CU_ASSERT_TRUE_FATAL(gw_ok);
    static const char *const payloads[] = {
        "{\"sub\":\"alice\",\"type\":\"access\",\"m\":\"" PAY_MARK "\",\"exp\":9999999999}",
        "{\"sub\":\"alice\",\"type\":\"access\",\"m\":\"" PAY_MARK "\",\"exp\":1}",
    };
    for (size_t i = 0; i < 2; i++) {
        char *tok = make_token(payloads[i]);
        add_needle(HDR_MARK, strlen(HDR_MARK), "the header");
        add_needle(PAY_MARK, strlen(PAY_MARK), "the payload");
        add_signature_needle(tok);
        arm();
        verify_once(tok, 0, i == 0 ? 0 : -1);
        expect_clean(i == 0 ? "valid token" : "expired token");
        /* tampered: a signature character changed (one in the middle, so
         * the segment stays canonical base64url and is decoded) */
        size_t n = strlen(tok);
        add_needle(HDR_MARK, strlen(HDR_MARK), "the header");
        add_needle(PAY_MARK, strlen(PAY_MARK), "the payload");
        tok[n - 10] = tok[n - 10] == 'A' ? 'B' : 'A';
        add_signature_needle(tok);
        arm();
        verify_once(tok, -1, -1);
        expect_clean("tampered token");
        OPENSSL_cleanse(tok, n);
        free(tok);
    }
}

/* The spy itself: an unwiped block with a needle is seen. */
static void test_spy(void)
{
    add_needle(PASSWORD, strlen(PASSWORD), "the password");
    arm();
    char *p = strdup("x " PASSWORD " y");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    free(p);
    armed = false;
    CU_ASSERT_EQUAL(needles[0].hits, 1);
    OPENSSL_cleanse(needles, sizeof needles);
    n_needles = 0;
}

static const jwtx_cu_test tests[] = {
    {"the spy sees an unwiped freed block", test_spy},
    {"JSON string decoding wipes its buffers", test_json_string},
    {"login: the password is wiped (JSON, form, right, wrong)", test_login},
    {"JWS decoding wipes header, payload and signature", test_jws_decode},
    {NULL, NULL},
};

JWTX_CU_MAIN_FIXTURE("wipe", tests, setup, teardown)
