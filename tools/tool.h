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

/* Loads a conf file; on error prints "jwtx: FILE:LINE: OPTION: message" to
 * stderr and returns -1. Warnings go to stderr. */
int tool_load_config(const char *path, jwtx_config *cfg);

/* Reads a whole file (or "-" = stdin), NUL-terminated, max bytes. Returns
 * NULL with a message on stderr. Caller frees. */
char *tool_read_file(const char *path, size_t max, size_t *len);

#endif
