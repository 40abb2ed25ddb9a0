/*
 * serve.c — the request loop shared by every program in cgi-bin/.
 *
 * Configuration is read from the process environment (JWTX_CONF) before the
 * first accept, because web servers hand process settings there and request
 * parameters elsewhere. libfcgi's explicit-request API (fcgiapp.h) does not
 * fall back to CGI by itself, so CGI is detected first with FCGX_IsCGI() and
 * the single request is served from environ, stdin and stdout.
 */
#include "jwtx/gateway.h"

#include <errno.h>
#include <fastcgi.h>
#include <fcgiapp.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jwtx/audit.h"
#include "jwtx/json.h"

extern char **environ;

/* jansson's trees hold request bodies (a login's password) and issued tokens;
 * its free() does not wipe. The programs route jansson through these, which
 * clear every block before handing it back (glibc knows each block's size). */
static void *wiping_malloc(size_t n)
{
    return malloc(n);
}

static void wiping_free(void *p)
{
    if (p != NULL)
        OPENSSL_cleanse(p, malloc_usable_size(p));
    free(p);
}

static long read_fcgx(void *ctx, void *buf, size_t n)
{
    if (n > 1 << 20)
        n = 1 << 20;
    return FCGX_GetStr(buf, (int)n, (FCGX_Stream *)ctx);
}

/* "server" audit lines of a FastCGI request go to its error stream, which
 * the web server writes to its error log (a FastCGI program's own stderr
 * does not reach lighttpd's log). Each line goes out as ONE FCGI_STDERR
 * record, written here: libfcgi's error stream cuts what it sends into
 * records of at most 504 bytes, and lighttpd, Apache and nginx log each
 * record as a line of its own, so a long line (a long user name) would be
 * split and its end (ban=, until=) would no longer follow its start. */
static void write_fcgx_err(void *ctx, const char *line, size_t len)
{
    FCGX_Request *r = ctx;
    unsigned char rec[FCGI_HEADER_LEN + JWTX_AUDIT_LINE_MAX + 8];
    if (len > JWTX_AUDIT_LINE_MAX)
        len = JWTX_AUDIT_LINE_MAX;
    size_t pad = (8 - len % 8) % 8;
    FCGX_FFlush(r->err); /* what is already in the stream goes first */
    rec[0] = FCGI_VERSION_1;
    rec[1] = FCGI_STDERR;
    rec[2] = (unsigned char)((unsigned)r->requestId >> 8);
    rec[3] = (unsigned char)r->requestId;
    rec[4] = (unsigned char)(len >> 8);
    rec[5] = (unsigned char)len;
    rec[6] = (unsigned char)pad;
    rec[7] = 0;
    memcpy(rec + FCGI_HEADER_LEN, line, len);
    memset(rec + FCGI_HEADER_LEN + len, 0, pad);
    size_t n = FCGI_HEADER_LEN + len + pad, off = 0;
    while (off < n) {
        ssize_t w = write(r->ipcFd, rec + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* the connection is gone: the answer's write fails too */
        off += (size_t)w;
    }
}

static long read_stdin(void *ctx, void *buf, size_t n)
{
    (void)ctx;
    size_t got = fread(buf, 1, n, stdin);
    if (got == 0 && ferror(stdin))
        return -1;
    return (long)got;
}

/* Builds the answer for one request; never fails to produce one. */
static void handle(jwtx_gateway *gw, jwtx_route_fn route, char **envp, jwtx_read_fn rd, void *rctx,
                   jwtx_buf *out)
{
    jwtx_request req;
    jwtx_response resp;
    jwtx_error err;
    jwtx_error_clear(&err);
    jwtx_response_init(&resp);
    int rc = -1;
    if (jwtx_request_init(&req) == 0) {
        if (jwtx_request_load_env(&req, envp) != 0) {
            jwtx_error_set(&err, JWTX_ERR_BAD_REQUEST, NULL);
            rc = jwtx_response_error(&resp, &gw->cfg, &err);
        } else if (!req.authorizer &&
                   jwtx_request_read_body(&req, rd, rctx, (size_t)gw->cfg.max_body, &err) != 0) {
            /* The authorizer never reads a body: no server sends one to it. */
            rc = jwtx_response_error(&resp, &gw->cfg, &err);
        } else {
            rc = route(gw, &req, &resp);
        }
        jwtx_request_clear(&req);
    }
    if (rc == 0)
        rc = jwtx_response_serialize(&resp, out);
    if (rc != 0 || out->failed) {
        static const char fallback[] = "Status: 500 INTERNAL SERVER ERROR\r\n"
                                       "Content-Type: application/json\r\n\r\n"
                                       "{\"msg\":\"Internal server error\"}\n";
        out->len = 0;
        out->failed = 0;
        jwtx_buf_append(out, fallback, sizeof fallback - 1);
        fprintf(stderr, "%s: could not build an answer\n", gw->program);
    }
    jwtx_response_clear(&resp);
}

int jwtx_serve(const char *program, jwtx_route_fn route)
{
    const char *conf = getenv("JWTX_CONF");
    if (conf == NULL || conf[0] == '\0') {
        fprintf(stderr, "%s: JWTX_CONF is not set (the path of jwtx.conf)\n", program);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    json_set_alloc_funcs(wiping_malloc, wiping_free);
    jwtx_gateway gw;
    char msg[1024];
    if (jwtx_gateway_open(&gw, program, conf, msg, sizeof msg) != 0) {
        fprintf(stderr, "%s: %s\n", program, msg);
        return 1;
    }
    if (FCGX_Init() != 0) {
        fprintf(stderr, "%s: FCGX_Init failed\n", program);
        jwtx_gateway_close(&gw);
        return 1;
    }

    jwtx_buf out;
    jwtx_buf_init(&out);
    int status = 0;
    if (FCGX_IsCGI()) {
        handle(&gw, route, environ, read_stdin, NULL, &out);
        if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0)
            status = 1;
    } else {
        FCGX_Request r;
        if (FCGX_InitRequest(&r, 0, 0) != 0) {
            fprintf(stderr, "%s: FCGX_InitRequest failed\n", program);
            status = 1;
        }
        while (status == 0 && FCGX_Accept_r(&r) >= 0) {
            /* The last answer held tokens: wipe it before the next one. */
            if (out.data != NULL)
                OPENSSL_cleanse(out.data, out.len);
            out.len = 0;
            jwtx_audit_set_server_writer(gw.audit, write_fcgx_err, &r);
            handle(&gw, route, r.envp, read_fcgx, r.in, &out);
            jwtx_audit_set_server_writer(gw.audit, NULL, NULL);
            FCGX_PutStr(out.data, (int)out.len, r.out);
            FCGX_Finish_r(&r);
        }
        if (status == 0)
            FCGX_Free(&r, 1);
    }
    jwtx_buf_wipe(&out);
    jwtx_gateway_close(&gw);
    return status;
}
