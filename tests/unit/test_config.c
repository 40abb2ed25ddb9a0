/*
 * test_config.c — unit tests of the conf file (lib/config.c).
 *
 * Defaults are compared one by one with the table of spec section 1; every
 * value form of the Python subset is read; every error is checked with its
 * exact "FILE:LINE: OPTION: message" text; warnings are captured; relative
 * file paths are resolved against the fixture directory; every prefix of a
 * rich conf text is loaded to show that truncated input never crashes.
 * Run from the top of the tree (fixtures under tests/fixtures/conf).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cu.h"
#include "jwtx/config.h"
#include "jwtx/keys.h"

#define FIX "tests/fixtures/conf/"
#define SECRET "JWT_SECRET_KEY = 'unit-test-secret-0123456789abcdef'\n"

/* ---- helpers ---------------------------------------------------------- */

typedef struct warnings {
    int n;
    char text[16][300];
} warnings;

static void collect(const char *file, int line, const char *msg, void *ctx)
{
    warnings *w = ctx;
    if (w->n < 16)
        snprintf(w->text[w->n], sizeof w->text[0], "%s:%d: %s", file, line, msg);
    w->n++;
}

static int load(const char *text, jwtx_config *cfg, char *msg, size_t size, warnings *w)
{
    jwtx_config_error e;
    int rc = jwtx_config_load_string("t.conf", text, strlen(text), cfg, &e, w ? collect : NULL, w);
    if (rc != 0 && msg != NULL)
        jwtx_config_error_format(&e, msg, size);
    return rc;
}

static char *dumps(const jwtx_config *cfg, const char *key)
{
    json_t *j = jwtx_config_to_json(cfg);
    json_t *v = key ? json_object_get(j, key) : j;
    char *s = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    return s;
}

/* ---- defaults --------------------------------------------------------- */

static void check_defaults(const jwtx_config *c)
{
    CU_ASSERT_FALSE(c->access_expires.never);
    CU_ASSERT_EQUAL(c->access_expires.seconds, 900);
    CU_ASSERT_FALSE(c->refresh_expires.never);
    CU_ASSERT_EQUAL(c->refresh_expires.seconds, 2592000);
    JWTX_ASSERT_STR(c->algorithm, "HS256");
    CU_ASSERT_EQUAL(c->decode_algorithms.n, 1);
    if (c->decode_algorithms.n == 1)
        JWTX_ASSERT_STR(c->decode_algorithms.v[0], "HS256");
    CU_ASSERT_PTR_NULL(c->private_key);
    CU_ASSERT_PTR_NULL(c->public_key);
    CU_ASSERT_FALSE(c->decode_audience_set);
    CU_ASSERT_EQUAL(c->decode_audience.n, 0);
    CU_ASSERT_PTR_NULL(c->encode_audience);
    CU_ASSERT_FALSE(c->decode_issuer_set);
    CU_ASSERT_PTR_NULL(c->encode_issuer);
    CU_ASSERT_EQUAL(c->decode_leeway, 0);
    CU_ASSERT_TRUE(c->encode_nbf);
    CU_ASSERT_TRUE(c->verify_sub);
    JWTX_ASSERT_STR(c->identity_claim, "sub");
    JWTX_ASSERT_STR(c->error_message_key, "msg");
    CU_ASSERT_EQUAL(c->n_token_location, 1);
    CU_ASSERT_EQUAL(c->token_location[0], JWTX_LOC_HEADERS);
    JWTX_ASSERT_STR(c->header_name, "Authorization");
    JWTX_ASSERT_STR(c->header_type, "Bearer");
    JWTX_ASSERT_STR(c->access_cookie_name, "access_token_cookie");
    JWTX_ASSERT_STR(c->access_cookie_path, "/");
    JWTX_ASSERT_STR(c->refresh_cookie_name, "refresh_token_cookie");
    JWTX_ASSERT_STR(c->refresh_cookie_path, "/");
    CU_ASSERT_FALSE(c->cookie_secure);
    CU_ASSERT_PTR_NULL(c->cookie_domain);
    CU_ASSERT_EQUAL(c->cookie_samesite, JWTX_SAMESITE_UNSET);
    CU_ASSERT_TRUE(c->session_cookie);
    CU_ASSERT_TRUE(c->cookie_csrf_protect);
    CU_ASSERT_EQUAL(c->csrf_methods.n, 4);
    if (c->csrf_methods.n == 4) {
        JWTX_ASSERT_STR(c->csrf_methods.v[0], "POST");
        JWTX_ASSERT_STR(c->csrf_methods.v[1], "PUT");
        JWTX_ASSERT_STR(c->csrf_methods.v[2], "PATCH");
        JWTX_ASSERT_STR(c->csrf_methods.v[3], "DELETE");
    }
    CU_ASSERT_TRUE(c->csrf_in_cookies);
    CU_ASSERT_FALSE(c->csrf_check_form);
    JWTX_ASSERT_STR(c->access_csrf_header_name, "X-CSRF-TOKEN");
    JWTX_ASSERT_STR(c->refresh_csrf_header_name, "X-CSRF-TOKEN");
    JWTX_ASSERT_STR(c->access_csrf_field_name, "csrf_token");
    JWTX_ASSERT_STR(c->refresh_csrf_field_name, "csrf_token");
    JWTX_ASSERT_STR(c->access_csrf_cookie_name, "csrf_access_token");
    JWTX_ASSERT_STR(c->refresh_csrf_cookie_name, "csrf_refresh_token");
    JWTX_ASSERT_STR(c->access_csrf_cookie_path, "/");
    JWTX_ASSERT_STR(c->refresh_csrf_cookie_path, "/");
    JWTX_ASSERT_STR(c->query_string_name, "jwt");
    JWTX_ASSERT_STR(c->query_string_value_prefix, "");
    JWTX_ASSERT_STR(c->json_key, "access_token");
    JWTX_ASSERT_STR(c->refresh_json_key, "refresh_token");
    /* gateway options */
    CU_ASSERT_PTR_NULL(c->key_id);
    CU_ASSERT_EQUAL(c->decode_keys.n, 0);
    CU_ASSERT_PTR_NULL(c->users_file);
    CU_ASSERT_PTR_NULL(c->user_claims_file);
    CU_ASSERT_FALSE(c->user_lookup);
    JWTX_ASSERT_STR(c->blocklist, "");
    JWTX_ASSERT_STR(c->blocklist_prefix, "jwtx:");
    CU_ASSERT_EQUAL(c->blocklist_timeout_ms, 250);
    CU_ASSERT_EQUAL(c->max_body, 65536);
    CU_ASSERT_EQUAL(c->implicit_refresh, 0);
    CU_ASSERT_EQUAL(c->bcrypt_cost, 10);
    CU_ASSERT_PTR_NULL(c->login_redirect);
    /* login protection */
    JWTX_ASSERT_STR(c->audit_log, "server");
    CU_ASSERT_EQUAL(c->n_trusted_proxies, 0);
    CU_ASSERT_TRUE(c->login_regulation);
    CU_ASSERT_EQUAL(c->login_find_time, 600);
    CU_ASSERT_EQUAL(c->login_ban_time, 900);
    CU_ASSERT_EQUAL(c->login_max_failures, 5);
    CU_ASSERT_EQUAL(c->login_max_failures_per_address, 20);
    CU_ASSERT_EQUAL(c->login_max_failures_per_user, 100);
    /* sessions */
    CU_ASSERT_FALSE(c->refresh_rotation);
    CU_ASSERT_FALSE(c->refresh_sliding);
    CU_ASSERT_EQUAL(c->refresh_reuse_grace, 10);
}

static void test_init_defaults(void)
{
    jwtx_config c;
    CU_ASSERT_EQUAL_FATAL(jwtx_config_init(&c), 0);
    check_defaults(&c);
    CU_ASSERT_PTR_NULL(c.secret_key);
    CU_ASSERT_PTR_NULL(c.keys);
    JWTX_ASSERT_STR(c.path, "");
    jwtx_config_clear(&c);
    CU_ASSERT_PTR_NULL(c.algorithm);
    jwtx_config_clear(&c); /* twice is harmless */
    jwtx_config_clear(NULL);
}

static void test_load_defaults(void)
{
    jwtx_config c;
    char msg[600] = "";
    CU_ASSERT_EQUAL_FATAL(load(SECRET, &c, msg, sizeof msg, NULL), 0);
    check_defaults(&c);
    CU_ASSERT_EQUAL(c.secret_key_len, 33);
    CU_ASSERT_NSTRING_EQUAL(c.secret_key, "unit-test-secret-0123456789abcdef", 34);
    CU_ASSERT_PTR_NOT_NULL(c.keys);
    JWTX_ASSERT_STR(c.path, "t.conf");
    jwtx_config_clear(&c);
}

/* The JSON of a default config, in table order: the whole contract of
 * `jwtx config check`. */
static void test_to_json_defaults(void)
{
    jwtx_config c;
    CU_ASSERT_EQUAL_FATAL(load(SECRET, &c, NULL, 0, NULL), 0);
    char *s = dumps(&c, NULL);
    JWTX_ASSERT_STR(
        s, "{\"JWT_ACCESS_TOKEN_EXPIRES\":900,\"JWT_REFRESH_TOKEN_EXPIRES\":2592000,"
           "\"JWT_ALGORITHM\":\"HS256\",\"JWT_DECODE_ALGORITHMS\":[\"HS256\"],"
           "\"JWT_SECRET_KEY\":\"********\",\"JWT_PRIVATE_KEY\":null,\"JWT_PUBLIC_KEY\":null,"
           "\"JWT_DECODE_AUDIENCE\":null,\"JWT_ENCODE_AUDIENCE\":null,\"JWT_DECODE_ISSUER\":null,"
           "\"JWT_ENCODE_ISSUER\":null,\"JWT_DECODE_LEEWAY\":0,\"JWT_ENCODE_NBF\":true,"
           "\"JWT_VERIFY_SUB\":true,\"JWT_IDENTITY_CLAIM\":\"sub\","
           "\"JWT_ERROR_MESSAGE_KEY\":\"msg\",\"JWT_TOKEN_LOCATION\":[\"headers\"],"
           "\"JWT_HEADER_NAME\":\"Authorization\",\"JWT_HEADER_TYPE\":\"Bearer\","
           "\"JWT_ACCESS_COOKIE_NAME\":\"access_token_cookie\",\"JWT_ACCESS_COOKIE_PATH\":\"/\","
           "\"JWT_REFRESH_COOKIE_NAME\":\"refresh_token_cookie\","
           "\"JWT_REFRESH_COOKIE_PATH\":\"/\",\"JWT_COOKIE_SECURE\":false,"
           "\"JWT_COOKIE_DOMAIN\":null,\"JWT_COOKIE_SAMESITE\":null,\"JWT_SESSION_COOKIE\":true,"
           "\"JWT_COOKIE_CSRF_PROTECT\":true,"
           "\"JWT_CSRF_METHODS\":[\"POST\",\"PUT\",\"PATCH\",\"DELETE\"],"
           "\"JWT_CSRF_IN_COOKIES\":true,\"JWT_CSRF_CHECK_FORM\":false,"
           "\"JWT_ACCESS_CSRF_HEADER_NAME\":\"X-CSRF-TOKEN\","
           "\"JWT_REFRESH_CSRF_HEADER_NAME\":\"X-CSRF-TOKEN\","
           "\"JWT_ACCESS_CSRF_FIELD_NAME\":\"csrf_token\","
           "\"JWT_REFRESH_CSRF_FIELD_NAME\":\"csrf_token\","
           "\"JWT_ACCESS_CSRF_COOKIE_NAME\":\"csrf_access_token\","
           "\"JWT_REFRESH_CSRF_COOKIE_NAME\":\"csrf_refresh_token\","
           "\"JWT_ACCESS_CSRF_COOKIE_PATH\":\"/\",\"JWT_REFRESH_CSRF_COOKIE_PATH\":\"/\","
           "\"JWT_QUERY_STRING_NAME\":\"jwt\",\"JWT_QUERY_STRING_VALUE_PREFIX\":\"\","
           "\"JWT_JSON_KEY\":\"access_token\",\"JWT_REFRESH_JSON_KEY\":\"refresh_token\","
           "\"JWTX_KEY_ID\":null,\"JWTX_DECODE_KEYS\":[],\"JWTX_USERS_FILE\":null,"
           "\"JWTX_USER_CLAIMS_FILE\":null,\"JWTX_USER_LOOKUP\":false,\"JWTX_BLOCKLIST\":\"\","
           "\"JWTX_BLOCKLIST_PREFIX\":\"jwtx:\",\"JWTX_BLOCKLIST_TIMEOUT_MS\":250,"
           "\"JWTX_BLOCKLIST_RETRY_MS\":1000,"
           "\"JWTX_MAX_BODY\":65536,\"JWTX_IMPLICIT_REFRESH\":0,\"JWTX_BCRYPT_COST\":10,"
           "\"JWTX_LOGIN_REDIRECT\":null,\"JWTX_AUDIT_LOG\":\"server\","
           "\"JWTX_TRUSTED_PROXIES\":[],\"JWTX_LOGIN_REGULATION\":true,"
           "\"JWTX_LOGIN_FIND_TIME\":600,\"JWTX_LOGIN_BAN_TIME\":900,"
           "\"JWTX_LOGIN_MAX_FAILURES\":5,\"JWTX_LOGIN_MAX_FAILURES_PER_ADDRESS\":20,"
           "\"JWTX_LOGIN_MAX_FAILURES_PER_USER\":100,\"JWTX_REFRESH_ROTATION\":false,"
           "\"JWTX_REFRESH_SLIDING\":false,\"JWTX_REFRESH_REUSE_GRACE\":10}");
    free(s);
    /* 43 JWT_* options minus JWT_SECRET_KEY's fallback name: all 43 are shown */
    json_t *j = jwtx_config_to_json(&c);
    int n_jwt = 0;
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v)
    {
        (void)v;
        n_jwt += strncmp(k, "JWT_", 4) == 0;
    }
    CU_ASSERT_EQUAL(n_jwt, 43);
    json_decref(j);
    jwtx_config_clear(&c);
}

