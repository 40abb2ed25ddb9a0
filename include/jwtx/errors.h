/*
 * errors.h — the one table of outcomes.
 *
 * Every way a jwtx check can end is one numbered outcome with its HTTP status,
 * its family and the exact default message Flask-JWT-Extended 4.7.1 answers
 * with (spec section 4). Numbers are never reused or renumbered. Messages that
 * carry run-time detail ("Missing claim: sub", "Missing cookie \"x\"") are
 * formatted into a caller-owned jwtx_error; jwtx_err_message() returns the
 * fixed text, which never is NULL.
 */
#ifndef JWTX_ERRORS_H
#define JWTX_ERRORS_H

#include <stddef.h>

typedef enum jwtx_err {
    JWTX_OK = 0,

    /* NoAuthorizationError (401): "no token here"; optional routes go anonymous. */
    JWTX_ERR_MISSING_HEADER = 1,      /* Missing <H> Header */
    JWTX_ERR_MISSING_HEADER_TYPE = 2, /* Missing '<T>' type in '<H>' header. Expected ... */
    JWTX_ERR_MISSING_COOKIE = 3,      /* Missing cookie "<name>" */
    JWTX_ERR_MISSING_QUERY = 4,       /* Missing '<name>' query paramater (sic) */
    JWTX_ERR_JSON_CONTENT_TYPE = 5,   /* Invalid content-type. Must be application/json. */
    JWTX_ERR_MISSING_JSON_KEY = 6,    /* Missing "<key>" key in json data. */
    JWTX_ERR_MISSING_JWT = 7,         /* Missing JWT in a, b or c (m1; m2; m3) */

    /* CSRFError (401) */
    JWTX_ERR_CSRF_MISSING = 8,
    JWTX_ERR_CSRF_MISMATCH = 9,

    /* other 401 answers */
    JWTX_ERR_EXPIRED = 10,
    JWTX_ERR_FRESH_REQUIRED = 11,
    JWTX_ERR_REVOKED = 12,
    JWTX_ERR_USER_LOOKUP = 13, /* Error loading the user <identity> */

    /* 400 */
    JWTX_ERR_CLAIMS_VERIFICATION = 14,

    /* 422: invalid token or header */
    JWTX_ERR_BAD_HEADER = 15,       /* Bad <H> header. Expected '<H>: [<T> ]<JWT>' */
    JWTX_ERR_BAD_QUERY_PREFIX = 16, /* Invalid value for query parameter ... */
    JWTX_ERR_NOT_ENOUGH_SEGMENTS = 17,
    JWTX_ERR_HEADER_PADDING = 18,
    JWTX_ERR_HEADER_STRING = 19, /* Invalid header string: <reason> */
    JWTX_ERR_PAYLOAD_PADDING = 20,
    JWTX_ERR_PAYLOAD_STRING = 21, /* Invalid payload string: <reason> */
    JWTX_ERR_CRYPTO_PADDING = 22,
    JWTX_ERR_SIGNATURE = 23,
    JWTX_ERR_ALG_NOT_SPECIFIED = 24,
    JWTX_ERR_ALG_NOT_ALLOWED = 25,
    JWTX_ERR_ALG_NOT_SUPPORTED = 26,
    JWTX_ERR_KID_NOT_STRING = 27,
    JWTX_ERR_CRIT_NOT_LIST = 28,
    JWTX_ERR_CRIT_NOT_STRINGS = 29,
    JWTX_ERR_CRIT_UNSUPPORTED = 30, /* Unsupported critical extension: <x> */
    JWTX_ERR_CRIT_MISSING = 31,     /* Critical extension '<x>' is missing from headers */
    JWTX_ERR_B64_FALSE = 32,
    JWTX_ERR_TOKEN_TYPE = 33,
    JWTX_ERR_IAT_NOT_INT = 34,
    JWTX_ERR_IAT_FUTURE = 35,
    JWTX_ERR_NBF_NOT_INT = 36,
    JWTX_ERR_NBF_FUTURE = 37,
    JWTX_ERR_EXP_NOT_INT = 38,
    JWTX_ERR_ISS_MISSING = 39,
    JWTX_ERR_ISS_NOT_STRING = 40,
    JWTX_ERR_ISS_INVALID = 41,
    JWTX_ERR_AUD_MISSING = 42,
    JWTX_ERR_AUD_FORMAT = 43,
    JWTX_ERR_AUD_MISMATCH = 44,
    JWTX_ERR_SUB_NOT_STRING = 45,
    JWTX_ERR_JTI_NOT_STRING = 46,
    JWTX_ERR_MISSING_CLAIM = 47, /* Missing claim: <name> */
    JWTX_ERR_ONLY_NON_REFRESH = 48,
    JWTX_ERR_ONLY_REFRESH = 49,

    /* gateway outcomes (no Flask-JWT-Extended counterpart) */
    JWTX_ERR_BODY_TOO_LARGE = 50,     /* 413 */
    JWTX_ERR_STORE_UNAVAILABLE = 51,  /* 503 */
    JWTX_ERR_BAD_CREDENTIALS = 52,    /* 401 */
    JWTX_ERR_MISSING_CREDENTIALS = 53, /* 400 */
    JWTX_ERR_INTERNAL = 54,           /* 500 */
    JWTX_ERR_METHOD_NOT_ALLOWED = 55, /* 405 */
    JWTX_ERR_NOT_FOUND = 56,          /* 404 */
    JWTX_ERR_CONFIG = 57,             /* a configuration error (start-up only) */
    JWTX_ERR_IO = 58,                 /* a file could not be read or written */
    JWTX_ERR_KEY = 59,                /* a key is unusable or does not fit the algorithm */
    JWTX_ERR_BAD_REQUEST = 60,        /* 400, malformed request (e.g. bad percent-encoding) */

    /* 422, a deliberate difference (spec/README.md): the identity claim is a
     * string holding U+0000, which no C string, CGI variable or FastCGI
     * param can carry; cut short it would name another user. */
    JWTX_ERR_IDENTITY_NUL = 61,

    /* login protection (docs/login-protection.md) */
    JWTX_ERR_TOO_MANY_ATTEMPTS = 62,      /* 429: a key of the login is banned */
    JWTX_ERR_LOGIN_STORE_UNAVAILABLE = 63, /* 503: the attempt counts cannot be read */

    JWTX_ERR__COUNT
} jwtx_err;

