/*
 * cmd_token.c — `jwtx token create | verify | decode`.
 *
 * create issues a token exactly as the gateway's login and refresh routes do
 * (create_access_token / create_refresh_token); verify runs the full decode
 * pipeline plus the route's type and fresh checks and prints either the
 * verified claims or the error answer a protected route would give; decode
 * shows a token's header and claims without verifying anything, for
 * debugging.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

static int usage(void)
{
    fprintf(stderr,
            "usage:\n"
            "  jwtx token create --conf FILE --identity ID [--refresh] [--fresh | --fresh-for "
            "SECONDS]\n"
            "                    [--expires SECONDS | --no-expiry] [--claims JSON] [--headers "
            "JSON]\n"
            "  jwtx token verify --conf FILE [--refresh] [--fresh] TOKEN   (TOKEN - reads stdin)\n"
            "  jwtx token decode TOKEN\n");
    return 2;
}

/* Prints the error answer: the JSON body with its newline, then the status. */
static int print_error(const char *msg_key, const jwtx_error *err)
{
    json_t *body = json_object();
    jwtx_buf b;
    jwtx_buf_init(&b);
    const char *msg = jwtx_error_message(err);
    if (body == NULL ||
        json_object_set_new(body, msg_key, json_stringn_nocheck(msg, strlen(msg))) != 0 ||
        jwtx_json_dump(body, 0, &b) != 0) {
        fprintf(stderr, "jwtx: out of memory\n");
    } else {
        printf("%s\nstatus: %d\n", b.data, jwtx_err_status(err->code));
    }
    json_decref(body);
    jwtx_buf_clear(&b);
    return 1;
}

/* The TOKEN argument, or stdin for "-" (surrounding whitespace removed).
 * Returns a heap copy; NULL with a message on stderr. */
static char *read_token(const char *arg, size_t *len)
{
    char *t;
    size_t n;
    if (strcmp(arg, "-") == 0) {
        t = tool_read_file("-", JWTX_TOKEN_MAX + 64, &n);
        if (t == NULL)
            return NULL;
    } else {
        n = strlen(arg);
        t = malloc(n + 1);
        if (t == NULL) {
            fprintf(stderr, "jwtx: out of memory\n");
            return NULL;
        }
        memcpy(t, arg, n + 1);
    }
    size_t s = 0;
    while (s < n && (t[s] == ' ' || t[s] == '\t' || t[s] == '\r' || t[s] == '\n'))
        s++;
    while (n > s && (t[n - 1] == ' ' || t[n - 1] == '\t' || t[n - 1] == '\r' || t[n - 1] == '\n'))
        n--;
    memmove(t, t + s, n - s);
    t[n - s] = '\0';
    *len = n - s;
    return t;
}

static json_t *parse_object_arg(const char *opt, const char *text)
{
    char why[256] = "";
    json_t *v = jwtx_json_parse(text, strlen(text), why, sizeof why);
    if (v == NULL) {
        fprintf(stderr, "jwtx: %s: %s\n", opt, why);
        return NULL;
    }
    if (!json_is_object(v)) {
        fprintf(stderr, "jwtx: %s: must be a JSON object\n", opt);
        json_decref(v);
        return NULL;
    }
    return v;
}

