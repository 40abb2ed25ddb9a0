/*
 * cmd_passwd.c — `jwtx passwd [--cost N] [--conf CONF] FILE USER`: add a
 * user to an htpasswd file or change a user's password, with a bcrypt hash
 * that Apache's htpasswd and the gateway both accept. With --conf, every token
 * of the user issued until now is then revoked ("log out everywhere", the
 * store's per-user cut-off of `jwtx revoke --user`), and the conf's
 * JWTX_BCRYPT_COST is the cost when --cost is not given.
 *
 * The password comes from standard input when it is not a terminal (the first
 * line, without its line ending), otherwise it is asked twice on /dev/tty with
 * echo off and both entries must match. The file is rewritten atomically by
 * jwtx_users_put(), which keeps every other line as it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "tool.h"

/* Room for the longest password, its line ending and one byte to notice a
 * longer line. */
#define PW_BUF (JWTX_USERS_PASSWORD_MAX + 4)

static int tty_fd = -1;
static struct termios tty_saved;
static volatile sig_atomic_t tty_echo_off;

static void restore_tty(void)
{
    if (tty_echo_off) {
        tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
        tty_echo_off = 0;
    }
}

/* Puts echo back before dying of a signal at the prompt. */
static void on_signal(int sig)
{
    restore_tty();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Reads one line (up to '\n' or end of input) from fd into buf, without the
 * line ending ("\n" or "\r\n"). Returns its length, -1 on a read error or an
 * empty input, -2 when the line is longer than JWTX_USERS_PASSWORD_MAX. */
static int read_line(int fd, char *buf, size_t size)
{
    size_t n = 0;
    bool any = false, too_long = false;
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        any = true;
        if (c == '\n')
            break;
        if (n + 1 < size)
            buf[n++] = c;
        else
            too_long = true;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    if (!any)
        return -1;
    if (too_long || n > JWTX_USERS_PASSWORD_MAX)
        return -2;
    return (int)n;
}

static int prompt(const char *text, char *buf, size_t size)
{
    if (write(tty_fd, text, strlen(text)) < 0)
        return -1;
    int n = read_line(tty_fd, buf, size);
    if (write(tty_fd, "\n", 1) < 0)
        return -1;
    return n;
}

/* Asks twice on the terminal with echo off. Returns 0 or -1 (message
 * printed). */
static int password_from_tty(char *pw, size_t size)
{
    tty_fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (tty_fd < 0) {
        fprintf(stderr, "jwtx: /dev/tty: %s (give the password on standard input)\n",
                strerror(errno));
        return -1;
    }
    if (tcgetattr(tty_fd, &tty_saved) != 0) {
        fprintf(stderr, "jwtx: /dev/tty: %s\n", strerror(errno));
        close(tty_fd);
        return -1;
    }
    struct sigaction sa, old_int, old_term, old_hup;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);

    struct termios quiet = tty_saved;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
    quiet.c_lflag |= ICANON;
    int rc = -1;
    char again[PW_BUF];
    if (tcsetattr(tty_fd, TCSAFLUSH, &quiet) != 0) {
        fprintf(stderr, "jwtx: /dev/tty: %s\n", strerror(errno));
    } else {
        tty_echo_off = 1;
        int n1 = prompt("New password: ", pw, size);
        int n2 = n1 >= 0 ? prompt("Re-type new password: ", again, sizeof again) : -1;
        restore_tty();
        if (n1 == -2 || n2 == -2)
            fprintf(stderr, "jwtx: password longer than %d bytes\n", JWTX_USERS_PASSWORD_MAX);
        else if (n1 < 0 || n2 < 0)
            fprintf(stderr, "jwtx: no password read\n");
        else if (n1 != n2 || CRYPTO_memcmp(pw, again, (size_t)n1) != 0)
            fprintf(stderr, "jwtx: passwords do not match\n");
        else
            rc = 0;
    }
    OPENSSL_cleanse(again, sizeof again);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    close(tty_fd);
    tty_fd = -1;
    return rc;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: jwtx passwd [--cost N] [--conf CONF] FILE USER\n"
            "  adds USER to the htpasswd FILE (created if missing) or changes the\n"
            "  password, as a bcrypt hash of cost N (%d to %d; default: CONF's\n"
            "  JWTX_BCRYPT_COST with --conf, else %d). The\n"
            "  password is read from standard input (first line) when it is not a\n"
            "  terminal, otherwise asked twice on the terminal.\n"
            "  --conf CONF: then revoke every token of USER issued until now in the\n"
            "  revocation store of CONF (log out everywhere, as jwtx revoke --user).\n",
            JWTX_USERS_COST_MIN, JWTX_USERS_COST_MAX, JWTX_USERS_COST_DEFAULT);
    return 2;
}