/* ---- values ----------------------------------------------------------- */

typedef struct value_case {
    const char *text;   /* one or more lines after the secret */
    const char *option; /* key in to_json */
    const char *json;   /* expected compact JSON of the effective value */
} value_case;

static const value_case value_cases[] = {
    {"JWT_ACCESS_TOKEN_EXPIRES = 60", "JWT_ACCESS_TOKEN_EXPIRES", "60"},
    {"JWT_ACCESS_TOKEN_EXPIRES = False", "JWT_ACCESS_TOKEN_EXPIRES", "false"},
    {"JWT_ACCESS_TOKEN_EXPIRES = -5", "JWT_ACCESS_TOKEN_EXPIRES", "-5"},
    {"JWT_REFRESH_TOKEN_EXPIRES = 86_400", "JWT_REFRESH_TOKEN_EXPIRES", "86400"},
    {"JWT_REFRESH_TOKEN_EXPIRES = 0xE10", "JWT_REFRESH_TOKEN_EXPIRES", "3600"},
    {"JWT_ALGORITHM = 'HS384'", "JWT_ALGORITHM", "\"HS384\""},
    {"JWT_ALGORITHM = 'HS512'\nJWT_DECODE_ALGORITHMS = ['HS256']", "JWT_DECODE_ALGORITHMS",
     "[\"HS256\",\"HS512\"]"},
    {"JWT_DECODE_ALGORITHMS = ('HS384', 'HS256', 'HS384')", "JWT_DECODE_ALGORITHMS",
     "[\"HS384\",\"HS256\"]"},
    {"JWT_DECODE_ALGORITHMS = []", "JWT_DECODE_ALGORITHMS", "[\"HS256\"]"},
    {"JWT_DECODE_ALGORITHMS = None", "JWT_DECODE_ALGORITHMS", "[\"HS256\"]"},
    {"JWT_DECODE_AUDIENCE = 'api'", "JWT_DECODE_AUDIENCE", "[\"api\"]"},
    {"JWT_DECODE_AUDIENCE = ''", "JWT_DECODE_AUDIENCE", "[\"\"]"},
    {"JWT_DECODE_AUDIENCE = ['a', 'b']", "JWT_DECODE_AUDIENCE", "[\"a\",\"b\"]"},
    {"JWT_DECODE_AUDIENCE = None", "JWT_DECODE_AUDIENCE", "null"},
    {"JWT_ENCODE_AUDIENCE = 'api'", "JWT_ENCODE_AUDIENCE", "\"api\""},
    {"JWT_ENCODE_AUDIENCE = ['a', 'b']", "JWT_ENCODE_AUDIENCE", "[\"a\",\"b\"]"},
    {"JWT_ENCODE_AUDIENCE = []", "JWT_ENCODE_AUDIENCE", "null"},
    {"JWT_ENCODE_AUDIENCE = ''", "JWT_ENCODE_AUDIENCE", "null"},
    {"JWT_DECODE_ISSUER = 'me'", "JWT_DECODE_ISSUER", "[\"me\"]"},
    {"JWT_DECODE_ISSUER = ('me', 'you',)", "JWT_DECODE_ISSUER", "[\"me\",\"you\"]"},
    {"JWT_ENCODE_ISSUER = 'me'", "JWT_ENCODE_ISSUER", "\"me\""},
    {"JWT_ENCODE_ISSUER = ''", "JWT_ENCODE_ISSUER", "null"},
    {"JWT_DECODE_LEEWAY = 10", "JWT_DECODE_LEEWAY", "10"},
    {"JWT_ENCODE_NBF = False", "JWT_ENCODE_NBF", "false"},
    {"JWT_VERIFY_SUB = False", "JWT_VERIFY_SUB", "false"},
    {"JWT_IDENTITY_CLAIM = 'user'", "JWT_IDENTITY_CLAIM", "\"user\""},
    {"JWT_TOKEN_LOCATION = 'json'", "JWT_TOKEN_LOCATION", "[\"json\"]"},
    {"JWT_TOKEN_LOCATION = ['query_string', 'headers']", "JWT_TOKEN_LOCATION",
     "[\"query_string\",\"headers\"]"},
    {"JWT_TOKEN_LOCATION = ('cookies',)", "JWT_TOKEN_LOCATION", "[\"cookies\"]"},
    {"JWT_HEADER_TYPE = ''", "JWT_HEADER_TYPE", "\"\""},
    {"JWT_HEADER_TYPE = None", "JWT_HEADER_TYPE", "\"\""},
    {"JWT_HEADER_TYPE = 'JWT'", "JWT_HEADER_TYPE", "\"JWT\""},
    {"JWT_HEADER_NAME = 'X-Token'", "JWT_HEADER_NAME", "\"X-Token\""},
    {"JWT_COOKIE_SAMESITE = 'lax'", "JWT_COOKIE_SAMESITE", "\"Lax\""},
    {"JWT_COOKIE_SAMESITE = 'STRICT'", "JWT_COOKIE_SAMESITE", "\"Strict\""},
    {"JWT_COOKIE_SAMESITE = 'None'\nJWT_COOKIE_SECURE = True", "JWT_COOKIE_SAMESITE", "\"None\""},
    {"JWT_COOKIE_SAMESITE = None", "JWT_COOKIE_SAMESITE", "null"},
    {"JWT_COOKIE_DOMAIN = '.example.com'", "JWT_COOKIE_DOMAIN", "\".example.com\""},
    {"JWT_COOKIE_DOMAIN = ''", "JWT_COOKIE_DOMAIN", "null"},
    {"JWT_CSRF_METHODS = ['GET']", "JWT_CSRF_METHODS", "[\"GET\"]"},
    {"JWT_CSRF_METHODS = []", "JWT_CSRF_METHODS", "[]"},
    {"JWT_QUERY_STRING_VALUE_PREFIX = 'Bearer '", "JWT_QUERY_STRING_VALUE_PREFIX", "\"Bearer \""},
    {"JWTX_BLOCKLIST = 'redis://127.0.0.1:6379/0'", "JWTX_BLOCKLIST",
     "\"redis://127.0.0.1:6379/0\""},
    /* Redis URLs are shown as the store's parser reads them, password
     * masked wherever the store would find one. */
    {"JWTX_BLOCKLIST = 'redis://:pw@127.0.0.1:6379/0'", "JWTX_BLOCKLIST",
     "\"redis://:********@127.0.0.1:6379/0\""},
    {"JWTX_BLOCKLIST = 'unix:/p?db=2&password=X'", "JWTX_BLOCKLIST",
     "\"unix:/p?db=2&password=********\""},
    {"JWTX_BLOCKLIST = 'unix:/run/r.sock?password=s3cr%2Ft&user=b%40b&db=1'", "JWTX_BLOCKLIST",
     "\"unix:/run/r.sock?db=1&user=b%40b&password=********\""},
    {"JWTX_BLOCKLIST = 'redis://user:pa@ss/w@host'", "JWTX_BLOCKLIST",
     "\"redis://user:********@host:6379/0\""},
    {"JWTX_BLOCKLIST = 'redis://u%40x:p%2Fw@h:7000/3'", "JWTX_BLOCKLIST",
     "\"redis://u%40x:********@h:7000/3\""},
    {"JWTX_BLOCKLIST = 'redis://[::1]:6380/2'", "JWTX_BLOCKLIST", "\"redis://[::1]:6380/2\""},
    {"JWTX_BLOCKLIST = 'redis://localhost'", "JWTX_BLOCKLIST", "\"redis://localhost:6379/0\""},
    /* what the store cannot parse is masked whole */
    {"JWTX_BLOCKLIST = 'redis://:pw@h:99999/0'", "JWTX_BLOCKLIST", "\"********\""},
    {"JWTX_BLOCKLIST = 'unix:/p?password=X&bogus=1'", "JWTX_BLOCKLIST", "\"********\""},
    {"JWTX_BLOCKLIST = 'sqlite:/var/lib/jwtx/bl.sqlite'", "JWTX_BLOCKLIST",
     "\"sqlite:/var/lib/jwtx/bl.sqlite\""},
    {"JWTX_BLOCKLIST = None", "JWTX_BLOCKLIST", "\"\""},
    {"JWTX_BLOCKLIST_PREFIX = 'app1:'", "JWTX_BLOCKLIST_PREFIX", "\"app1:\""},
    {"JWTX_BLOCKLIST_TIMEOUT_MS = 60000", "JWTX_BLOCKLIST_TIMEOUT_MS", "60000"},
    {"JWTX_BLOCKLIST_RETRY_MS = 0", "JWTX_BLOCKLIST_RETRY_MS", "0"},
    {"JWTX_BLOCKLIST_RETRY_MS = 60_000", "JWTX_BLOCKLIST_RETRY_MS", "60000"},
    {"JWTX_MAX_BODY = 1024", "JWTX_MAX_BODY", "1024"},
    {"JWTX_IMPLICIT_REFRESH = 300", "JWTX_IMPLICIT_REFRESH", "300"},
    {"JWTX_IMPLICIT_REFRESH = False", "JWTX_IMPLICIT_REFRESH", "0"},
    {"JWTX_BCRYPT_COST = 12", "JWTX_BCRYPT_COST", "12"},
    {"JWTX_KEY_ID = 'k1'", "JWTX_KEY_ID", "\"k1\""},
    {"JWTX_LOGIN_REDIRECT = '/app/home?x=1'", "JWTX_LOGIN_REDIRECT", "\"/app/home?x=1\""},
    {"JWTX_AUDIT_LOG = 'syslog'", "JWTX_AUDIT_LOG", "\"syslog\""},
    {"JWTX_AUDIT_LOG = 'server'", "JWTX_AUDIT_LOG", "\"server\""},
    {"JWTX_AUDIT_LOG = ''", "JWTX_AUDIT_LOG", "\"\""},
    {"JWTX_AUDIT_LOG = None", "JWTX_AUDIT_LOG", "\"\""},
    {"JWTX_AUDIT_LOG = '/var/log/jwtx/audit.log'", "JWTX_AUDIT_LOG", "\"/var/log/jwtx/audit.log\""},
    {"JWTX_TRUSTED_PROXIES = ['127.0.0.1', '10.0.0.0/8', '::1', '2001:DB8::/32']",
     "JWTX_TRUSTED_PROXIES", "[\"127.0.0.1\",\"10.0.0.0/8\",\"::1\",\"2001:db8::/32\"]"},
    {"JWTX_TRUSTED_PROXIES = ('::ffff:10.0.0.0/104',)", "JWTX_TRUSTED_PROXIES", "[\"10.0.0.0/8\"]"},
    {"JWTX_TRUSTED_PROXIES = []", "JWTX_TRUSTED_PROXIES", "[]"},
    {"JWTX_TRUSTED_PROXIES = None", "JWTX_TRUSTED_PROXIES", "[]"},
    {"JWTX_LOGIN_REGULATION = False", "JWTX_LOGIN_REGULATION", "false"},
    {"JWTX_LOGIN_FIND_TIME = 60", "JWTX_LOGIN_FIND_TIME", "60"},
    {"JWTX_LOGIN_BAN_TIME = 2_592_000", "JWTX_LOGIN_BAN_TIME", "2592000"},
    {"JWTX_LOGIN_MAX_FAILURES = 0", "JWTX_LOGIN_MAX_FAILURES", "0"},
    {"JWTX_LOGIN_MAX_FAILURES = False", "JWTX_LOGIN_MAX_FAILURES", "0"},
    {"JWTX_LOGIN_MAX_FAILURES_PER_ADDRESS = 1000", "JWTX_LOGIN_MAX_FAILURES_PER_ADDRESS", "1000"},
    {"JWTX_LOGIN_MAX_FAILURES_PER_USER = 0", "JWTX_LOGIN_MAX_FAILURES_PER_USER", "0"},
    {"JWTX_REFRESH_ROTATION = True\nJWTX_BLOCKLIST = 'sqlite:/var/lib/jwtx/bl.sqlite'",
     "JWTX_REFRESH_ROTATION", "true"},
    {"JWTX_BLOCKLIST = 'redis://h:6379/0'\nJWTX_REFRESH_ROTATION = True", "JWTX_REFRESH_ROTATION",
     "true"},
    {"JWTX_REFRESH_ROTATION = False", "JWTX_REFRESH_ROTATION", "false"},
    {"JWTX_REFRESH_SLIDING = True\nJWTX_REFRESH_ROTATION = True\nJWTX_BLOCKLIST = 'sqlite:b'",
     "JWTX_REFRESH_SLIDING", "true"},
    {"JWTX_REFRESH_REUSE_GRACE = 0", "JWTX_REFRESH_REUSE_GRACE", "0"},
    {"JWTX_REFRESH_REUSE_GRACE = 86_400", "JWTX_REFRESH_REUSE_GRACE", "86400"},
    {"JWTX_USERS_FILE = '/etc/jwtx/users'", "JWTX_USERS_FILE", "\"/etc/jwtx/users\""},
    {"JWTX_USERS_FILE = None", "JWTX_USERS_FILE", "null"},
    {"JWTX_USER_LOOKUP = True\nJWTX_USERS_FILE = '/u'", "JWTX_USER_LOOKUP", "true"},
    /* Python literal forms */
    {"JWT_DECODE_LEEWAY = 0o17", "JWT_DECODE_LEEWAY", "15"},
    {"JWT_DECODE_LEEWAY = 0b1_1", "JWT_DECODE_LEEWAY", "3"},
    {"JWT_DECODE_LEEWAY = +7", "JWT_DECODE_LEEWAY", "7"},
    {"JWT_DECODE_LEEWAY = - -7", "JWT_DECODE_LEEWAY", "7"},
    {"JWT_DECODE_LEEWAY = 00", "JWT_DECODE_LEEWAY", "0"},
    {"JWT_ERROR_MESSAGE_KEY = \"it's\"", "JWT_ERROR_MESSAGE_KEY", "\"it's\""},
    {"JWT_ERROR_MESSAGE_KEY = 'say \"hi\"'", "JWT_ERROR_MESSAGE_KEY", "\"say \\\"hi\\\"\""},
    {"JWT_ERROR_MESSAGE_KEY = 'a\\'b\\\"c\\\\d'", "JWT_ERROR_MESSAGE_KEY", "\"a'b\\\"c\\\\d\""},
    {"JWT_ERROR_MESSAGE_KEY = 'a\\nb\\tc\\rd'", "JWT_ERROR_MESSAGE_KEY", "\"a\\nb\\tc\\rd\""},
    {"JWT_ERROR_MESSAGE_KEY = '\\x41\\101\\u00e9\\U0001F600'", "JWT_ERROR_MESSAGE_KEY",
     "\"AA\xc3\xa9\xf0\x9f\x98\x80\""},
    {"JWT_ERROR_MESSAGE_KEY = '\\xe9'", "JWT_ERROR_MESSAGE_KEY", "\"\xc3\xa9\""},
    {"JWT_ERROR_MESSAGE_KEY = 'caf\xc3\xa9'", "JWT_ERROR_MESSAGE_KEY", "\"caf\xc3\xa9\""},
    {"JWT_ERROR_MESSAGE_KEY = 'a' \"b\" 'c'", "JWT_ERROR_MESSAGE_KEY", "\"abc\""},
    {"JWT_ERROR_MESSAGE_KEY = u'uni'", "JWT_ERROR_MESSAGE_KEY", "\"uni\""},
    {"JWT_ERROR_MESSAGE_KEY = r'\\d\\n'", "JWT_ERROR_MESSAGE_KEY", "\"\\\\d\\\\n\""},
    {"JWT_ERROR_MESSAGE_KEY = R'\\''", "JWT_ERROR_MESSAGE_KEY", "\"\\\\'\""},
    {"JWT_ERROR_MESSAGE_KEY = ('paren')", "JWT_ERROR_MESSAGE_KEY", "\"paren\""},
    {"JWT_ERROR_MESSAGE_KEY = 'has # hash' # and a comment", "JWT_ERROR_MESSAGE_KEY",
     "\"has # hash\""},
    {"JWT_ERROR_MESSAGE_KEY='tight'", "JWT_ERROR_MESSAGE_KEY", "\"tight\""},
    {"JWT_ERROR_MESSAGE_KEY = 'first'\nJWT_ERROR_MESSAGE_KEY = 'last'", "JWT_ERROR_MESSAGE_KEY",
     "\"last\""},
    {"JWT_ERROR_MESSAGE_KEY = 'crlf'\r\n", "JWT_ERROR_MESSAGE_KEY", "\"crlf\""},
    {"JWT_CSRF_METHODS = [\n  'PUT',  # put\n\n  # a comment line\n  'POST'\n]", "JWT_CSRF_METHODS",
     "[\"PUT\",\"POST\"]"},
    {"JWT_CSRF_METHODS = (\n 'PUT',\n)", "JWT_CSRF_METHODS", "[\"PUT\"]"},
    {"JWT_CSRF_METHODS = ()", "JWT_CSRF_METHODS", "[]"},
    {"\n\n# comment\n   # indented comment\n\t\nJWT_DECODE_LEEWAY = 4\n\n", "JWT_DECODE_LEEWAY",
     "4"},
};