static int cmd_create(int argc, char **argv)
{
    const char *conf = NULL, *identity = NULL;
    jwtx_token_spec spec = {0};
    json_t *claims = NULL, *headers = NULL;
    bool fresh_flag = false, fresh_for = false, expires = false, no_expiry = false;
    int rc = 2;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (strcmp(a, "--conf") == 0 && has_val) {
            conf = argv[++i];
        } else if (strcmp(a, "--identity") == 0 && has_val) {
            identity = argv[++i];
        } else if (strcmp(a, "--refresh") == 0) {
            spec.refresh = true;
        } else if (strcmp(a, "--fresh") == 0) {
            fresh_flag = true;
            spec.fresh = JWTX_FRESH_TRUE;
        } else if (strcmp(a, "--fresh-for") == 0 && has_val) {
            char *end;
            errno = 0;
            double d = strtod(argv[++i], &end);
            if (errno != 0 || end == argv[i] || *end != '\0' || !isfinite(d) || d < 0 ||
                d > 1e10) {
                fprintf(stderr, "jwtx: --fresh-for: not a number of seconds: %s\n", argv[i]);
                goto out;
            }
            fresh_for = true;
            spec.fresh = JWTX_FRESH_FOR;
            spec.fresh_for = d;
        } else if (strcmp(a, "--expires") == 0 && has_val) {
            char *end;
            errno = 0;
            long long s = strtoll(argv[++i], &end, 10);
            if (errno != 0 || end == argv[i] || *end != '\0' || s < -1000000000000LL ||
                s > 1000000000000LL) {
                fprintf(stderr, "jwtx: --expires: not an integer number of seconds: %s\n",
                        argv[i]);
                goto out;
            }
            expires = true;
            spec.expires = JWTX_EXPIRES_SECONDS;
            spec.expires_seconds = s;
        } else if (strcmp(a, "--no-expiry") == 0) {
            no_expiry = true;
            spec.expires = JWTX_EXPIRES_NEVER;
        } else if (strcmp(a, "--claims") == 0 && has_val) {
            json_decref(claims);
            if ((claims = parse_object_arg("--claims", argv[++i])) == NULL)
                goto out;
        } else if (strcmp(a, "--headers") == 0 && has_val) {
            json_decref(headers);
            if ((headers = parse_object_arg("--headers", argv[++i])) == NULL)
                goto out;
        } else {
            fprintf(stderr, "jwtx: token create: unexpected argument '%s'\n", a);
            rc = usage();
            goto out;
        }
    }
    if (conf == NULL || identity == NULL || (fresh_flag && fresh_for) || (expires && no_expiry)) {
        rc = usage();
        goto out;
    }
    if (spec.refresh && (fresh_flag || fresh_for))
        fprintf(stderr, "jwtx: warning: refresh tokens are never fresh; --fresh ignored\n");
    spec.claims = claims;
    spec.headers = headers;

    jwtx_config cfg;
    if (tool_load_config(conf, &cfg) != 0) {
        rc = 1;
        goto out;
    }
    jwtx_buf tok;
    jwtx_buf_init(&tok);
    jwtx_error err;
    jwtx_error_clear(&err);
    if (jwtx_token_create(&cfg, identity, &spec, &tok, NULL, &err) != 0) {
        fprintf(stderr, "jwtx: cannot create the token: %s\n", jwtx_error_message(&err));
        rc = 1;
    } else {
        printf("%s\n", tok.data);
        rc = 0;
    }
    jwtx_buf_clear(&tok);
    jwtx_config_clear(&cfg);
out:
    json_decref(claims);
    json_decref(headers);
    return rc;
}

static int cmd_verify(int argc, char **argv)
{
    const char *conf = NULL, *token_arg = NULL;
    bool refresh = false, fresh = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--conf") == 0 && i + 1 < argc)
            conf = argv[++i];
        else if (strcmp(argv[i], "--refresh") == 0)
            refresh = true;
        else if (strcmp(argv[i], "--fresh") == 0)
            fresh = true;
        else if (token_arg == NULL && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0))
            token_arg = argv[i];
        else {
            fprintf(stderr, "jwtx: token verify: unexpected argument '%s'\n", argv[i]);
            return usage();
        }
    }
    if (conf == NULL || token_arg == NULL)
        return usage();

    size_t len;
    char *token = read_token(token_arg, &len);
    if (token == NULL)
        return 1;
    jwtx_config cfg;
    if (tool_load_config(conf, &cfg) != 0) {
        free(token);
        return 1;
    }
    jwtx_token t = {0};
    jwtx_error err;
    jwtx_error_clear(&err);
    int rc;
    if (jwtx_token_decode(&cfg, token, len, NULL, &t, &err) != 0) {
        rc = print_error(cfg.error_message_key, &err);
    } else {
        /* The route checks after decoding: type (step 13), then fresh (14). */
        const char *type = jwtx_token_type(&t);
        bool is_refresh = type != NULL && strcmp(type, "refresh") == 0;
        if (refresh && !is_refresh) {
            jwtx_error_set(&err, JWTX_ERR_ONLY_REFRESH, NULL);
            rc = print_error(cfg.error_message_key, &err);
        } else if (!refresh && is_refresh) {
            jwtx_error_set(&err, JWTX_ERR_ONLY_NON_REFRESH, NULL);
            rc = print_error(cfg.error_message_key, &err);
        } else if (fresh && !jwtx_token_is_fresh(&t, jwtx_now())) {
            jwtx_error_set(&err, JWTX_ERR_FRESH_REQUIRED, NULL);
            rc = print_error(cfg.error_message_key, &err);
        } else {
            jwtx_buf b;
            jwtx_buf_init(&b);
            if (jwtx_json_dump(t.claims, 0, &b) == 0) {
                printf("%s\n", b.data);
                rc = 0;
            } else {
                fprintf(stderr, "jwtx: out of memory\n");
                rc = 1;
            }
            jwtx_buf_clear(&b);
        }
    }
    jwtx_token_clear(&t);
    jwtx_config_clear(&cfg);
    free(token);
    return rc;
}

