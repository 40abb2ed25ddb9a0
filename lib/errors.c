/*
 * errors.c — the outcome table: status, family and exact default message of
 * every outcome (spec section 4), plus the caller-owned detail struct.
 */
#include "jwtx/errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct outcome {
    const char *name;
    int status;
    jwtx_err_family family;
    const char *message;
};

#define O(code, status, fam, msg) [code] = {#code, status, fam, msg}

static const struct outcome table[JWTX_ERR__COUNT] = {
    O(JWTX_OK, 200, JWTX_FAMILY_NONE, "OK"),
    O(JWTX_ERR_MISSING_HEADER, 401, JWTX_FAMILY_NO_AUTH, "Missing Authorization Header"),
    O(JWTX_ERR_MISSING_HEADER_TYPE, 401, JWTX_FAMILY_NO_AUTH,
      "Missing 'Bearer' type in 'Authorization' header. Expected 'Authorization: Bearer <JWT>'"),
    O(JWTX_ERR_MISSING_COOKIE, 401, JWTX_FAMILY_NO_AUTH, "Missing cookie \"access_token_cookie\""),
    O(JWTX_ERR_MISSING_QUERY, 401, JWTX_FAMILY_NO_AUTH, "Missing 'jwt' query paramater"),
    O(JWTX_ERR_JSON_CONTENT_TYPE, 401, JWTX_FAMILY_NO_AUTH,
      "Invalid content-type. Must be application/json."),
    O(JWTX_ERR_MISSING_JSON_KEY, 401, JWTX_FAMILY_NO_AUTH,
      "Missing \"access_token\" key in json data."),
    O(JWTX_ERR_MISSING_JWT, 401, JWTX_FAMILY_NO_AUTH, "Missing JWT"),
    O(JWTX_ERR_CSRF_MISSING, 401, JWTX_FAMILY_CSRF, "Missing CSRF token"),
    O(JWTX_ERR_CSRF_MISMATCH, 401, JWTX_FAMILY_CSRF, "CSRF double submit tokens do not match"),
    O(JWTX_ERR_EXPIRED, 401, JWTX_FAMILY_EXPIRED, "Token has expired"),
    O(JWTX_ERR_FRESH_REQUIRED, 401, JWTX_FAMILY_FRESH, "Fresh token required"),
    O(JWTX_ERR_REVOKED, 401, JWTX_FAMILY_REVOKED, "Token has been revoked"),
    O(JWTX_ERR_USER_LOOKUP, 401, JWTX_FAMILY_LOOKUP, "Error loading the user"),
    O(JWTX_ERR_CLAIMS_VERIFICATION, 400, JWTX_FAMILY_CLAIMS, "User claims verification failed"),
    O(JWTX_ERR_BAD_HEADER, 422, JWTX_FAMILY_INVALID,
      "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'"),
    O(JWTX_ERR_BAD_QUERY_PREFIX, 422, JWTX_FAMILY_INVALID, "Invalid value for query parameter"),
    O(JWTX_ERR_NOT_ENOUGH_SEGMENTS, 422, JWTX_FAMILY_INVALID, "Not enough segments"),
    O(JWTX_ERR_HEADER_PADDING, 422, JWTX_FAMILY_INVALID, "Invalid header padding"),
    O(JWTX_ERR_HEADER_STRING, 422, JWTX_FAMILY_INVALID, "Invalid header string"),
    O(JWTX_ERR_PAYLOAD_PADDING, 422, JWTX_FAMILY_INVALID, "Invalid payload padding"),
    O(JWTX_ERR_PAYLOAD_STRING, 422, JWTX_FAMILY_INVALID, "Invalid payload string"),
    O(JWTX_ERR_CRYPTO_PADDING, 422, JWTX_FAMILY_INVALID, "Invalid crypto padding"),
    O(JWTX_ERR_SIGNATURE, 422, JWTX_FAMILY_INVALID, "Signature verification failed"),
    O(JWTX_ERR_ALG_NOT_SPECIFIED, 422, JWTX_FAMILY_INVALID, "Algorithm not specified"),
    O(JWTX_ERR_ALG_NOT_ALLOWED, 422, JWTX_FAMILY_INVALID, "The specified alg value is not allowed"),
    O(JWTX_ERR_ALG_NOT_SUPPORTED, 422, JWTX_FAMILY_INVALID, "Algorithm not supported"),
    O(JWTX_ERR_KID_NOT_STRING, 422, JWTX_FAMILY_INVALID, "Key ID header parameter must be a string"),
    O(JWTX_ERR_CRIT_NOT_LIST, 422, JWTX_FAMILY_INVALID,
      "Invalid 'crit' header: must be a non-empty list"),
    O(JWTX_ERR_CRIT_NOT_STRINGS, 422, JWTX_FAMILY_INVALID,
      "Invalid 'crit' header: values must be strings"),
    O(JWTX_ERR_CRIT_UNSUPPORTED, 422, JWTX_FAMILY_INVALID, "Unsupported critical extension"),
    O(JWTX_ERR_CRIT_MISSING, 422, JWTX_FAMILY_INVALID, "Critical extension is missing from headers"),
    O(JWTX_ERR_B64_FALSE, 422, JWTX_FAMILY_INVALID,
      "It is required that you pass in a value for the \"detached_payload\" argument to decode a "
      "message having the b64 header set to false."),
    O(JWTX_ERR_TOKEN_TYPE, 422, JWTX_FAMILY_INVALID,
      "Invalid token type. Token must be a <class 'bytes'>"),
    O(JWTX_ERR_IAT_NOT_INT, 422, JWTX_FAMILY_INVALID, "Issued At claim (iat) must be an integer."),
    O(JWTX_ERR_IAT_FUTURE, 422, JWTX_FAMILY_INVALID, "The token is not yet valid (iat)"),
    O(JWTX_ERR_NBF_NOT_INT, 422, JWTX_FAMILY_INVALID, "Not Before claim (nbf) must be an integer."),
    O(JWTX_ERR_NBF_FUTURE, 422, JWTX_FAMILY_INVALID, "The token is not yet valid (nbf)"),
    O(JWTX_ERR_EXP_NOT_INT, 422, JWTX_FAMILY_INVALID,
      "Expiration Time claim (exp) must be an integer."),
    O(JWTX_ERR_ISS_MISSING, 422, JWTX_FAMILY_INVALID, "Token is missing the \"iss\" claim"),
    O(JWTX_ERR_ISS_NOT_STRING, 422, JWTX_FAMILY_INVALID, "Payload Issuer (iss) must be a string"),
    O(JWTX_ERR_ISS_INVALID, 422, JWTX_FAMILY_INVALID, "Invalid issuer"),
    O(JWTX_ERR_AUD_MISSING, 422, JWTX_FAMILY_INVALID, "Token is missing the \"aud\" claim"),
    O(JWTX_ERR_AUD_FORMAT, 422, JWTX_FAMILY_INVALID, "Invalid claim format in token"),
    O(JWTX_ERR_AUD_MISMATCH, 422, JWTX_FAMILY_INVALID, "Audience doesn't match"),
    O(JWTX_ERR_SUB_NOT_STRING, 422, JWTX_FAMILY_INVALID, "Subject must be a string"),
    O(JWTX_ERR_JTI_NOT_STRING, 422, JWTX_FAMILY_INVALID, "JWT ID must be a string"),
    O(JWTX_ERR_MISSING_CLAIM, 422, JWTX_FAMILY_INVALID, "Missing claim"),
    O(JWTX_ERR_ONLY_NON_REFRESH, 422, JWTX_FAMILY_INVALID, "Only non-refresh tokens are allowed"),
    O(JWTX_ERR_ONLY_REFRESH, 422, JWTX_FAMILY_INVALID, "Only refresh tokens are allowed"),
    O(JWTX_ERR_BODY_TOO_LARGE, 413, JWTX_FAMILY_GATEWAY, "Request body too large"),
    O(JWTX_ERR_STORE_UNAVAILABLE, 503, JWTX_FAMILY_GATEWAY, "Token revocation store unavailable"),
    O(JWTX_ERR_BAD_CREDENTIALS, 401, JWTX_FAMILY_GATEWAY, "Bad username or password"),
    O(JWTX_ERR_MISSING_CREDENTIALS, 400, JWTX_FAMILY_GATEWAY, "Missing username or password"),
    O(JWTX_ERR_INTERNAL, 500, JWTX_FAMILY_GATEWAY, "Internal server error"),
    O(JWTX_ERR_METHOD_NOT_ALLOWED, 405, JWTX_FAMILY_GATEWAY, "Method not allowed"),
    O(JWTX_ERR_NOT_FOUND, 404, JWTX_FAMILY_GATEWAY, "Not found"),
    O(JWTX_ERR_CONFIG, 500, JWTX_FAMILY_GATEWAY, "Configuration error"),
    O(JWTX_ERR_IO, 500, JWTX_FAMILY_GATEWAY, "I/O error"),
    O(JWTX_ERR_KEY, 500, JWTX_FAMILY_GATEWAY, "Unusable key"),
    O(JWTX_ERR_BAD_REQUEST, 400, JWTX_FAMILY_GATEWAY, "Bad request"),
    O(JWTX_ERR_IDENTITY_NUL, 422, JWTX_FAMILY_INVALID,
      "Identity claim must not contain a NUL character"),
    O(JWTX_ERR_TOO_MANY_ATTEMPTS, 429, JWTX_FAMILY_GATEWAY, "Too many failed login attempts"),
    O(JWTX_ERR_LOGIN_STORE_UNAVAILABLE, 503, JWTX_FAMILY_GATEWAY,
      "Login attempt store unavailable"),
};