/* Revokes every token of user issued until now in the open store: 0, or the
 * exit status (3, the store is unavailable) with a message that says the
 * password did change. */
static int log_out_everywhere(jwtx_blocklist *bl, const char *conf, const char *user)
{
    long long at = (long long)time(NULL);
    if (jwtx_blocklist_revoke_user(bl, user, at) != 0) {
        int status = tool_store_unavailable(bl);
        fprintf(stderr,
                "jwtx: the password of %s WAS changed, but its tokens are not revoked; "
                "run: jwtx revoke --conf %s --user %s\n",
                user, conf, user);
        return status;
    }
    printf("jwtx: revoked every token of %s issued at or before %lld\n", user, at);
    long long n = tool_end_user_sessions(bl, "jwtx passwd", user, at);
    if (n > 0)
        printf("jwtx: ended %lld session%s of %s\n", n, n == 1 ? "" : "s", user);
    return 0;
}

int cmd_passwd(int argc, char **argv)
{
    long cost = JWTX_USERS_COST_DEFAULT;
    bool cost_given = false;
    const char *conf = NULL;
    const char *pos[2];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            return 0;
        }
        if (strcmp(a, "--conf") == 0 || strncmp(a, "--conf=", 7) == 0) {
            if (conf != NULL)
                return usage();
            if (a[6] == '=')
                conf = a + 7;
            else if (++i >= argc)
                return usage();
            else
                conf = argv[i];
            continue;
        }
        if (strcmp(a, "--cost") == 0) {
            if (++i >= argc)
                return usage();
            val = argv[i];
        } else if (strncmp(a, "--cost=", 7) == 0) {
            val = a + 7;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "jwtx: passwd: unknown option '%s'\n", a);
            return usage();
        } else {
            if (npos == 2)
                return usage();
            pos[npos++] = a;
            continue;
        }
        char *end;
        errno = 0;
        cost_given = true;
        cost = strtol(val, &end, 10);
        if (errno != 0 || end == val || *end != '\0' || cost < JWTX_USERS_COST_MIN ||
            cost > JWTX_USERS_COST_MAX) {
            fprintf(stderr, "jwtx: passwd: --cost must be a number from %d to %d\n",
                    JWTX_USERS_COST_MIN, JWTX_USERS_COST_MAX);
            return 2;
        }
    }
    if (npos != 2)
        return usage();
    const char *file = pos[0], *user = pos[1];

    /* The store is opened first: a conf that is wrong or names no store
     * changes nothing. */
    jwtx_config cfg;
    jwtx_blocklist *bl = NULL;
    if (conf != NULL && tool_open_store(conf, &cfg, &bl) != 0)
        return 1;
    if (conf != NULL && !cost_given)
        cost = (long)cfg.bcrypt_cost; /* checked at load: 4..14 */

    char pw[PW_BUF];
    int rc = 1;
    if (!isatty(STDIN_FILENO)) {
        int n = read_line(STDIN_FILENO, pw, sizeof pw);
        if (n == -2) {
            fprintf(stderr, "jwtx: password longer than %d bytes\n", JWTX_USERS_PASSWORD_MAX);
            goto done;
        }
        if (n < 0) {
            fprintf(stderr, "jwtx: no password on standard input\n");
            goto done;
        }
    } else if (password_from_tty(pw, sizeof pw) != 0) {
        goto done;
    }

    jwtx_error err;
    jwtx_error_clear(&err);
    bool updated = false;
    if (jwtx_users_put(file, user, pw, (int)cost, &updated, &err) != 0) {
        fprintf(stderr, "jwtx: %s\n", jwtx_error_message(&err));
        goto done;
    }
    printf("jwtx: user %s %s in %s\n", user, updated ? "updated" : "added", file);
    fflush(stdout);
    rc = bl != NULL ? log_out_everywhere(bl, conf, user) : 0;
done:
    OPENSSL_cleanse(pw, sizeof pw);
    if (conf != NULL) {
        jwtx_blocklist_free(bl);
        jwtx_config_clear(&cfg);
    }
    return rc;
}