/* Families mirror the Flask-JWT-Extended exception classes. */
typedef enum jwtx_err_family {
    JWTX_FAMILY_NONE = 0,
    JWTX_FAMILY_NO_AUTH,  /* NoAuthorizationError: optional routes become anonymous */
    JWTX_FAMILY_CSRF,     /* CSRFError */
    JWTX_FAMILY_EXPIRED,  /* ExpiredSignatureError */
    JWTX_FAMILY_FRESH,    /* FreshTokenRequired */
    JWTX_FAMILY_REVOKED,  /* RevokedTokenError */
    JWTX_FAMILY_LOOKUP,   /* UserLookupError */
    JWTX_FAMILY_CLAIMS,   /* UserClaimsVerificationError */
    JWTX_FAMILY_INVALID,  /* invalid_token_loader: every 422 */
    JWTX_FAMILY_GATEWAY   /* jwtx's own answers */
} jwtx_err_family;

/* Caller-owned detail of one failure. The first error set wins only if the
 * caller checks; jwtx_error_set overwrites. */
#define JWTX_ERROR_TEXT_MAX 1024
typedef struct jwtx_error {
    jwtx_err code;
    char text[JWTX_ERROR_TEXT_MAX]; /* full message; "" means the default message */
} jwtx_error;

/* The fixed default message of an outcome; never NULL ("Unknown error" for a
 * number outside the table). For outcomes with detail, the text without it. */
const char *jwtx_err_message(jwtx_err code);

/* HTTP status of an outcome (200 for JWTX_OK, 500 outside the table). */
int jwtx_err_status(jwtx_err code);

/* Werkzeug reason phrase of an HTTP status ("UNAUTHORIZED"); never NULL. */
const char *jwtx_http_reason(int status);

jwtx_err_family jwtx_err_family_of(jwtx_err code);

/* Symbolic name ("JWTX_ERR_EXPIRED"), for logs and tests; never NULL. */
const char *jwtx_err_name(jwtx_err code);

/* Resets err (may be NULL) to JWTX_OK with empty text. */
void jwtx_error_clear(jwtx_error *err);

/* Sets err->code and formats err->text (printf-style, truncated to fit).
 * fmt NULL copies the default message. err may be NULL. Returns -1 always, so
 * a failing function can `return jwtx_error_set(err, ...)`. */
int jwtx_error_set(jwtx_error *err, jwtx_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The message to answer with: err->text when set, else the default. */
const char *jwtx_error_message(const jwtx_error *err);

#endif
