/*
 * users.h — who may log in: an Apache htpasswd file plus per-user claims.
 *
 * The users file is an ordinary Apache htpasswd file ("user:hash" per line,
 * '#' comments and blank lines ignored), so files made by `htpasswd` work
 * unchanged. Accepted hashes: bcrypt ($2y$, $2b$, $2a$), sha256-crypt ($5$),
 * sha512-crypt ($6$), yescrypt ($y$) and scrypt ($7$) through libxcrypt's
 * crypt_rn(); md5crypt ($1$), Apache's $apr1$ and unsalted {SHA} are accepted
 * but logged once per load as weak. Plaintext and DES-crypt lines are refused
 * at load time. The optional claims file is one JSON object mapping a user
 * name to an object of extra claims merged into that user's tokens
 * (Flask-JWT-Extended's additional_claims_loader).
 *
 * A handle notices when either file changes (inode, size or modification
 * time) and re-reads it on the next call; a file that no longer parses is
 * logged and the previous good copy stays in use. A handle is not
 * thread-safe: use one per thread (a FastCGI process serves one request at a
 * time).
 */
#ifndef JWTX_USERS_H
#define JWTX_USERS_H

#include <jansson.h>
#include <stdbool.h>

#include "jwtx/errors.h"

/* Longest user name accepted, in bytes. */
#define JWTX_USERS_NAME_MAX 255
/* Longest password accepted, in bytes: libxcrypt refuses longer passphrases
 * (CRYPT_MAX_PASSPHRASE_SIZE is 512 with the NUL). bcrypt only uses the first
 * 72 bytes: two passwords that share those 72 bytes are the same bcrypt
 * password. */
#define JWTX_USERS_PASSWORD_MAX 511
/* Largest users or claims file read, in bytes, and longest users-file line. */
#define JWTX_USERS_FILE_MAX (16 * 1024 * 1024)
#define JWTX_USERS_LINE_MAX 4096
/* Hash costs a users file may use: one login must not tie up a process for
 * seconds (bcrypt cost 31 or sha-crypt rounds=999999999 would for minutes
 * or days). A line above them is refused like an unusable hash. bcrypt cost
 * 14 is about a second of one CPU core; sha-crypt's default is 5000 rounds;
 * for yescrypt and scrypt the work is N * r * p * (t + 1), 2^19 being 64 MiB
 * of memory (scrypt's default, yescrypt's N=2^14 r=32). */
#define JWTX_USERS_BCRYPT_COST_MAX 14
#define JWTX_USERS_SHA_ROUNDS_MAX 1000000
#define JWTX_USERS_MEMHARD_WORK_MAX (1ULL << 19)
/* bcrypt cost range for jwtx_users_set_password (htpasswd -C allows up to
 * 17, which this file's reader refuses). */
#define JWTX_USERS_COST_MIN 4
#define JWTX_USERS_COST_MAX JWTX_USERS_BCRYPT_COST_MAX
#define JWTX_USERS_COST_DEFAULT 10

typedef struct jwtx_users jwtx_users;

/* Receives one human-readable log line (no trailing newline). Never given a
 * password or a hash. */
typedef void (*jwtx_log_fn)(const char *msg, void *ctx);

/* Loads the htpasswd file and, when claims_path is not NULL, the claims file.
 * log (may be NULL) receives warnings now (weak hashes) and later (a reload
 * that failed). On success stores a new handle in *out (free with
 * jwtx_users_free) and returns 0. On failure returns -1, leaves *out alone and
 * fills err (may be NULL): JWTX_ERR_IO when a file cannot be read
 * ("PATH: reason"), JWTX_ERR_CONFIG when its content is wrong
 * ("PATH:LINE: reason", for JSON "PATH:LINE:COLUMN: reason"). */
int jwtx_users_open(const char *htpasswd_path, const char *claims_path, jwtx_log_fn log,
                    void *log_ctx, jwtx_users **out, jwtx_error *err);

/* Frees a handle and every claim it lent; NULL is a no-op. */
void jwtx_users_free(jwtx_users *u);

/* Checks a user's password: 0 when it matches, -1 otherwise (unknown user,
 * wrong password, a NULL argument, a name over JWTX_USERS_NAME_MAX or a
 * password over JWTX_USERS_PASSWORD_MAX bytes). Re-reads changed files first.
 * An unknown user costs the same as a wrong password: the password is hashed
 * against a dummy hash of the file's most common scheme and cost. */
int jwtx_users_check(jwtx_users *u, const char *user, const char *password)
    __attribute__((warn_unused_result));

/* True when the users file has a line for user (re-reads changed files
 * first). Used for JWTX_USER_LOOKUP. */
bool jwtx_users_exists(jwtx_users *u, const char *user);

/* The claims object of user from the claims file: a borrowed reference,
 * valid until the next call on this handle, or NULL when there is no claims
 * file or no entry for the user. Re-reads changed files first. */
const json_t *jwtx_users_claims(jwtx_users *u, const char *user);

/* The same, telling a broken claims file apart: returns 0 with *out set to
 * the user's claims (borrowed as above; NULL when there is no claims file or
 * no entry for the user), or -1 with *out NULL while the claims file is
 * broken (a reload failed and no good version was read since) or on a NULL
 * argument. Every token made meanwhile would lack its user's claims (a role,
 * a scope): callers issue none (login, refresh and implicit refresh). */
int jwtx_users_claims_for(jwtx_users *u, const char *user, const json_t **out)
    __attribute__((warn_unused_result));

/* Number of users currently loaded (after re-reading changed files). */
size_t jwtx_users_count(jwtx_users *u);

/* Adds user to the htpasswd file at path, or replaces its password, with a
 * fresh bcrypt hash ($2y$, as `htpasswd -B` writes) of the given cost
 * (JWTX_USERS_COST_MIN..MAX). Every other line, comment and blank line is kept
 * byte for byte; a second line for the same user is dropped. The new file is
 * written to a temporary file in the same directory with the old file's mode
 * (0600 for a new file) and owner where permitted, then rename()d over the old
 * one, so readers see either the old or the new file. A symbolic link is
 * followed and its target replaced. Concurrent writers are not serialised.
 * Refuses an empty user name, one with ':', a control character or invalid
 * UTF-8, or one over JWTX_USERS_NAME_MAX bytes, and an empty password or one
 * over JWTX_USERS_PASSWORD_MAX bytes.
 * Returns 0, or -1 with err (may be NULL) filled: JWTX_ERR_CONFIG for a bad
 * argument, JWTX_ERR_IO for a file error. */
int jwtx_users_set_password(const char *path, const char *user, const char *password, int cost,
                            jwtx_error *err);

/* As jwtx_users_set_password, and on success sets *updated (may be NULL) to
 * true when the user already had a line, false when it was added. */
int jwtx_users_put(const char *path, const char *user, const char *password, int cost,
                   bool *updated, jwtx_error *err);

#endif
