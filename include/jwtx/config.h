/*
 * config.h — the conf file and every option with its default.
 *
 * The conf file is valid Flask config (a subset of Python that
 * app.config.from_pyfile reads): one `NAME = value` per line, `#` comments,
 * values "str" / 'str', integers, True, False, None and lists of strings.
 * Every JWT_* option of Flask-JWT-Extended 4.7.1 keeps its name, meaning and
 * default (spec section 1); gateway options start with JWTX_. Unlike the
 * reference, everything is validated once, at load time: an unknown JWT_* or
 * JWTX_* name, a bad value or a missing key is an error naming file, line and
 * option (spec/README.md point 1). Keys are parsed here too, once.
 */
#ifndef JWTX_CONFIG_H
#define JWTX_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "jwtx/errors.h"

/* A duration option: integer seconds, or False for "never" (no exp claim). */
typedef struct jwtx_duration {
    bool never;
    long long seconds;
} jwtx_duration;

/* An owned list of strings. */
typedef struct jwtx_strlist {
    size_t n;
    char **v;
} jwtx_strlist;

/* Token locations, in the spelling of JWT_TOKEN_LOCATION. */
typedef enum jwtx_location {
    JWTX_LOC_NONE = 0,
    JWTX_LOC_HEADERS,
    JWTX_LOC_COOKIES,
    JWTX_LOC_QUERY_STRING,
    JWTX_LOC_JSON
} jwtx_location;
#define JWTX_MAX_LOCATIONS 8

typedef enum jwtx_samesite {
    JWTX_SAMESITE_UNSET = 0,
    JWTX_SAMESITE_STRICT,
    JWTX_SAMESITE_LAX,
    JWTX_SAMESITE_NONE
} jwtx_samesite;

struct jwtx_keyset; /* keys.h */
struct jwtx_netblock; /* client.h */

typedef struct jwtx_config {
    char *path; /* the file it was read from ("" when built in memory) */

    /* 1.1 general / token */
    jwtx_duration access_expires;  /* JWT_ACCESS_TOKEN_EXPIRES, 900 */
    jwtx_duration refresh_expires; /* JWT_REFRESH_TOKEN_EXPIRES, 2592000 */
    char *algorithm;               /* JWT_ALGORITHM, "HS256" */
    jwtx_strlist decode_algorithms; /* JWT_DECODE_ALGORITHMS ∪ {JWT_ALGORITHM}, resolved */
    char *secret_key;              /* JWT_SECRET_KEY, else SECRET_KEY, else JWTX_SECRET_KEY_FILE */
    size_t secret_key_len;
    char *private_key;             /* JWT_PRIVATE_KEY (PEM) or JWTX_PRIVATE_KEY_FILE contents */
    char *public_key;              /* JWT_PUBLIC_KEY (PEM) or JWTX_PUBLIC_KEY_FILE contents */
    bool decode_audience_set;      /* JWT_DECODE_AUDIENCE is not None */
    jwtx_strlist decode_audience;
    json_t *encode_audience;       /* JWT_ENCODE_AUDIENCE: NULL, a string or an array, as given */
    bool decode_issuer_set;        /* JWT_DECODE_ISSUER is not None */
    jwtx_strlist decode_issuer;
    char *encode_issuer;           /* JWT_ENCODE_ISSUER, NULL */
    long long decode_leeway;       /* JWT_DECODE_LEEWAY, 0 (seconds) */
    bool encode_nbf;               /* JWT_ENCODE_NBF, True */
    bool verify_sub;               /* JWT_VERIFY_SUB, True */
    char *identity_claim;          /* JWT_IDENTITY_CLAIM, "sub" */
    char *error_message_key;       /* JWT_ERROR_MESSAGE_KEY, "msg" */
    jwtx_location token_location[JWTX_MAX_LOCATIONS]; /* JWT_TOKEN_LOCATION, ("headers",) */
    size_t n_token_location;

    /* 1.2 headers */
    char *header_name; /* JWT_HEADER_NAME, "Authorization" */
    char *header_type; /* JWT_HEADER_TYPE, "Bearer"; "" (or None) = token only */

    /* 1.3 cookies */
    char *access_cookie_name;  /* "access_token_cookie" */
    char *access_cookie_path;  /* "/" */
    char *refresh_cookie_name; /* "refresh_token_cookie" */
    char *refresh_cookie_path; /* "/" */
    bool cookie_secure;        /* False */
    char *cookie_domain;       /* None */
    jwtx_samesite cookie_samesite; /* None */
    bool session_cookie;       /* True */
    bool cookie_csrf_protect;  /* True */

    /* 1.4 CSRF */
    jwtx_strlist csrf_methods; /* ["POST", "PUT", "PATCH", "DELETE"] */
    bool csrf_in_cookies;      /* True */
    bool csrf_check_form;      /* False */
    char *access_csrf_header_name;  /* "X-CSRF-TOKEN" */
    char *refresh_csrf_header_name; /* "X-CSRF-TOKEN" */
    char *access_csrf_field_name;   /* "csrf_token" */
    char *refresh_csrf_field_name;  /* "csrf_token" */
    char *access_csrf_cookie_name;  /* "csrf_access_token" */
    char *refresh_csrf_cookie_name; /* "csrf_refresh_token" */
    char *access_csrf_cookie_path;  /* "/" */
    char *refresh_csrf_cookie_path; /* "/" */

    /* 1.5 query string and JSON */
    char *query_string_name;         /* "jwt" */
    char *query_string_value_prefix; /* "" */
    char *json_key;                  /* "access_token" */
    char *refresh_json_key;          /* "refresh_token" */

    /* JWTX_* gateway options */
    char *key_id;            /* JWTX_KEY_ID: kid of the signing key; NULL = RFC 7638 thumbprint */
    jwtx_strlist decode_keys; /* JWTX_DECODE_KEYS: ["kid=path.pem", ...] extra verification keys */
    char *users_file;        /* JWTX_USERS_FILE: htpasswd file, NULL = no login */
    char *user_claims_file;  /* JWTX_USER_CLAIMS_FILE: JSON {user: {claims}} */
    bool user_lookup;        /* JWTX_USER_LOOKUP, False */
    char *blocklist;         /* JWTX_BLOCKLIST: "sqlite:PATH", "redis://...", "" (none) */
    char *blocklist_prefix;  /* JWTX_BLOCKLIST_PREFIX, "jwtx:" */
    long long blocklist_timeout_ms; /* JWTX_BLOCKLIST_TIMEOUT_MS, 250 */
    long long blocklist_retry_ms;   /* JWTX_BLOCKLIST_RETRY_MS, 1000 (0 = off) */
    long long max_body;      /* JWTX_MAX_BODY, 65536 */
    long long implicit_refresh; /* JWTX_IMPLICIT_REFRESH: seconds, 0 = off */
    long long bcrypt_cost;   /* JWTX_BCRYPT_COST, 10 (jwtx passwd) */
    char *login_redirect;    /* JWTX_LOGIN_REDIRECT: default `next` for form logins, NULL */

    /* Login protection (docs/login-protection.md) */
    char *audit_log; /* JWTX_AUDIT_LOG: "server" (default), "syslog", a file path, "" = off */
    struct jwtx_netblock *trusted_proxies; /* JWTX_TRUSTED_PROXIES, parsed (client.h) */
    size_t n_trusted_proxies;
    bool login_regulation;                    /* JWTX_LOGIN_REGULATION, True */
    long long login_find_time;                /* JWTX_LOGIN_FIND_TIME, 600 (seconds) */
    long long login_ban_time;                 /* JWTX_LOGIN_BAN_TIME, 900 (seconds) */
    long long login_max_failures;             /* JWTX_LOGIN_MAX_FAILURES, 5 (user+address) */
    long long login_max_failures_per_address; /* ..._PER_ADDRESS, 20 */
    long long login_max_failures_per_user;    /* ..._PER_USER, 100; 0 = a limit off */

    /* Sessions: refresh-token rotation (docs/sessions.md) */
    bool refresh_rotation;         /* JWTX_REFRESH_ROTATION, False; needs JWTX_BLOCKLIST */
    bool refresh_sliding;          /* JWTX_REFRESH_SLIDING, False: a rotation keeps the expiry */
    long long refresh_reuse_grace; /* JWTX_REFRESH_REUSE_GRACE, 10 (seconds, 0..86400) */

    /* Keys, parsed once from the options above (keys.h). Owned. */
    struct jwtx_keyset *keys;
} jwtx_config;