static const struct outcome *lookup(jwtx_err code)
{
    if ((int)code < 0 || code >= JWTX_ERR__COUNT || table[code].name == NULL)
        return NULL;
    return &table[code];
}

const char *jwtx_err_message(jwtx_err code)
{
    const struct outcome *o = lookup(code);
    return o ? o->message : "Unknown error";
}

int jwtx_err_status(jwtx_err code)
{
    const struct outcome *o = lookup(code);
    return o ? o->status : 500;
}

jwtx_err_family jwtx_err_family_of(jwtx_err code)
{
    const struct outcome *o = lookup(code);
    return o ? o->family : JWTX_FAMILY_GATEWAY;
}

const char *jwtx_err_name(jwtx_err code)
{
    const struct outcome *o = lookup(code);
    return o ? o->name : "JWTX_ERR_UNKNOWN";
}

const char *jwtx_http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "NO CONTENT";
    case 302: return "FOUND";
    case 303: return "SEE OTHER";
    case 400: return "BAD REQUEST";
    case 401: return "UNAUTHORIZED";
    case 403: return "FORBIDDEN";
    case 404: return "NOT FOUND";
    case 405: return "METHOD NOT ALLOWED";
    case 413: return "REQUEST ENTITY TOO LARGE";
    case 422: return "UNPROCESSABLE ENTITY";
    case 429: return "TOO MANY REQUESTS";
    case 500: return "INTERNAL SERVER ERROR";
    case 503: return "SERVICE UNAVAILABLE";
    default: return "UNKNOWN";
    }
}

void jwtx_error_clear(jwtx_error *err)
{
    if (err == NULL)
        return;
    err->code = JWTX_OK;
    err->text[0] = '\0';
}

int jwtx_error_set(jwtx_error *err, jwtx_err code, const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    err->code = code;
    if (fmt == NULL) {
        snprintf(err->text, sizeof err->text, "%s", jwtx_err_message(code));
        return -1;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof err->text, fmt, ap);
    va_end(ap);
    return -1;
}

const char *jwtx_error_message(const jwtx_error *err)
{
    if (err == NULL)
        return jwtx_err_message(JWTX_ERR_INTERNAL);
    return err->text[0] ? err->text : jwtx_err_message(err->code);
}
