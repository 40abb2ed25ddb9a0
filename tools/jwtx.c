/*
 * jwtx.c — the `jwtx` command-line tool: dispatch to the command groups.
 *
 * Each group is a cmd_<group>() in its own file. They are declared weak here
 * so the tool builds while a group is being written; a missing group says so.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

#ifndef JWTX_VERSION
#error "JWTX_VERSION is set by the Makefile from the file VERSION"
#endif

#pragma weak cmd_token
#pragma weak cmd_config
#pragma weak cmd_keygen
#pragma weak cmd_passwd
#pragma weak cmd_revoke
#pragma weak cmd_blocklist
#pragma weak cmd_login_bans
#pragma weak cmd_sessions

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *usage;
} commands[] = {
    {"token", cmd_token,
     "token create --conf FILE --identity ID [--refresh] [--fresh | --fresh-for SECONDS]\n"
     "                   [--expires SECONDS | --no-expiry] [--claims JSON] [--headers JSON]\n"
     "  jwtx token verify --conf FILE [--refresh] [--fresh] TOKEN\n"
     "  jwtx token decode TOKEN"},
    {"config", cmd_config, "config check FILE"},
    {"keygen", cmd_keygen, "keygen ALG --out DIR"},
    {"passwd", cmd_passwd, "passwd [--cost N] FILE USER   (password from stdin or the terminal)"},
    {"revoke", cmd_revoke,
     "revoke --conf FILE TOKEN | --jti JTI --until EPOCH | --user NAME [--at EPOCH]"},
    {"blocklist", cmd_blocklist, "blocklist --conf FILE init|count|list|purge"},
    {"login-bans", cmd_login_bans, "login-bans --conf FILE list|clear [--user U] [--address A]"},
    {"sessions", cmd_sessions,
     "sessions --conf FILE list USER [--json]\n"
     "  jwtx sessions --conf FILE end FAMILY | --user USER"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  jwtx %s\n", commands[i].usage);
    fprintf(f, "  jwtx --version\n");
}

static void warn_cb(const char *file, int line, const char *msg, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "jwtx: warning: %s:%d: %s\n", file, line, msg);
}

int tool_load_config(const char *path, jwtx_config *cfg)
{
    jwtx_config_error e;
    if (jwtx_config_load(path, cfg, &e, warn_cb, NULL) != 0) {
        char buf[1024];
        fprintf(stderr, "jwtx: %s\n", jwtx_config_error_format(&e, buf, sizeof buf));
        return -1;
    }
    return 0;
}

char *tool_read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "jwtx: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    int bad = buf == NULL || ferror(f) || n > max;
    if (f != stdin)
        fclose(f);
    if (bad) {
        fprintf(stderr, "jwtx: %s: unreadable or larger than %zu bytes\n", path, max);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

int tool_parse_args(int argc, char **argv, const tool_opt *opts, size_t n, const char **pos,
                    size_t npos, int (*print_usage)(void))
{
    size_t npos_seen = 0;
    for (int i = 1; i < argc; i++) {
        const char **slot = NULL;
        for (size_t k = 0; k < n && slot == NULL; k++)
            if (strcmp(argv[i], opts[k].name) == 0)
                slot = opts[k].value;
        if (slot != NULL) {
            if (i + 1 >= argc || *slot != NULL)
                return print_usage();
            *slot = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_usage();
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "jwtx %s: unknown option %s\n", argv[0], argv[i]);
            return print_usage();
        } else if (npos_seen < npos) {
            pos[npos_seen++] = argv[i];
        } else {
            return print_usage();
        }
    }
    return TOOL_ARGS_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        if (argc != 2) {
            usage(stderr);
            return 2;
        }
        printf("jwtx %s\n", JWTX_VERSION);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        if (commands[i].fn == NULL) {
            fprintf(stderr, "jwtx: command '%s' is not built in this version\n", argv[1]);
            return 2;
        }
        return commands[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "jwtx: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