/* One problem found while loading: file, line (0 = whole file), option. */
typedef struct jwtx_config_error {
    char file[256];
    int line;
    char option[64];
    char message[512];
} jwtx_config_error;

/* Formats "FILE:LINE: OPTION: MESSAGE" into buf. Returns buf. */
const char *jwtx_config_error_format(const jwtx_config_error *e, char *buf, size_t size);

/* Sets every option to its default (no keys loaded). Caller-owned struct;
 * release with jwtx_config_clear. Returns 0, -1 on allocation failure. */
int jwtx_config_init(jwtx_config *cfg);

/* Frees everything the config owns (wiping secrets); leaves it zeroed. */
void jwtx_config_clear(jwtx_config *cfg);

/* Reads, validates and resolves the conf file at path, then loads its keys.
 * On success returns 0 and fills *cfg (call jwtx_config_clear later). On
 * failure returns -1, fills *err (the first problem) and leaves cfg cleared.
 * Warnings (unknown non-JWT names, weak settings) go to warn(line, msg, ctx)
 * when warn is non-NULL. */
int jwtx_config_load(const char *path, jwtx_config *cfg, jwtx_config_error *err,
                     void (*warn)(const char *file, int line, const char *msg, void *ctx),
                     void *ctx);

/* The same for conf text in memory (name is used in messages). */
int jwtx_config_load_string(const char *name, const char *text, size_t len, jwtx_config *cfg,
                            jwtx_config_error *err,
                            void (*warn)(const char *file, int line, const char *msg, void *ctx),
                            void *ctx);

/* Effective config as a JSON object of every option (secrets masked as
 * "********"), for `jwtx config check`. New reference. */
json_t *jwtx_config_to_json(const jwtx_config *cfg);

/* Name of a location ("headers", "cookies", "query_string", "json"); parse
 * returns JWTX_LOC_NONE for anything else (case-sensitive). */
const char *jwtx_location_name(jwtx_location loc);
jwtx_location jwtx_location_parse(const char *s, size_t len);

/* True when the decode allow-list holds alg (exact, case-sensitive). */
bool jwtx_config_alg_allowed(const jwtx_config *cfg, const char *alg, size_t len);

#endif