static void test_values(void)
{
    for (size_t k = 0; k < sizeof value_cases / sizeof value_cases[0]; k++) {
        const value_case *vc = &value_cases[k];
        if (vc->option == NULL)
            continue;
        char text[2048], msg[600] = "";
        snprintf(text, sizeof text, "%s%s", SECRET, vc->text);
        jwtx_config c;
        int rc = load(text, &c, msg, sizeof msg, NULL);
        if (rc != 0)
            fprintf(stderr, "\n  case %zu [%s]: %s\n", k, vc->text, msg);
        CU_ASSERT_EQUAL(rc, 0);
        if (rc != 0)
            continue;
        char *s = dumps(&c, vc->option);
        if (!(s && strcmp(s, vc->json) == 0))
            fprintf(stderr, "\n  case %zu [%s]", k, vc->text);
        JWTX_ASSERT_STR(s, vc->json);
        free(s);
        jwtx_config_clear(&c);
    }
}

/* Values that to_json cannot show directly. */
static void test_struct_values(void)
{
    jwtx_config c;
    CU_ASSERT_EQUAL_FATAL(load(SECRET "JWT_ACCESS_TOKEN_EXPIRES = False\n"
                                      "JWT_REFRESH_TOKEN_EXPIRES = 77\n"
                                      "JWT_TOKEN_LOCATION = ['json', 'cookies', 'headers', "
                                      "'query_string']\nJWT_COOKIE_SAMESITE = 'Lax'\n",
                               &c, NULL, 0, NULL),
                          0);
    CU_ASSERT_TRUE(c.access_expires.never);
    CU_ASSERT_FALSE(c.refresh_expires.never);
    CU_ASSERT_EQUAL(c.refresh_expires.seconds, 77);
    CU_ASSERT_EQUAL(c.n_token_location, 4);
    CU_ASSERT_EQUAL(c.token_location[0], JWTX_LOC_JSON);
    CU_ASSERT_EQUAL(c.token_location[1], JWTX_LOC_COOKIES);
    CU_ASSERT_EQUAL(c.token_location[2], JWTX_LOC_HEADERS);
    CU_ASSERT_EQUAL(c.token_location[3], JWTX_LOC_QUERY_STRING);
    CU_ASSERT_EQUAL(c.cookie_samesite, JWTX_SAMESITE_LAX);
    jwtx_config_clear(&c);

    /* a secret may hold any character, NUL included (it has a length) */
    CU_ASSERT_EQUAL_FATAL(
        load("JWT_SECRET_KEY = 'ab\\x00cd-0123456789abcdef0123456789'\n", &c, NULL, 0, NULL), 0);
    CU_ASSERT_EQUAL(c.secret_key_len, 32);
    CU_ASSERT_EQUAL(memcmp(c.secret_key, "ab\0cd", 5), 0);
    jwtx_config_clear(&c);
}

/* ---- errors ----------------------------------------------------------- */

typedef struct error_case {
    const char *text;
    const char *expected; /* formatted: "t.conf:LINE: OPTION: message" */
} error_case;

#define S SECRET /* line 1 is the secret in most cases */

