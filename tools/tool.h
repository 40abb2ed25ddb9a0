/*
 * tool.h — shared pieces of the `jwtx` command-line tool. Each command group
 * lives in its own tools/cmd_<group>.c and exports one cmd_<group>().
 */
#ifndef JWTX_TOOL_H
#define JWTX_TOOL_H

#include "jwtx/jwtx.h"

/* Command entry points: argv[0] is the group name ("token", ...). They
 * return the process exit status (0 ok, 1 failure/denied, 2 usage). */
int cmd_token(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_passwd(int argc, char **argv);
int cmd_revoke(int argc, char **argv);
int cmd_blocklist(int argc, char **argv);
int cmd_login_bans(int argc, char **argv);
int cmd_sessions(int argc, char **argv);

/* Loads a conf file; on error prints "jwtx: FILE:LINE: OPTION: message" to
 * stderr and returns -1. Warnings go to stderr. */
int tool_load_config(const char *path, jwtx_config *cfg);

/* Reads a whole file (or "-" = stdin), NUL-terminated, max bytes. Returns
 * NULL with a message on stderr. Caller frees. */
char *tool_read_file(const char *path, size_t max, size_t *len);

/* One "--name VALUE" option of a command; *value receives VALUE. */
typedef struct tool_opt {
    const char *name;
    const char **value;
} tool_opt;

#define TOOL_ARGS_OK (-1)

/* Reads a command's arguments argv[1..argc) (argv[0] is the group name):
 * "--name VALUE" for each of the n opts (each at most once; VALUE is always
 * the next argument), "--help" or "-h", and at most npos positional
 * arguments, stored in order into pos[] (a lone "-", often stdin, is
 * positional; any other word starting with '-' is refused as "jwtx GROUP:
 * unknown option X"). Slots not given are left as they were. Returns
 * TOOL_ARGS_OK when the command should go on, otherwise the exit status to
 * return after print_usage() has been called: 0 for --help, 2 for a usage error. */
int tool_parse_args(int argc, char **argv, const tool_opt *opts, size_t n, const char **pos,
                    size_t npos, int (*print_usage)(void));

/* Prints text from a store or a client (a key, a user, a session id) with
 * control bytes, DEL and backslash written as \xNN, so that one entry is
 * always one line and a tab always separates fields. */
void tool_put_text(const char *s);

/* tool_store.c: for the commands that work on the revocation store. */

/* Loads the conf file at conf into *cfg and opens the revocation store it
 * names (JWTX_BLOCKLIST) into *bl. Returns 0, the caller then releasing both
 * (jwtx_blocklist_free, then jwtx_config_clear); otherwise prints why on
 * stderr (conf error, store error, or no store configured), leaves nothing to
 * release, and returns 1, the exit status for it. */
int tool_open_store(const char *conf, jwtx_config *cfg, jwtx_blocklist **bl);

/* Prints "jwtx: the revocation store (KIND) is unavailable: WHY" on stderr
 * and returns 3, the exit status for it. */
int tool_store_unavailable(const jwtx_blocklist *bl);

/* The store key of a user named on the command line (--user NAME, jwtx
 * sessions list USER): NAME as it is, unless it is a JSON object or array,
 * which is rewritten into the canonical text the gateway keys such an
 * identity by (jwtx_identity_text). prog names the command in the note
 * printed when NAME looks like JSON but is not. A new string, or NULL (out
 * of memory). */
char *tool_user_key(const char *prog, const char *name);

/* After a user's cut-off was set at now (jwtx revoke --user, jwtx passwd
 * --conf): ends the user's live sessions too (refresh-token families), so
 * that `jwtx sessions list` does not show sessions whose tokens are all
 * refused. The cut-off already refuses every token: a store that cannot end
 * them (an older schema without sessions) only gets a note on stderr.
 * Returns how many sessions were ended (0 on a note). */
long long tool_end_user_sessions(jwtx_blocklist *bl, const char *prog, const char *user,
                                 long long now);

#endif