/* Decodes one base64url segment into a new NUL-terminated buffer. */
static unsigned char *decode_segment(const char *s, size_t n, size_t *outlen)
{
    unsigned char *buf = malloc(jwtx_b64url_decoded_max(n) + 1);
    if (buf == NULL)
        return NULL;
    if (jwtx_b64url_decode(s, n, buf, outlen) != 0) {
        free(buf);
        return NULL;
    }
    buf[*outlen] = '\0';
    return buf;
}

/* The unverified view: the parsing steps of the pipeline, no key, no claim
 * checks. */
static int unverified(const char *token, size_t len, json_t **hdr_out, json_t **claims_out,
                      jwtx_error *err)
{
    if (len > JWTX_TOKEN_MAX)
        return jwtx_error_set(err, JWTX_ERR_BAD_REQUEST, "Token longer than %d bytes",
                              JWTX_TOKEN_MAX);
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = memrchr(token, '.', len);
    if (dot1 == NULL || dot1 == dot2)
        return jwtx_error_set(err, JWTX_ERR_NOT_ENOUGH_SEGMENTS, NULL);
    size_t hlen, plen, slen;
    char why[256];
    unsigned char *h = decode_segment(token, (size_t)(dot1 - token), &hlen);
    if (h == NULL)
        return jwtx_error_set(err, JWTX_ERR_HEADER_PADDING, NULL);
    json_t *hdr = jwtx_json_parse((const char *)h, hlen, why, sizeof why);
    free(h);
    if (hdr == NULL)
        return jwtx_error_set(err, JWTX_ERR_HEADER_STRING, "Invalid header string: %s", why);
    if (!json_is_object(hdr)) {
        json_decref(hdr);
        return jwtx_error_set(err, JWTX_ERR_HEADER_STRING,
                              "Invalid header string: must be a json object");
    }
    unsigned char *p = decode_segment(dot1 + 1, (size_t)(dot2 - dot1 - 1), &plen);
    if (p == NULL) {
        json_decref(hdr);
        return jwtx_error_set(err, JWTX_ERR_PAYLOAD_PADDING, NULL);
    }
    unsigned char *s = decode_segment(dot2 + 1, len - (size_t)(dot2 + 1 - token), &slen);
    if (s == NULL) {
        free(p);
        json_decref(hdr);
        return jwtx_error_set(err, JWTX_ERR_CRYPTO_PADDING, NULL);
    }
    free(s);
    json_t *claims = jwtx_json_parse((const char *)p, plen, why, sizeof why);
    free(p);
    if (claims == NULL) {
        json_decref(hdr);
        return jwtx_error_set(err, JWTX_ERR_PAYLOAD_STRING, "Invalid payload string: %s", why);
    }
    if (!json_is_object(claims)) {
        json_decref(hdr);
        json_decref(claims);
        return jwtx_error_set(err, JWTX_ERR_PAYLOAD_STRING,
                              "Invalid payload string: must be a json object");
    }
    *hdr_out = hdr;
    *claims_out = claims;
    return 0;
}

static int cmd_decode(int argc, char **argv)
{
    if (argc != 2)
        return usage();
    size_t len;
    char *token = read_token(argv[1], &len);
    if (token == NULL)
        return 1;
    json_t *hdr = NULL, *claims = NULL;
    jwtx_error err;
    jwtx_error_clear(&err);
    int rc;
    if (unverified(token, len, &hdr, &claims, &err) != 0) {
        rc = print_error("msg", &err);
    } else {
        json_t *o = json_object();
        jwtx_buf b;
        jwtx_buf_init(&b);
        /* json_object_set_new takes the reference even when it fails. */
        int bad = o == NULL;
        if (o != NULL) {
            bad |= json_object_set_new(o, "header", hdr) != 0;
            bad |= json_object_set_new(o, "claims", claims) != 0;
            bad |= json_object_set_new(o, "verified", json_false()) != 0;
        } else {
            json_decref(hdr);
            json_decref(claims);
        }
        if (!bad && jwtx_json_dump(o, 0, &b) == 0) {
            printf("%s\n", b.data);
            rc = 0;
        } else {
            fprintf(stderr, "jwtx: out of memory\n");
            rc = 1;
        }
        json_decref(o);
        jwtx_buf_clear(&b);
    }
    free(token);
    return rc;
}

int cmd_token(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "create") == 0)
        return cmd_create(argc - 1, argv + 1);
    if (strcmp(argv[1], "verify") == 0)
        return cmd_verify(argc - 1, argv + 1);
    if (strcmp(argv[1], "decode") == 0)
        return cmd_decode(argc - 1, argv + 1);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage();
        return 0;
    }
    fprintf(stderr, "jwtx: token: unknown subcommand '%s'\n", argv[1]);
    return usage();
}