static const error_case error_cases[] = {
    /* durations (spec/README.md point 1 and the reference's wording) */
    {S "JWT_ACCESS_TOKEN_EXPIRES = 0",
     "t.conf:2: JWT_ACCESS_TOKEN_EXPIRES: 0 would make tokens that never expire; write False "
     "for that"},
    {S "JWT_REFRESH_TOKEN_EXPIRES = 0x0",
     "t.conf:2: JWT_REFRESH_TOKEN_EXPIRES: 0 would make tokens that never expire; write False "
     "for that"},
    {S "JWT_ACCESS_TOKEN_EXPIRES = True",
     "t.conf:2: JWT_ACCESS_TOKEN_EXPIRES: must be able to add JWT_ACCESS_TOKEN_EXPIRES to "
     "datetime.datetime"},
    {S "JWT_ACCESS_TOKEN_EXPIRES = None",
     "t.conf:2: JWT_ACCESS_TOKEN_EXPIRES: must be able to add JWT_ACCESS_TOKEN_EXPIRES to "
     "datetime.datetime"},
    {S "JWT_ACCESS_TOKEN_EXPIRES = '900'",
     "t.conf:2: JWT_ACCESS_TOKEN_EXPIRES: must be able to add JWT_ACCESS_TOKEN_EXPIRES to "
     "datetime.datetime"},
    {S "JWT_REFRESH_TOKEN_EXPIRES = 1.5",
     "t.conf:2: JWT_REFRESH_TOKEN_EXPIRES: must be able to add JWT_REFRESH_TOKEN_EXPIRES to "
     "datetime.datetime"},
    {S "JWT_REFRESH_TOKEN_EXPIRES = 99999999999",
     "t.conf:2: JWT_REFRESH_TOKEN_EXPIRES: must be at most 3153600000 seconds"},
    /* token locations */
    {S "JWT_TOKEN_LOCATION = []",
     "t.conf:2: JWT_TOKEN_LOCATION: JWT_TOKEN_LOCATION must contain at least one of "
     "\"headers\", \"cookies\", \"query_string\", or \"json\""},
    {S "JWT_TOKEN_LOCATION = ()",
     "t.conf:2: JWT_TOKEN_LOCATION: JWT_TOKEN_LOCATION must contain at least one of "
     "\"headers\", \"cookies\", \"query_string\", or \"json\""},
    {S "JWT_TOKEN_LOCATION = ['headers', 'Cookies']",
     "t.conf:2: JWT_TOKEN_LOCATION: JWT_TOKEN_LOCATION can only contain \"headers\", "
     "\"cookies\", \"query_string\", or \"json\""},
    {S "JWT_TOKEN_LOCATION = 'query-string'",
     "t.conf:2: JWT_TOKEN_LOCATION: JWT_TOKEN_LOCATION can only contain \"headers\", "
     "\"cookies\", \"query_string\", or \"json\""},
    {S "JWT_TOKEN_LOCATION = ''",
     "t.conf:2: JWT_TOKEN_LOCATION: JWT_TOKEN_LOCATION can only contain \"headers\", "
     "\"cookies\", \"query_string\", or \"json\""},
    {S "JWT_TOKEN_LOCATION = ['headers', None]",
     "t.conf:2: JWT_TOKEN_LOCATION: JWT_TOKEN_LOCATION can only contain \"headers\", "
     "\"cookies\", \"query_string\", or \"json\""},
    {S "JWT_TOKEN_LOCATION = None",
     "t.conf:2: JWT_TOKEN_LOCATION: JWT_TOKEN_LOCATION must be a sequence or a set"},
    {S "JWT_TOKEN_LOCATION = 1",
     "t.conf:2: JWT_TOKEN_LOCATION: JWT_TOKEN_LOCATION must be a sequence or a set"},
    {S "JWT_TOKEN_LOCATION = ['headers','headers','headers','headers','headers','headers',"
       "'headers','headers','headers']",
     "t.conf:2: JWT_TOKEN_LOCATION: at most 8 locations"},
    /* headers and cookies */
    {S "JWT_HEADER_NAME = ''", "t.conf:2: JWT_HEADER_NAME: JWT_ACCESS_HEADER_NAME cannot be empty"},
    {S "JWT_HEADER_NAME = None",
     "t.conf:2: JWT_HEADER_NAME: JWT_ACCESS_HEADER_NAME cannot be empty"},
    {S "JWT_HEADER_NAME = 'Bad Header'",
     "t.conf:2: JWT_HEADER_NAME: must be a token: letters, digits and !#$%&'*+-.^_`|~ only"},
    {S "JWT_HEADER_TYPE = 'Bearer token'",
     "t.conf:2: JWT_HEADER_TYPE: must be one word without spaces, commas or control "
     "characters"},
    {S "JWT_HEADER_TYPE = 1", "t.conf:2: JWT_HEADER_TYPE: expected a string or None, got int"},
    {S "JWT_COOKIE_SAMESITE = 'Sometimes'",
     "t.conf:2: JWT_COOKIE_SAMESITE: SameSite must be 'Strict', 'Lax', or 'None'."},
    {S "JWT_COOKIE_SAMESITE = ''",
     "t.conf:2: JWT_COOKIE_SAMESITE: SameSite must be 'Strict', 'Lax', or 'None'."},
    {S "JWT_COOKIE_SAMESITE = True",
     "t.conf:2: JWT_COOKIE_SAMESITE: expected None or a string, got bool"},
    {S "JWT_ACCESS_COOKIE_NAME = ''", "t.conf:2: JWT_ACCESS_COOKIE_NAME: cannot be empty"},
    {S "JWT_REFRESH_COOKIE_NAME = 'a;b'",
     "t.conf:2: JWT_REFRESH_COOKIE_NAME: must be a token: letters, digits and "
     "!#$%&'*+-.^_`|~ only"},
    {S "JWT_ACCESS_COOKIE_PATH = '/a;Secure'",
     "t.conf:2: JWT_ACCESS_COOKIE_PATH: must not contain control characters, ';' or non-ASCII "
     "characters"},
    {S "JWT_COOKIE_DOMAIN = 'ex\\r\\nample.com'",
     "t.conf:2: JWT_COOKIE_DOMAIN: must not contain control characters, ';' or non-ASCII "
     "characters"},
    {S "JWT_COOKIE_SECURE = 1", "t.conf:2: JWT_COOKIE_SECURE: expected True or False, got int"},
    {S "JWT_SESSION_COOKIE = None",
     "t.conf:2: JWT_SESSION_COOKIE: expected True or False, got None"},
    {S "JWT_CSRF_METHODS = 'POST'",
     "t.conf:2: JWT_CSRF_METHODS: expected a list of strings, got str"},
    {S "JWT_CSRF_METHODS = ['POST', 1]",
     "t.conf:2: JWT_CSRF_METHODS: expected a list of strings, but item 2 is int"},
    {S "JWT_ACCESS_CSRF_HEADER_NAME = 5",
     "t.conf:2: JWT_ACCESS_CSRF_HEADER_NAME: expected a string, got int"},
    {S "JWT_IDENTITY_CLAIM = None", "t.conf:2: JWT_IDENTITY_CLAIM: expected a string, got None"},
    {S "JWT_IDENTITY_CLAIM = ''", "t.conf:2: JWT_IDENTITY_CLAIM: cannot be empty"},
    {S "JWT_QUERY_STRING_VALUE_PREFIX = None",
     "t.conf:2: JWT_QUERY_STRING_VALUE_PREFIX: expected a string, got None"},
    {S "JWT_JSON_KEY = ['a']", "t.conf:2: JWT_JSON_KEY: expected a string, got list"},
    /* algorithms */
    {S "JWT_ALGORITHM = 'none'",
     "t.conf:2: JWT_ALGORITHM: the \"none\" algorithm is never allowed"},
    {S "JWT_ALGORITHM = 'hs256'",
     "t.conf:2: JWT_ALGORITHM: unsupported algorithm \"hs256\"; use one of HS256, HS384, HS512, "
     "RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA"},
    {S "JWT_ALGORITHM = 'ES256K'",
     "t.conf:2: JWT_ALGORITHM: unsupported algorithm \"ES256K\"; use one of HS256, HS384, "
     "HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA"},
    {S "JWT_ALGORITHM = None", "t.conf:2: JWT_ALGORITHM: expected a string, got None"},
    {S "JWT_DECODE_ALGORITHMS = 'HS256'",
     "t.conf:2: JWT_DECODE_ALGORITHMS: expected None or a list of algorithm names, got str"},
    {S "JWT_DECODE_ALGORITHMS = ['HS256', 'none']",
     "t.conf:2: JWT_DECODE_ALGORITHMS: the \"none\" algorithm is never allowed"},
    {S "JWT_DECODE_ALGORITHMS = ['HS256', 256]",
     "t.conf:2: JWT_DECODE_ALGORITHMS: expected a list of algorithm names, but item 2 is int"},
    {S "JWT_DECODE_ALGORITHMS = ['RS256']",
     "t.conf:2: JWT_DECODE_ALGORITHMS: algorithm \"RS256\" has no key of its family "
     "(JWT_PUBLIC_KEY or JWTX_DECODE_KEYS)"},
    /* audience, issuer, leeway */
    {S "JWT_DECODE_AUDIENCE = 5",
     "t.conf:2: JWT_DECODE_AUDIENCE: expected None, a string or a list of strings, got int"},
    {S "JWT_DECODE_ISSUER = ['a', 1]",
     "t.conf:2: JWT_DECODE_ISSUER: expected None, a string or a list of strings, but item 2 is "
     "int"},
    {S "JWT_ENCODE_AUDIENCE = True",
     "t.conf:2: JWT_ENCODE_AUDIENCE: expected None, a string or a list of strings, got bool"},
    {S "JWT_ENCODE_AUDIENCE = ['a', None]",
     "t.conf:2: JWT_ENCODE_AUDIENCE: expected None, a string or a list of strings, but item 2 "
     "is None"},
    {S "JWT_ENCODE_ISSUER = 5", "t.conf:2: JWT_ENCODE_ISSUER: expected a string or None, got int"},
    {S "JWT_DECODE_LEEWAY = -1",
     "t.conf:2: JWT_DECODE_LEEWAY: must be an integer from 0 to 315360000"},
    {S "JWT_DECODE_LEEWAY = 0.5", "t.conf:2: JWT_DECODE_LEEWAY: expected an integer, got float"},
    /* secrets and keys */
    {"JWT_ALGORITHM = 'HS512'",
     "t.conf: JWT_SECRET_KEY: JWT_SECRET_KEY or flask SECRET_KEY must be set when using "
     "symmetric algorithm \"HS512\""},
    {"JWT_SECRET_KEY = ''\nSECRET_KEY = None",
     "t.conf:1: JWT_SECRET_KEY: JWT_SECRET_KEY or flask SECRET_KEY must be set when using "
     "symmetric algorithm \"HS256\""},
    {"JWT_SECRET_KEY = 5", "t.conf:1: JWT_SECRET_KEY: expected a string or None, got int"},
    {"SECRET_KEY = ['x']", "t.conf:1: SECRET_KEY: expected a string or None, got list"},
    {"JWT_SECRET_KEY = '-----BEGIN PUBLIC KEY-----\\nMFkw'",
     "t.conf:1: JWT_SECRET_KEY: the secret looks like a PEM or SSH key; it must not be used as "
     "an HMAC secret"},
    {"SECRET_KEY = 'ssh-rsa AAAAB3Nza'",
     "t.conf:1: SECRET_KEY: the secret looks like a PEM or SSH key; it must not be used as an "
     "HMAC secret"},
    {S "JWTX_SECRET_KEY_FILE = 'secret.txt'",
     "t.conf:2: JWTX_SECRET_KEY_FILE: JWT_SECRET_KEY is also set (line 1); keep only one of "
     "them"},
    {"SECRET_KEY = 'flask'\n\nJWTX_SECRET_KEY_FILE = 'secret.txt'",
     "t.conf:3: JWTX_SECRET_KEY_FILE: SECRET_KEY is also set (line 1); keep only one of them"},
    {"JWTX_SECRET_KEY_FILE = 5",
     "t.conf:1: JWTX_SECRET_KEY_FILE: expected a string or None, got int"},
    {"JWT_ALGORITHM = 'RS256'",
     "t.conf: JWT_PRIVATE_KEY: JWT_PRIVATE_KEY must be set to use asymmetric cryptography "
     "algorithm \"RS256\""},
    {"JWT_ALGORITHM = 'RS256'\nJWT_PRIVATE_KEY = 'not a pem'\nJWTX_PRIVATE_KEY_FILE = 'k.pem'",
     "t.conf:3: JWTX_PRIVATE_KEY_FILE: JWT_PRIVATE_KEY is also set (line 2); keep only one of "
     "them"},
    {"JWT_ALGORITHM = 'ES256'\nJWT_PUBLIC_KEY = 'x'\nJWTX_PUBLIC_KEY_FILE = 'k.pem'",
     "t.conf:3: JWTX_PUBLIC_KEY_FILE: JWT_PUBLIC_KEY is also set (line 2); keep only one of "
     "them"},
    {"JWT_PRIVATE_KEY = 5", "t.conf:1: JWT_PRIVATE_KEY: expected a string or None, got int"},
    /* gateway options */
    {S "JWTX_BCRYPT_COST = 3", "t.conf:2: JWTX_BCRYPT_COST: must be an integer from 4 to 14"},
    {S "JWTX_BCRYPT_COST = 15", "t.conf:2: JWTX_BCRYPT_COST: must be an integer from 4 to 14"},
    {S "JWTX_MAX_BODY = 1023", "t.conf:2: JWTX_MAX_BODY: must be an integer from 1024 to 16777216"},
    {S "JWTX_MAX_BODY = 16_777_217",
     "t.conf:2: JWTX_MAX_BODY: must be an integer from 1024 to 16777216"},
    {S "JWTX_MAX_BODY = '64k'", "t.conf:2: JWTX_MAX_BODY: expected an integer, got str"},
    {S "JWTX_BLOCKLIST_TIMEOUT_MS = 0",
     "t.conf:2: JWTX_BLOCKLIST_TIMEOUT_MS: must be an integer from 1 to 60000"},
    {S "JWTX_BLOCKLIST_TIMEOUT_MS = 60001",
     "t.conf:2: JWTX_BLOCKLIST_TIMEOUT_MS: must be an integer from 1 to 60000"},
    {S "JWTX_BLOCKLIST_RETRY_MS = -1",
     "t.conf:2: JWTX_BLOCKLIST_RETRY_MS: must be an integer from 0 to 60000"},
    {S "JWTX_BLOCKLIST_RETRY_MS = 60001",
     "t.conf:2: JWTX_BLOCKLIST_RETRY_MS: must be an integer from 0 to 60000"},
    {S "JWTX_BLOCKLIST_RETRY_MS = 1.5",
     "t.conf:2: JWTX_BLOCKLIST_RETRY_MS: expected an integer, got float"},
    {S "JWTX_BLOCKLIST_RETRY_MS = '1000'",
     "t.conf:2: JWTX_BLOCKLIST_RETRY_MS: expected an integer, got str"},
    {S "JWTX_IMPLICIT_REFRESH = -1",
     "t.conf:2: JWTX_IMPLICIT_REFRESH: must be an integer from 0 to 3153600000"},
    {S "JWTX_IMPLICIT_REFRESH = True",
     "t.conf:2: JWTX_IMPLICIT_REFRESH: expected an integer, got bool"},
    {S "JWTX_BLOCKLIST = 'mysql://db'",
     "t.conf:2: JWTX_BLOCKLIST: must be \"sqlite:PATH\", \"redis://HOST:PORT/DB\" or \"\" (no "
     "store)"},
    {S "JWTX_BLOCKLIST = 'sqlite:'", "t.conf:2: JWTX_BLOCKLIST: \"sqlite:\" needs a file path"},
    {S "JWTX_BLOCKLIST = 'redis://'", "t.conf:2: JWTX_BLOCKLIST: the store URL has no address"},
    {S "JWTX_BLOCKLIST = 1", "t.conf:2: JWTX_BLOCKLIST: expected a string or None, got int"},
    {S "JWTX_USER_LOOKUP = True",
     "t.conf:2: JWTX_USER_LOOKUP: needs JWTX_USERS_FILE (the users a token's identity is "
     "looked up in)"},
    {S "JWTX_USER_LOOKUP = 'yes'", "t.conf:2: JWTX_USER_LOOKUP: expected True or False, got str"},
    {S "JWTX_USERS_FILE = ['a']", "t.conf:2: JWTX_USERS_FILE: expected a string or None, got list"},
    {S "JWTX_KEY_ID = ''",
     "t.conf:2: JWTX_KEY_ID: cannot be empty (None uses the key's RFC 7638 thumbprint)"},
    {S "JWTX_DECODE_KEYS = 'a=b.pem'",
     "t.conf:2: JWTX_DECODE_KEYS: expected a list of \"kid=path\" strings, got str"},
    {S "JWTX_DECODE_KEYS = ['nokid']",
     "t.conf:2: JWTX_DECODE_KEYS: item 1 must look like \"kid=path\""},
    {S "JWTX_DECODE_KEYS = ['=x.pem']",
     "t.conf:2: JWTX_DECODE_KEYS: item 1 must look like \"kid=path\""},
    {S "JWTX_DECODE_KEYS = ['a=x.pem', 'a=y.pem']",
     "t.conf:2: JWTX_DECODE_KEYS: key id \"a\" appears twice"},
    {S "JWTX_LOGIN_REDIRECT = '//evil.example/'",
     "t.conf:2: JWTX_LOGIN_REDIRECT: must be a local path starting with a single '/' (no "
     "spaces, no backslashes)"},
    {S "JWTX_LOGIN_REDIRECT = 'https://evil.example/'",
     "t.conf:2: JWTX_LOGIN_REDIRECT: must be a local path starting with a single '/' (no "
     "spaces, no backslashes)"},
    {S "JWTX_LOGIN_REDIRECT = '/\\\\evil.example'",
     "t.conf:2: JWTX_LOGIN_REDIRECT: must be a local path starting with a single '/' (no "
     "spaces, no backslashes)"},
    /* login protection */
    {S "JWTX_AUDIT_LOG = True",
     "t.conf:2: JWTX_AUDIT_LOG: expected \"server\", \"syslog\", a file path or \"\" (off), "
     "got bool"},
    {S "JWTX_AUDIT_LOG = 'a\\nb'",
     "t.conf:2: JWTX_AUDIT_LOG: must be \"server\", \"syslog\", a file path or \"\" (off); a "
     "path without control characters"},
    {S "JWTX_TRUSTED_PROXIES = '127.0.0.1'",
     "t.conf:2: JWTX_TRUSTED_PROXIES: expected a list of IP addresses and CIDR blocks, got str"},
    {S "JWTX_TRUSTED_PROXIES = ['127.0.0.1', 5]",
     "t.conf:2: JWTX_TRUSTED_PROXIES: expected a list of IP addresses and CIDR blocks, but item "
     "2 is int"},
    {S "JWTX_TRUSTED_PROXIES = ['127.0.0.1', 'proxy.example']",
     "t.conf:2: JWTX_TRUSTED_PROXIES: item 2: \"proxy.example\" is not an IP address or CIDR "
     "block"},
    {S "JWTX_TRUSTED_PROXIES = [\n  '10.0.0.1/8',\n]",
     "t.conf:2: JWTX_TRUSTED_PROXIES: item 1: \"10.0.0.1/8\" has bits set after the prefix (did "
     "you mean 10.0.0.0/8?)"},
    {S "JWTX_TRUSTED_PROXIES = ['::/129']",
     "t.conf:2: JWTX_TRUSTED_PROXIES: item 1: \"::/129\": the prefix length must be 0 to 128"},
    {S "JWTX_LOGIN_REGULATION = 1",
     "t.conf:2: JWTX_LOGIN_REGULATION: expected True or False, got int"},
    {S "JWTX_LOGIN_FIND_TIME = 0",
     "t.conf:2: JWTX_LOGIN_FIND_TIME: must be an integer from 1 to 2592000"},
    {S "JWTX_LOGIN_BAN_TIME = 2592001",
     "t.conf:2: JWTX_LOGIN_BAN_TIME: must be an integer from 1 to 2592000"},
    {S "JWTX_LOGIN_BAN_TIME = False",
     "t.conf:2: JWTX_LOGIN_BAN_TIME: expected an integer, got bool"},
    {S "JWTX_LOGIN_MAX_FAILURES = -1",
     "t.conf:2: JWTX_LOGIN_MAX_FAILURES: must be an integer from 0 to 1000"},
    {S "JWTX_LOGIN_MAX_FAILURES_PER_ADDRESS = 1001",
     "t.conf:2: JWTX_LOGIN_MAX_FAILURES_PER_ADDRESS: must be an integer from 0 to 1000"},
    {S "JWTX_LOGIN_MAX_FAILURES_PER_USER = '100'",
     "t.conf:2: JWTX_LOGIN_MAX_FAILURES_PER_USER: expected an integer, got str"},
    {S "JWTX_REFRESH_ROTATION = True",
     "t.conf:2: JWTX_REFRESH_ROTATION: needs JWTX_BLOCKLIST (the store keeps the session "
     "families)"},
    {S "JWTX_BLOCKLIST = ''\nJWTX_REFRESH_ROTATION = True",
     "t.conf:3: JWTX_REFRESH_ROTATION: needs JWTX_BLOCKLIST (the store keeps the session "
     "families)"},
    {S "JWTX_REFRESH_ROTATION = True\nJWTX_BLOCKLIST = None",
     "t.conf:2: JWTX_REFRESH_ROTATION: needs JWTX_BLOCKLIST (the store keeps the session "
     "families)"},
    {S "JWTX_REFRESH_ROTATION = 1",
     "t.conf:2: JWTX_REFRESH_ROTATION: expected True or False, got int"},
    {S "JWTX_REFRESH_SLIDING = 'yes'",
     "t.conf:2: JWTX_REFRESH_SLIDING: expected True or False, got str"},
    {S "JWTX_REFRESH_REUSE_GRACE = -1",
     "t.conf:2: JWTX_REFRESH_REUSE_GRACE: must be an integer from 0 to 86400"},
    {S "JWTX_REFRESH_REUSE_GRACE = 86401",
     "t.conf:2: JWTX_REFRESH_REUSE_GRACE: must be an integer from 0 to 86400"},
    {S "JWTX_REFRESH_REUSE_GRACE = False",
     "t.conf:2: JWTX_REFRESH_REUSE_GRACE: expected an integer, got bool"},
    {S "JWTX_LOGIN_MAX_FAILURE = 3",
     "t.conf:2: JWTX_LOGIN_MAX_FAILURE: unknown option (did you mean JWTX_LOGIN_MAX_FAILURES?)"},
    /* names */
    {S "JWT_FOO = 1", "t.conf:2: JWT_FOO: unknown option"},
    {S "JWTX_USER_FILE = 'u'", "t.conf:2: JWTX_USER_FILE: unknown option (did you mean "
                               "JWTX_USERS_FILE?)"},
    {S "JWT_LOCATIONS = 'headers'",
     "t.conf:2: JWT_LOCATIONS: unknown option (did you mean JWT_TOKEN_LOCATION?)"},
    {S "JWT_access_token_expires = 5", "t.conf:2: JWT_access_token_expires: unknown option"},
    /* the first error in the file wins, whatever the table order */
    {S "JWT_COOKIE_SECURE = 1\nJWT_ACCESS_TOKEN_EXPIRES = 0",
     "t.conf:2: JWT_COOKIE_SECURE: expected True or False, got int"},
    {S "JWT_ACCESS_TOKEN_EXPIRES = 0\nJWT_COOKIE_SECURE = 1",
     "t.conf:2: JWT_ACCESS_TOKEN_EXPIRES: 0 would make tokens that never expire; write False "
     "for that"},
    /* syntax */
    {S "X = 'abc", "t.conf:2: unterminated string literal"},
    {S "X = 'abc\"", "t.conf:2: unterminated string literal"},
    {S "X = '\\d'", "t.conf:2: invalid escape sequence '\\d' (write '\\\\d' for a backslash)"},
    {S "X = '\\x4'", "t.conf:2: truncated \\x escape: needs 2 hex digits"},
    {S "X = '\\u12'", "t.conf:2: truncated \\u escape: needs 4 hex digits"},
    {S "X = '\\U00110000'", "t.conf:2: \\U escape out of range (above U+10FFFF)"},
    {S "X = '\\ud800'", "t.conf:2: \\u escape gives a lone surrogate, which is not valid UTF-8"},
    {S "X = '\\N{BULLET}'", "t.conf:2: \\N{...} escapes are not supported"},
    {S "X = 'a\\\nb'", "t.conf:2: a string cannot continue on the next line"},
    {S "X = b'x'", "t.conf:2: bytes literals (b\"...\") are not supported; use a str"},
    {S "X = f'x'", "t.conf:2: f-strings are not supported"},
    {S "X = '''x'''", "t.conf:2: triple-quoted strings are not supported"},
    {S "X = 010", "t.conf:2: leading zeros in decimal integer literals are not permitted"},
    {S "X = 1__0", "t.conf:2: invalid number: misplaced '_'"},
    {S "X = 10_", "t.conf:2: invalid number: misplaced '_'"},
    {S "X = 0x", "t.conf:2: invalid number literal"},
    {S "X = 12abc", "t.conf:2: invalid number literal"},
    {S "X = 1j", "t.conf:2: complex numbers are not supported"},
    {S "X = 99999999999999999999", "t.conf:2: integer out of range"},
    {S "X = -", "t.conf:2: invalid syntax: expected a number after the sign"},
    {S "X =", "t.conf:2: invalid syntax: missing value after '='"},
    {S "X = # nothing", "t.conf:2: invalid syntax: missing value after '='"},
    {S "X", "t.conf:2: invalid syntax: expected NAME = value"},
    {S "X == 1", "t.conf:2: invalid syntax: expected NAME = value"},
    {S "X : int = 1", "t.conf:2: invalid syntax: expected NAME = value"},
    {S "  X = 1", "t.conf:2: unexpected indent"},
    {S "\tX = 1", "t.conf:2: unexpected indent"},
    {S "X = 1; Y = 2", "t.conf:2: only one assignment per line is supported"},
    {S "X = 1 = 2", "t.conf:2: chained assignments are not supported"},
    {S "X = 'a', 'b'", "t.conf:2: a bare tuple needs parentheses: NAME = (\"a\", \"b\")"},
    {S "X = 'a' + 'b'", "t.conf:2: invalid syntax: unexpected text after the value"},
    {S "X = [1, [2]]", "t.conf:2: nested lists are not supported"},
    {S "X = ['a' 'b' 5]", "t.conf:2: invalid syntax: expected ',' or ']' in list"},
    {S "X = [,]", "t.conf:2: invalid syntax: unexpected character in value"},
    {S "X = {'a': 1}", "t.conf:2: dicts and sets are not supported"},
    {S "X = os.environ", "t.conf:2: 'os' is not a literal: only strings, integers, True, False, "
                         "None and lists of them are supported"},
    {S "X = true", "t.conf:2: 'true' is not a literal: only strings, integers, True, False, "
                   "None and lists of them are supported"},
    /* the quotes forgotten around a secret: the word is the secret, never shown */
    {S "JWT_SECRET_KEY = Sup3rSecret", "t.conf:2: the value is not a literal (a bare word, not "
                                       "shown: this setting holds a secret): write a string in "
                                       "quotes, NAME = \"...\""},
    {S "SECRET_KEY = [Sup3rSecret]", "t.conf:2: the value is not a literal (a bare word, not "
                                     "shown: this setting holds a secret): write a string in "
                                     "quotes, NAME = \"...\""},
    {S "JWT_PRIVATE_KEY = Sup3rSecret", "t.conf:2: the value is not a literal (a bare word, not "
                                        "shown: this setting holds a secret): write a string in "
                                        "quotes, NAME = \"...\""},
    {S "JWTX_BLOCKLIST = redis", "t.conf:2: the value is not a literal (a bare word, not "
                                 "shown: this setting holds a secret): write a string in "
                                 "quotes, NAME = \"...\""},
    {S "jwt_secret_kye = Sup3rSecret", "t.conf:2: the value is not a literal (a bare word, not "
                                       "shown: this setting holds a secret): write a string in "
                                       "quotes, NAME = \"...\""},
    {S "X = [\n 'a',\n 'b'\n", "t.conf:2: '[' was never closed"},
    {S "X = (\n", "t.conf:2: '(' was never closed"},
    {S "X = [\n 'a'\n 'b' 'c'\n 5]", "t.conf:5: invalid syntax: expected ',' or ']' in list"},
    {S "X = 1 \\\n + 2", "t.conf:2: a backslash line continuation is not supported"},
    {S "import os", "t.conf:2: invalid syntax: expected NAME = value"},
    {S "1 = X", "t.conf:2: invalid syntax: expected NAME = value"},
    {S "X = 'a\x01'\nY = '\xff'", "t.conf:3: invalid UTF-8"},
    {S "X = '\xc0\x80'", "t.conf:2: invalid UTF-8"},
    {S "X = '\xed\xa0\x80'", "t.conf:2: invalid UTF-8"},
    {S "X = '\xf4\x90\x80\x80'", "t.conf:2: invalid UTF-8"},
    {S "X = '\xe2\x82'", "t.conf:2: invalid UTF-8"},
    {S "JWT_ERROR_MESSAGE_KEY = 'a\\x00'",
     "t.conf:2: JWT_ERROR_MESSAGE_KEY: must not contain NUL characters"},
};

static void test_errors(void)
{
    for (size_t k = 0; k < sizeof error_cases / sizeof error_cases[0]; k++) {
        const error_case *ec = &error_cases[k];
        jwtx_config c;
        memset(&c, 0xA5, sizeof c);
        char msg[800] = "";
        int rc = load(ec->text, &c, msg, sizeof msg, NULL);
        CU_ASSERT_EQUAL(rc, -1);
        if (strcmp(msg, ec->expected) != 0)
            fprintf(stderr, "\n  case %zu [%s]", k, ec->text);
        JWTX_ASSERT_STR(msg, ec->expected);
        /* on failure the config is left cleared */
        CU_ASSERT_PTR_NULL(c.algorithm);
        CU_ASSERT_PTR_NULL(c.keys);
        CU_ASSERT_PTR_NULL(c.secret_key);
        if (rc == 0)
            jwtx_config_clear(&c);
    }
}

/* A NUL byte in the text is refused (Python refuses it too). */
static void test_nul_and_limits(void)
{
    jwtx_config c;
    jwtx_config_error e;
    char msg[600];
    static const char nul[] = "JWT_SECRET_KEY = 'abc'\nX = '\0'\n";
    CU_ASSERT_EQUAL(jwtx_config_load_string("t.conf", nul, sizeof nul - 1, &c, &e, NULL, NULL), -1);
    JWTX_ASSERT_STR(jwtx_config_error_format(&e, msg, sizeof msg),
                    "t.conf:2: source code cannot contain null bytes");

    /* a line of 64 KiB is read, one byte more is refused */
    size_t n = 64 * 1024;
    char *big = malloc(strlen(SECRET) + n + 8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    size_t h = strlen(SECRET);
    memcpy(big, SECRET "X = '", h + 5);
    memset(big + h + 5, 'a', n - 6);
    memcpy(big + h + n - 1, "'\n", 3); /* line 2: n bytes, then the newline */
    CU_ASSERT_EQUAL(jwtx_config_load_string("t.conf", big, h + n + 1, &c, &e, NULL, NULL), 0);
    jwtx_config_clear(&c);
    memcpy(big + h + n - 1, "a'\n", 4); /* n + 1 bytes */
    CU_ASSERT_EQUAL(jwtx_config_load_string("t.conf", big, h + n + 2, &c, &e, NULL, NULL), -1);
    JWTX_ASSERT_STR(jwtx_config_error_format(&e, msg, sizeof msg),
                    "t.conf:2: line is longer than 65536 bytes");
    free(big);

    /* the whole file is capped at 1 MiB */
    size_t fn = 1024 * 1024 + 1;
    char *file = malloc(fn);
    CU_ASSERT_PTR_NOT_NULL_FATAL(file);
    memset(file, '\n', fn);
    CU_ASSERT_EQUAL(jwtx_config_load_string("t.conf", file, fn, &c, &e, NULL, NULL), -1);
    JWTX_ASSERT_STR(jwtx_config_error_format(&e, msg, sizeof msg),
                    "t.conf: file is larger than 1048576 bytes");
    free(file);

    /* lists are capped */
    char list[1024] = SECRET "X = [";
    for (int k = 0; k < 65; k++)
        strcat(list, "'a',");
    strcat(list, "]\n");
    CU_ASSERT_EQUAL(load(list, &c, msg, sizeof msg, NULL), -1);
    JWTX_ASSERT_STR(msg, "t.conf:2: too many list items (at most 64)");

    /* a missing file */
    CU_ASSERT_EQUAL(jwtx_config_load(FIX "no-such.conf", &c, &e, NULL, NULL), -1);
    JWTX_ASSERT_STR(jwtx_config_error_format(&e, msg, sizeof msg),
                    FIX "no-such.conf: cannot open: No such file or directory");
    /* a NULL error pointer is allowed */
    CU_ASSERT_EQUAL(jwtx_config_load_string("t.conf", "X = (", 5, &c, NULL, NULL, NULL), -1);
}

/* Text placed right before a PROT_NONE page: any read past the end crashes
 * (picohttpparser's technique), for every prefix of a rich conf. */
static void test_prefixes_guard_page(void)
{
    static const char text[] =
        SECRET "JWT_TOKEN_LOCATION = [\n  'headers',  # c\n  \"cookies\",\n]\n"
               "JWT_ERROR_MESSAGE_KEY = u'\\x41\\u00e9\\U0001F600\\101' r'\\n' # x\n"
               "JWT_DECODE_LEEWAY = -0x_1F\nJWTX_IMPLICIT_REFRESH = 0b1_0\n"
               "JWT_CSRF_METHODS = ('POST',)\nJWT_ACCESS_TOKEN_EXPIRES = 1.5e3\n";
    long pg = sysconf(_SC_PAGESIZE);
    size_t n = sizeof text - 1;
    size_t span = ((n + (size_t)pg - 1) / (size_t)pg + 1) * (size_t)pg;
    char *map = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CU_ASSERT_FATAL(map != MAP_FAILED);
    char *guard = map + span - (size_t)pg;
    CU_ASSERT_EQUAL_FATAL(mprotect(guard, (size_t)pg, PROT_NONE), 0);
    int ok = 0, bad = 0;
    for (size_t len = 0; len <= n; len++) {
        char *p = guard - len;
        memcpy(p, text, len);
        jwtx_config c;
        jwtx_config_error e;
        if (jwtx_config_load_string("t.conf", p, len, &c, &e, NULL, NULL) == 0) {
            ok++;
            jwtx_config_clear(&c);
        } else {
            bad++;
            CU_ASSERT(e.message[0] != '\0');
        }
    }
    munmap(map, span);
    CU_ASSERT(ok > 0);
    CU_ASSERT(bad > 0);
}

/* ---- warnings --------------------------------------------------------- */

static void test_warnings(void)
{
    jwtx_config c;
    warnings w = {0};
    const char *text = SECRET "JWT_USER_CLAIMS = 'u'\nJWT_CSRF_HEADER_NAME = 'x'\n"
                              "JWT_BLACKLIST_ENABLED = True\nJWT_BLACKLIST_TOKEN_CHECKS = "
                              "['access']\nJWT_VERIFY_AUDIENCE = False\n"
                              "JWT_CLAIMS_IN_REFRESH_TOKEN = True\nDEBUG = True\nsecret = 1\n"
                              "JWT_DECODE_LEEWAY = 1\nJWT_DECODE_LEEWAY = 2\n"
                              "JWT_CSRF_METHODS = ['post']\n";
    CU_ASSERT_EQUAL_FATAL(load(text, &c, NULL, 0, &w), 0);
    CU_ASSERT_EQUAL(w.n, 10);
    JWTX_ASSERT_STR(
        w.text[0],
        "t.conf:2: JWT_USER_CLAIMS was removed in Flask-JWT-Extended 4.0 and is ignored");
    JWTX_ASSERT_STR(w.text[1], "t.conf:3: JWT_CSRF_HEADER_NAME was removed in "
                               "Flask-JWT-Extended 4.0 and is ignored");
    JWTX_ASSERT_STR(w.text[2], "t.conf:4: JWT_BLACKLIST_ENABLED was removed in "
                               "Flask-JWT-Extended 4.0 and is ignored");
    JWTX_ASSERT_STR(w.text[3], "t.conf:5: JWT_BLACKLIST_TOKEN_CHECKS was removed in "
                               "Flask-JWT-Extended 4.0 and is ignored");
    JWTX_ASSERT_STR(w.text[4], "t.conf:6: JWT_VERIFY_AUDIENCE was removed in "
                               "Flask-JWT-Extended 4.0 and is ignored");
    JWTX_ASSERT_STR(w.text[5], "t.conf:7: JWT_CLAIMS_IN_REFRESH_TOKEN was removed in "
                               "Flask-JWT-Extended 4.0 and is ignored");
    JWTX_ASSERT_STR(w.text[6], "t.conf:8: DEBUG is not a jwtx option; ignored");
    JWTX_ASSERT_STR(w.text[7], "t.conf:9: secret is not a jwtx option; ignored");
    JWTX_ASSERT_STR(w.text[8], "t.conf:11: JWT_DECODE_LEEWAY is assigned again (first on line "
                               "10); the last value wins");
    JWTX_ASSERT_STR(w.text[9], "t.conf:12: JWT_CSRF_METHODS: \"post\" never matches: request "
                               "methods are compared in upper case");
    CU_ASSERT_EQUAL(c.decode_leeway, 2);
    jwtx_config_clear(&c);

    /* negative durations and SameSite=None without Secure are allowed but warned */
    memset(&w, 0, sizeof w);
    CU_ASSERT_EQUAL_FATAL(load(SECRET
                               "JWT_ACCESS_TOKEN_EXPIRES = -1\nJWT_COOKIE_SAMESITE = 'none'\n",
                               &c, NULL, 0, &w),
                          0);
    CU_ASSERT_EQUAL(w.n, 2);
    JWTX_ASSERT_STR(w.text[0], "t.conf:2: JWT_ACCESS_TOKEN_EXPIRES is negative: every new token "
                               "is already expired");
    JWTX_ASSERT_STR(w.text[1], "t.conf:3: JWT_COOKIE_SAMESITE = \"None\" without "
                               "JWT_COOKIE_SECURE = True: browsers drop such cookies");
    jwtx_config_clear(&c);

    /* sliding without rotation does nothing: warned, not refused */
    memset(&w, 0, sizeof w);
    CU_ASSERT_EQUAL_FATAL(load(SECRET "JWTX_REFRESH_SLIDING = True\n", &c, NULL, 0, &w), 0);
    CU_ASSERT_EQUAL(w.n, 1);
    JWTX_ASSERT_STR(w.text[0], "t.conf:2: JWTX_REFRESH_SLIDING has no effect without "
                               "JWTX_REFRESH_ROTATION = True");
    CU_ASSERT_TRUE(c.refresh_sliding);
    CU_ASSERT_FALSE(c.refresh_rotation);
    jwtx_config_clear(&c);
    memset(&w, 0, sizeof w);
    CU_ASSERT_EQUAL_FATAL(load(SECRET "JWTX_BLOCKLIST = 'sqlite:b'\nJWTX_REFRESH_ROTATION = True\n"
                                      "JWTX_REFRESH_SLIDING = True\nJWTX_REFRESH_REUSE_GRACE = 0\n",
                               &c, NULL, 0, &w),
                          0);
    CU_ASSERT_EQUAL(w.n, 0);
    CU_ASSERT_TRUE(c.refresh_rotation);
    CU_ASSERT_TRUE(c.refresh_sliding);
    CU_ASSERT_EQUAL(c.refresh_reuse_grace, 0);
    jwtx_config_clear(&c);
}

/* ---- secrets ---------------------------------------------------------- */

static void expect_secret(const char *name, const char *text, const char *secret)
{
    jwtx_config c;
    jwtx_config_error e;
    char msg[600] = "";
    int rc = jwtx_config_load_string(name, text, strlen(text), &c, &e, NULL, NULL);
    if (rc != 0)
        fprintf(stderr, "\n  [%s]: %s\n", text, jwtx_config_error_format(&e, msg, sizeof msg));
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(c.secret_key_len, strlen(secret));
    CU_ASSERT(c.secret_key && memcmp(c.secret_key, secret, strlen(secret)) == 0);
    char *s = dumps(&c, "JWT_SECRET_KEY");
    JWTX_ASSERT_STR(s, "\"********\"");
    free(s);
    jwtx_config_clear(&c);
}

static void test_secret_fallback(void)
{
    expect_secret("t.conf", "JWT_SECRET_KEY = 'jwt-secret'\nSECRET_KEY = 'flask-secret'\n",
                  "jwt-secret");
    expect_secret("t.conf", "SECRET_KEY = 'flask-secret'\n", "flask-secret");
    expect_secret("t.conf", "JWT_SECRET_KEY = ''\nSECRET_KEY = 'flask-secret'\n", "flask-secret");
    expect_secret("t.conf", "JWT_SECRET_KEY = None\nSECRET_KEY = 'flask-secret'\n", "flask-secret");
    expect_secret("t.conf", "JWT_SECRET_KEY = False\nSECRET_KEY = 'flask-secret'\n",
                  "flask-secret");
    /* the file form, relative to the conf's directory, one newline stripped */
    expect_secret(FIX "mem.conf", "JWTX_SECRET_KEY_FILE = 'secret.txt'\n",
                  "fixture-secret-from-a-file-0123456789abcdef");
    expect_secret(FIX "mem.conf", "JWT_SECRET_KEY = ''\nJWTX_SECRET_KEY_FILE = 'secret.txt'\n",
                  "fixture-secret-from-a-file-0123456789abcdef");

    /* an asymmetric config needs no secret */
    jwtx_config c;
    char msg[600] = "";
    CU_ASSERT_EQUAL(jwtx_config_load(FIX "good-es256-inline.conf", &c, NULL, NULL, NULL), 0);
    CU_ASSERT_PTR_NULL(c.secret_key);
    CU_ASSERT_PTR_NOT_NULL(c.private_key);
    CU_ASSERT_PTR_NOT_NULL(c.public_key);
    CU_ASSERT_PTR_NOT_NULL(c.keys);
    if (c.private_key)
        CU_ASSERT_NSTRING_EQUAL(c.private_key, "-----BEGIN PRIVATE KEY-----\nMIGHAgEA", 36);
    char *s = dumps(&c, "JWT_PRIVATE_KEY");
    JWTX_ASSERT_STR(s, "\"********\"");
    free(s);
    s = dumps(&c, "JWT_PUBLIC_KEY");
    CU_ASSERT(s && strncmp(s, "\"-----BEGIN PUBLIC KEY-----\\nMFkw", 33) == 0);
    free(s);
    jwtx_config_clear(&c);

    /* an empty secret file */
    char dir[] = "/tmp/jwtx-config-test-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char path[256], conf[256];
    snprintf(path, sizeof path, "%s/empty.txt", dir);
    snprintf(conf, sizeof conf, "%s/x.conf", dir);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("\n", f);
    fclose(f);
    const char *t = "JWTX_SECRET_KEY_FILE = 'empty.txt'\n";
    jwtx_config_error e;
    CU_ASSERT_EQUAL(jwtx_config_load_string(conf, t, strlen(t), &c, &e, NULL, NULL), -1);
    char want[600];
    snprintf(want, sizeof want, "%s:1: JWTX_SECRET_KEY_FILE: %s is empty", conf, path);
    JWTX_ASSERT_STR(jwtx_config_error_format(&e, msg, sizeof msg), want);
    t = "JWTX_SECRET_KEY_FILE = 'missing.txt'\n";
    CU_ASSERT_EQUAL(jwtx_config_load_string(conf, t, strlen(t), &c, &e, NULL, NULL), -1);
    snprintf(want, sizeof want,
             "%s:1: JWTX_SECRET_KEY_FILE: cannot open %s/missing.txt: No such file or directory",
             conf, dir);
    JWTX_ASSERT_STR(jwtx_config_error_format(&e, msg, sizeof msg), want);
    unlink(path);
    rmdir(dir);
}

/* Warnings about secrets: an HMAC secret shorter than the digest of the
 * longest HS algorithm in use (RFC 7518 section 3.2), and a conf file that
 * holds a secret inline while every user can read it (the check key files
 * get). Warnings only: each conf still loads. */
static void test_secret_warnings(void)
{
    static const struct {
        const char *text;
        const char *warning; /* NULL: none */
    } rows[] = {
        {"JWT_SECRET_KEY = 'short'\n",
         "t.conf:1: JWT_SECRET_KEY: the HMAC secret is 5 bytes, shorter than the 32-byte digest "
         "of HS256 (RFC 7518 section 3.2): it is easier to guess, and whoever guesses it can "
         "forge tokens; make a strong one with: jwtx keygen HS256 --out DIR"},
        {"JWT_SECRET_KEY = '0123456789abcdef0123456789abcde'\n",
         "t.conf:1: JWT_SECRET_KEY: the HMAC secret is 31 bytes, shorter than the 32-byte digest "
         "of HS256 (RFC 7518 section 3.2): it is easier to guess, and whoever guesses it can "
         "forge tokens; make a strong one with: jwtx keygen HS256 --out DIR"},
        {"JWT_SECRET_KEY = '0123456789abcdef0123456789abcdef'\n", NULL},
        {"JWT_ALGORITHM = 'HS384'\nJWT_SECRET_KEY = '0123456789abcdef0123456789abcdef'\n",
         "t.conf:2: JWT_SECRET_KEY: the HMAC secret is 32 bytes, shorter than the 48-byte digest "
         "of HS384 (RFC 7518 section 3.2): it is easier to guess, and whoever guesses it can "
         "forge tokens; make a strong one with: jwtx keygen HS384 --out DIR"},
        {"JWT_DECODE_ALGORITHMS = ['HS256', 'HS512']\n"
         "SECRET_KEY = '0123456789abcdef0123456789abcdef0123456789abcdef'\n",
         "t.conf:2: SECRET_KEY: the HMAC secret is 48 bytes, shorter than the 64-byte digest of "
         "HS512 (RFC 7518 section 3.2): it is easier to guess, and whoever guesses it can forge "
         "tokens; make a strong one with: jwtx keygen HS512 --out DIR"},
        {"JWT_ALGORITHM = 'HS512'\nJWT_SECRET_KEY = "
         "'0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'\n",
         NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        jwtx_config c;
        warnings w = {0};
        char msg[600] = "";
        CU_ASSERT_EQUAL_FATAL(load(rows[i].text, &c, msg, sizeof msg, &w), 0);
        CU_ASSERT_EQUAL(w.n, rows[i].warning ? 1 : 0);
        if (rows[i].warning)
            JWTX_ASSERT_STR(w.text[0], rows[i].warning);
        jwtx_config_clear(&c);
    }

    /* The conf file's own mode, for a secret written in it. */
    char dir[] = "/tmp/jwtx-config-test-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char conf[256], key[256], want[700];
    snprintf(conf, sizeof conf, "%s/jwtx.conf", dir);
    snprintf(key, sizeof key, "%s/secret.key", dir);
    static const char strong[] = "0123456789abcdef0123456789abcdef0123456789abcdef";
    static const struct {
        const char *text; /* followed by the secret and "'\n" when inline */
        bool inline_secret;
        mode_t mode;
        const char *option; /* the warning's option, NULL: no warning */
        int line;
    } files[] = {
        {"JWT_SECRET_KEY = '", true, 0644, "JWT_SECRET_KEY", 1},
        {"JWT_SECRET_KEY = '", true, 0640, NULL, 0},
        {"JWT_SECRET_KEY = '", true, 0600, NULL, 0},
        {"# flask\nSECRET_KEY = '", true, 0604, "SECRET_KEY", 2},
        {"JWTX_SECRET_KEY_FILE = 'secret.key'\n", false, 0644, NULL, 0},
        /* a Redis password in the store URL, in any form the store reads */
        {"JWTX_SECRET_KEY_FILE = 'secret.key'\nJWTX_BLOCKLIST = 'redis://:pw@127.0.0.1:6379/0'\n",
         false, 0644, "JWTX_BLOCKLIST", 2},
        {"JWTX_SECRET_KEY_FILE = 'secret.key'\nJWTX_BLOCKLIST = 'unix:/r.sock?password=pw'\n",
         false, 0604, "JWTX_BLOCKLIST", 2},
        {"JWTX_SECRET_KEY_FILE = 'secret.key'\nJWTX_BLOCKLIST = 'redis://:pw@127.0.0.1:6379/0'\n",
         false, 0640, NULL, 0},
        {"JWTX_SECRET_KEY_FILE = 'secret.key'\nJWTX_BLOCKLIST = 'redis://127.0.0.1:6379/0'\n",
         false, 0644, NULL, 0},
    };
    FILE *f = fopen(key, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(strong, f);
    fclose(f);
    CU_ASSERT_EQUAL(chmod(key, 0600), 0);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        f = fopen(conf, "w");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        fputs(files[i].text, f);
        if (files[i].inline_secret)
            fprintf(f, "%s'\n", strong);
        fclose(f);
        CU_ASSERT_EQUAL(chmod(conf, files[i].mode), 0);
        jwtx_config c;
        warnings w = {0};
        jwtx_config_error e;
        CU_ASSERT_EQUAL_FATAL(jwtx_config_load(conf, &c, &e, collect, &w), 0);
        CU_ASSERT_EQUAL(w.n, files[i].option ? 1 : 0);
        if (files[i].option && !files[i].inline_secret) {
            snprintf(want, sizeof want,
                     "%s:%d: %s: %s is readable by every user of this machine and holds the "
                     "revocation store's password; make it readable by the gateway only "
                     "(chmod o-r)",
                     conf, files[i].line, files[i].option, conf);
            JWTX_ASSERT_STR(w.text[0], want);
        } else if (files[i].option) {
            snprintf(want, sizeof want,
                     "%s:%d: %s: %s is readable by every user of this machine and holds a "
                     "secret inline; make it readable by the gateway only (chmod o-r) or move "
                     "the secret to a file",
                     conf, files[i].line, files[i].option, conf);
            JWTX_ASSERT_STR(w.text[0], want);
        }
        jwtx_config_clear(&c);
    }
    /* the secret file itself readable by every user: the same check */
    CU_ASSERT_EQUAL(chmod(key, 0644), 0);
    jwtx_config c;
    warnings w = {0};
    CU_ASSERT_EQUAL_FATAL(jwtx_config_load(conf, &c, NULL, collect, &w), 0);
    CU_ASSERT_EQUAL(w.n, 1);
    snprintf(want, sizeof want,
             "%s:1: JWTX_SECRET_KEY_FILE: %s is readable by every user of this machine", conf, key);
    JWTX_ASSERT_STR(w.text[0], want);
    jwtx_config_clear(&c);
    unlink(conf);
    unlink(key);
    rmdir(dir);
}

/* ---- files and paths -------------------------------------------------- */

static void test_relative_paths(void)
{
    char *dir = realpath(FIX, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char want[PATH_MAX + 100];
    jwtx_config c;
    jwtx_config_error e;
    char msg[600] = "";
    int rc = jwtx_config_load(FIX "good-files.conf", &c, &e, NULL, NULL);
    if (rc != 0)
        fprintf(stderr, "\n  %s\n", jwtx_config_error_format(&e, msg, sizeof msg));
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    JWTX_ASSERT_STR(c.path, FIX "good-files.conf");
    snprintf(want, sizeof want, "%s/../users/mixed.htpasswd", dir);
    JWTX_ASSERT_STR(c.users_file, want);
    snprintf(want, sizeof want, "%s/../users/claims.json", dir);
    JWTX_ASSERT_STR(c.user_claims_file, want);
    snprintf(want, sizeof want, "sqlite:%s/../../../run/fixture-blocklist.sqlite", dir);
    JWTX_ASSERT_STR(c.blocklist, want);
    CU_ASSERT_EQUAL(c.decode_keys.n, 1);
    snprintf(want, sizeof want, "old=%s/../keys/rsa2048b.pub.pem", dir);
    if (c.decode_keys.n == 1)
        JWTX_ASSERT_STR(c.decode_keys.v[0], want);
    CU_ASSERT_TRUE(c.user_lookup);
    CU_ASSERT_EQUAL(c.secret_key_len, strlen("fixture-secret-from-a-file-0123456789abcdef"));
    CU_ASSERT_TRUE(jwtx_config_alg_allowed(&c, "RS256", 5));
    jwtx_config_clear(&c);

    /* absolute paths and sqlite::memory: stay as written */
    const char *t = SECRET "JWTX_USERS_FILE = '/abs/users'\nJWTX_BLOCKLIST = 'sqlite::memory:'\n";
    CU_ASSERT_EQUAL_FATAL(jwtx_config_load_string(FIX "x.conf", t, strlen(t), &c, &e, NULL, NULL),
                          0);
    JWTX_ASSERT_STR(c.users_file, "/abs/users");
    JWTX_ASSERT_STR(c.blocklist, "sqlite::memory:");
    jwtx_config_clear(&c);

    /* a conf in memory with a bare name resolves against the current directory */
    char *cwd = getcwd(NULL, 0);
    t = SECRET "JWTX_USERS_FILE = 'u.htpasswd'\n";
    CU_ASSERT_EQUAL_FATAL(load(t, &c, NULL, 0, NULL), 0);
    snprintf(want, sizeof want, "%s/u.htpasswd", cwd);
    JWTX_ASSERT_STR(c.users_file, want);
    jwtx_config_clear(&c);
    free(cwd);
    free(dir);
}

static void test_key_files(void)
{
    jwtx_config c;
    jwtx_config_error e;
    char msg[600] = "";
    int rc = jwtx_config_load(FIX "good-rsa.conf", &c, &e, NULL, NULL);
    if (rc != 0)
        fprintf(stderr, "\n  %s\n", jwtx_config_error_format(&e, msg, sizeof msg));
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT(c.private_key && strncmp(c.private_key, "-----BEGIN PRIVATE KEY-----", 27) == 0);
    CU_ASSERT(c.public_key && strncmp(c.public_key, "-----BEGIN PUBLIC KEY-----", 26) == 0);
    JWTX_ASSERT_STR(c.key_id, "rsa-2024");
    CU_ASSERT_PTR_NOT_NULL(c.keys);
    CU_ASSERT_EQUAL(c.decode_algorithms.n, 2);
    CU_ASSERT_TRUE(jwtx_config_alg_allowed(&c, "RS256", 5));
    CU_ASSERT_TRUE(jwtx_config_alg_allowed(&c, "PS256", 5));
    CU_ASSERT_FALSE(jwtx_config_alg_allowed(&c, "HS256", 5));
    CU_ASSERT_FALSE(jwtx_config_alg_allowed(&c, "RS25", 4));
    CU_ASSERT_FALSE(jwtx_config_alg_allowed(&c, "none", 4));
    jwtx_config_clear(&c);

    /* an error from key loading names the file option and its line */
    rc = jwtx_config_load(FIX "bad-rsa-small.conf", &c, &e, NULL, NULL);
    CU_ASSERT_EQUAL(rc, -1);
    JWTX_ASSERT_STR(jwtx_config_error_format(&e, msg, sizeof msg),
                    FIX "bad-rsa-small.conf:3: JWTX_PRIVATE_KEY_FILE: RSA key has 1024 bits; "
                        "algorithm \"RS256\" needs at least 2048");
}

/* Every bad fixture's first line says the message `jwtx config check` prints. */
static void test_bad_fixtures(void)
{
    static const char *const names[] = {
        "bad-alg-none",      "bad-both-keys",      "bad-duration-true",   "bad-escape",
        "bad-header-name",   "bad-location-empty", "bad-location-member", "bad-location-none",
        "bad-no-secret",     "bad-rsa-small",      "bad-samesite",        "bad-type-bool",
        "bad-unclosed-list", "bad-unknown-option", "bad-zero-duration",   NULL};
    for (const char *const *n = names; *n; n++) {
        char path[256], line[700], want[800], msg[800] = "";
        snprintf(path, sizeof path, FIX "%s.conf", *n);
        FILE *f = fopen(path, "r");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof line, f));
        fclose(f);
        line[strcspn(line, "\n")] = '\0';
        const char *p = strstr(line, "FILE");
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CU_ASSERT(strncmp(line, "# expect: jwtx: ", 16) == 0);
        snprintf(want, sizeof want, "%s%s", path, p + 4);
        jwtx_config c;
        jwtx_config_error e;
        CU_ASSERT_EQUAL(jwtx_config_load(path, &c, &e, NULL, NULL), -1);
        JWTX_ASSERT_STR(jwtx_config_error_format(&e, msg, sizeof msg), want);
    }
}

static void test_good_fixtures(void)
{
    static const char *const names[] = {
        "good-minimal",    "good-files",          "good-rsa", "good-es256-inline",
        "good-everything", "good-python-corners", NULL};
    for (const char *const *n = names; *n; n++) {
        char path[256], msg[800] = "";
        snprintf(path, sizeof path, FIX "%s.conf", *n);
        jwtx_config c;
        jwtx_config_error e;
        int rc = jwtx_config_load(path, &c, &e, NULL, NULL);
        if (rc != 0)
            fprintf(stderr, "\n  %s\n", jwtx_config_error_format(&e, msg, sizeof msg));
        CU_ASSERT_EQUAL(rc, 0);
        if (rc == 0)
            jwtx_config_clear(&c);
    }
    /* the corners file, value by value (python3 reads the same, see
     * tests/suites/15-conf-python.sh) */
    jwtx_config c;
    warnings w = {0};
    CU_ASSERT_EQUAL_FATAL(jwtx_config_load(FIX "good-python-corners.conf", &c, NULL, collect, &w),
                          0);
    /* its inline SECRET_KEY is warned about when the checkout left the file
     * readable by every user */
    struct stat fst;
    CU_ASSERT_EQUAL_FATAL(stat(FIX "good-python-corners.conf", &fst), 0);
    CU_ASSERT_EQUAL(w.n, 3 + ((fst.st_mode & 0004) ? 1 : 0));
    CU_ASSERT_EQUAL(c.secret_key_len, 40);
    CU_ASSERT(c.secret_key &&
              strcmp(c.secret_key, "flask-secret-used-as-fallback-0123456789") == 0);
    CU_ASSERT_EQUAL(c.access_expires.seconds, 900);
    CU_ASSERT_EQUAL(c.refresh_expires.seconds, 2592000);
    CU_ASSERT_EQUAL(c.decode_leeway, 15);
    CU_ASSERT_EQUAL(c.implicit_refresh, 2);
    JWTX_ASSERT_STR(c.error_message_key, "msg");
    JWTX_ASSERT_STR(c.identity_claim, "sub");
    CU_ASSERT_EQUAL(c.n_token_location, 1);
    CU_ASSERT_EQUAL(c.token_location[0], JWTX_LOC_COOKIES);
    CU_ASSERT_EQUAL(c.csrf_methods.n, 1);
    JWTX_ASSERT_STR(c.query_string_value_prefix, "prefix\t#not a comment\\");
    CU_ASSERT_EQUAL(c.decode_audience.n, 1);
    if (c.decode_audience.n == 1)
        JWTX_ASSERT_STR(c.decode_audience.v[0], "caf\xc3\xa9 \xf0\x9f\x98\x80 \\N");
    CU_ASSERT_EQUAL(c.decode_issuer.n, 2);
    JWTX_ASSERT_STR(c.encode_issuer, "C:\\new\\path");
    CU_ASSERT_EQUAL(c.cookie_samesite, JWTX_SAMESITE_NONE);
    JWTX_ASSERT_STR(c.header_type, "");
    CU_ASSERT_PTR_NULL(c.cookie_domain);
    JWTX_ASSERT_STR(c.access_cookie_path, "/b");
    jwtx_config_clear(&c);
}

/* ---- small functions -------------------------------------------------- */

static void test_locations(void)
{
    static const struct {
        const char *s;
        jwtx_location loc;
    } t[] = {{"headers", JWTX_LOC_HEADERS},
             {"cookies", JWTX_LOC_COOKIES},
             {"query_string", JWTX_LOC_QUERY_STRING},
             {"json", JWTX_LOC_JSON}};
    for (size_t k = 0; k < 4; k++) {
        CU_ASSERT_EQUAL(jwtx_location_parse(t[k].s, strlen(t[k].s)), t[k].loc);
        JWTX_ASSERT_STR(jwtx_location_name(t[k].loc), t[k].s);
    }
    CU_ASSERT_EQUAL(jwtx_location_parse("Headers", 7), JWTX_LOC_NONE);
    CU_ASSERT_EQUAL(jwtx_location_parse("header", 6), JWTX_LOC_NONE);
    CU_ASSERT_EQUAL(jwtx_location_parse("headers", 6), JWTX_LOC_NONE);
    CU_ASSERT_EQUAL(jwtx_location_parse("jsonx", 5), JWTX_LOC_NONE);
    CU_ASSERT_EQUAL(jwtx_location_parse("", 0), JWTX_LOC_NONE);
    CU_ASSERT_EQUAL(jwtx_location_parse(NULL, 0), JWTX_LOC_NONE);
    CU_ASSERT_PTR_NULL(jwtx_location_name(JWTX_LOC_NONE));
    CU_ASSERT_PTR_NULL(jwtx_location_name((jwtx_location)99));
}

static void test_error_format(void)
{
    jwtx_config_error e;
    char buf[600];
    memset(&e, 0, sizeof e);
    strcpy(e.file, "a.conf");
    e.line = 7;
    strcpy(e.option, "JWT_X");
    strcpy(e.message, "bad");
    JWTX_ASSERT_STR(jwtx_config_error_format(&e, buf, sizeof buf), "a.conf:7: JWT_X: bad");
    e.line = 0;
    JWTX_ASSERT_STR(jwtx_config_error_format(&e, buf, sizeof buf), "a.conf: JWT_X: bad");
    e.option[0] = '\0';
    JWTX_ASSERT_STR(jwtx_config_error_format(&e, buf, sizeof buf), "a.conf: bad");
    e.line = 3;
    JWTX_ASSERT_STR(jwtx_config_error_format(&e, buf, sizeof buf), "a.conf:3: bad");
    char small[8];
    JWTX_ASSERT_STR(jwtx_config_error_format(&e, small, sizeof small), "a.conf:");
}

static void test_alg_allowed(void)
{
    jwtx_config c;
    CU_ASSERT_EQUAL_FATAL(load(SECRET "JWT_ALGORITHM = 'HS384'\n"
                                      "JWT_DECODE_ALGORITHMS = ['HS512']\n",
                               &c, NULL, 0, NULL),
                          0);
    CU_ASSERT_EQUAL(c.decode_algorithms.n, 2);
    CU_ASSERT_TRUE(jwtx_config_alg_allowed(&c, "HS512", 5));
    CU_ASSERT_TRUE(jwtx_config_alg_allowed(&c, "HS384", 5));
    CU_ASSERT_FALSE(jwtx_config_alg_allowed(&c, "HS256", 5));
    CU_ASSERT_FALSE(jwtx_config_alg_allowed(&c, "hs512", 5));
    CU_ASSERT_FALSE(jwtx_config_alg_allowed(&c, "HS5120", 6));
    CU_ASSERT_FALSE(jwtx_config_alg_allowed(&c, "none", 4));
    CU_ASSERT_FALSE(jwtx_config_alg_allowed(&c, NULL, 0));
    CU_ASSERT_FALSE(jwtx_config_alg_allowed(NULL, "HS512", 5));
    jwtx_config_clear(&c);
}

static const jwtx_cu_test tests[] = {
    {"init sets every default (spec section 1)", test_init_defaults},
    {"load with only a secret keeps every default", test_load_defaults},
    {"to_json of the defaults, in table order", test_to_json_defaults},
    {"every value form and option", test_values},
    {"durations, locations, samesite and NUL secrets in the struct", test_struct_values},
    {"every error with its exact FILE:LINE: OPTION text", test_errors},
    {"NUL bytes, line, file and list caps", test_nul_and_limits},
    {"every prefix before a guard page", test_prefixes_guard_page},
    {"warnings: removed options, other names, duplicates", test_warnings},
    {"SECRET_KEY fallback and secret files", test_secret_fallback},
    {"warnings: short HMAC secret, inline secret in a conf others can read", test_secret_warnings},
    {"relative paths resolve against the conf directory", test_relative_paths},
    {"PEM key files and their errors", test_key_files},
    {"bad fixtures give the message they name", test_bad_fixtures},
    {"good fixtures load; python corners read right", test_good_fixtures},
    {"location names", test_locations},
    {"error formatting", test_error_format},
    {"decode allow-list", test_alg_allowed},
    {NULL, NULL},
};

JWTX_CU_MAIN("config", tests)
