/*
 * users.c — credential checks against an Apache htpasswd file, per-user claims
 * from a JSON file, and the writer behind `jwtx passwd`.
 *
 * Modern hashes go through libxcrypt's crypt_rn(); the two Apache formats it
 * lacks, $apr1$ (APR's md5crypt variant) and {SHA} (base64 of SHA-1), are
 * computed here on OpenSSL EVP. A loaded file is a sorted array of
 * (name, hash) entries; each call stats both files and re-reads one whose
 * inode, size or times changed, keeping the previous copy when the new one is
 * bad. Unknown users are checked against a dummy hash of the file's most
 * common scheme and cost so that they take as long as a wrong password.
 */
#include "jwtx/users.h"
#include "jwtx/json.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- schemes */

typedef enum scheme {
    S_BCRYPT,
    S_SHA256,
    S_SHA512,
    S_YESCRYPT,
    S_SCRYPT,
    S_MD5,
    S_APR1,
    S_SHA1,
} scheme;

static const struct {
    const char *label; /* for logs */
    bool weak;
    bool own_code; /* computed here, not by crypt_rn */
} schemes[] = {
    [S_BCRYPT] = {"bcrypt", false, false},
    [S_SHA256] = {"$5$ sha256-crypt", false, false},
    [S_SHA512] = {"$6$ sha512-crypt", false, false},
    [S_YESCRYPT] = {"$y$ yescrypt", false, false},
    [S_SCRYPT] = {"$7$ scrypt", false, false},
    [S_MD5] = {"$1$ MD5", true, false},
    [S_APR1] = {"$apr1$ MD5", true, true},
    [S_SHA1] = {"{SHA} unsalted SHA-1", true, true},
};

static const char itoa64[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static bool is_itoa64(char c)
{
    return c != '\0' && strchr(itoa64, c) != NULL;
}

/* Length of the run of itoa64 characters at s, at most max+1. */
static size_t itoa64_run(const char *s, size_t max)
{
    size_t n = 0;
    while (n <= max && is_itoa64(s[n]))
        n++;
    return n;
}

/* Checks "SALT$HASH" at s: a salt of at most salt_max itoa64 characters, a
 * '$' and exactly hash_len itoa64 characters, then the end. */
static bool salt_and_hash(const char *s, size_t salt_max, size_t hash_len)
{
    size_t n = itoa64_run(s, salt_max);
    if (n > salt_max || s[n] != '$')
        return false;
    s += n + 1;
    return itoa64_run(s, hash_len) == hash_len && s[hash_len] == '\0';
}

static bool is_b64(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/* The itoa64 value of c, or -1. */
static int a64(char c)
{
    const char *q = c != '\0' ? strchr(itoa64, c) : NULL;
    return q != NULL ? (int)(q - itoa64) : -1;
}

/* One number of yescrypt's parameter string, in libxcrypt's variable-length
 * itoa64 form (its decode64_uint32): the first character's range says how
 * many follow. Returns the position after it, or NULL. */
static const char *y_number(const char *p, uint32_t min, uint64_t *out)
{
    int c = a64(*p++);
    if (c < 0)
        return NULL;
    uint64_t v = min;
    uint32_t start = 0, end = 47, chars = 1, bits = 0;
    while ((uint32_t)c > end) {
        v += (uint64_t)(end + 1 - start) << bits;
        start = end + 1;
        end = start + (62 - end) / 2;
        chars++;
        bits += 6;
    }
    v += (uint64_t)((uint32_t)c - start) << bits;
    while (--chars) {
        if ((c = a64(*p++)) < 0)
            return NULL;
        bits -= 6;
        v += (uint64_t)c << bits;
    }
    *out = v;
    return p;
}

/* a * b, saturating. */
static uint64_t mul_sat(uint64_t a, uint64_t b)
{
    uint64_t r;
    return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

/* The work of a memory-hard hash, N * r * p * (t + 1) (its memory is 128
 * bytes times N * r * p), from "$y$PARAMS$..." or "$7$N r p SALT$...".
 * UINT64_MAX when the parameters cannot be read. */
static uint64_t memhard_work(const char *h)
{
    uint64_t flavor, nlog, r, have = 0, p = 1, t = 0, g;
    const char *s = h + 3;
    if (h[1] == '7') { /* scrypt: N as 2^c, then r and p as 30-bit little-endian */
        int c = a64(s[0]);
        r = p = 0;
        for (int i = 0; i < 5; i++) {
            int cr = a64(s[1 + i]), cp = a64(s[6 + i]);
            if (cr < 0 || cp < 0)
                return UINT64_MAX;
            r |= (uint64_t)cr << (6 * i);
            p |= (uint64_t)cp << (6 * i);
        }
        if (c < 0 || c > 62)
            return UINT64_MAX;
        return mul_sat(mul_sat((uint64_t)1 << c, r), p);
    }
    if ((s = y_number(s, 0, &flavor)) == NULL || (s = y_number(s, 1, &nlog)) == NULL ||
        (s = y_number(s, 1, &r)) == NULL)
        return UINT64_MAX;
    if (*s != '$') {
        if ((s = y_number(s, 1, &have)) == NULL || have > 7 ||
            ((have & 1) && (s = y_number(s, 2, &p)) == NULL) ||
            ((have & 2) && (s = y_number(s, 1, &t)) == NULL) ||
            ((have & 4) && (s = y_number(s, 1, &g)) == NULL))
            return UINT64_MAX; /* have & 8 is a ROM, which crypt() cannot use */
    }
    if (*s != '$' || nlog > 62)
        return UINT64_MAX;
    return mul_sat(mul_sat(mul_sat((uint64_t)1 << nlog, r), p), t + 1);
}

/* Classifies a NUL-terminated hash. Returns 0 with *s set, or -1 with a
 * reason (never quoting the hash) in why. A hash whose cost is above the
 * JWTX_USERS_*_MAX limits is refused too: one login of that user would tie
 * up a process for seconds or days. */
static int classify(const char *h, scheme *s, char *why, size_t why_size)
{
    size_t len = strlen(h);
    if (len == 0) {
        snprintf(why, why_size, "missing password hash after ':'");
        return -1;
    }
    if (strncmp(h, "$2y$", 4) == 0 || strncmp(h, "$2b$", 4) == 0 || strncmp(h, "$2a$", 4) == 0) {
        bool ok = len == 60 && h[4] >= '0' && h[4] <= '3' && h[5] >= '0' && h[5] <= '9' &&
                  h[6] == '$' && itoa64_run(h + 7, 53) == 53;
        int cost = ok ? (h[4] - '0') * 10 + (h[5] - '0') : 0;
        if (!ok || cost < 4 || cost > 31) {
            snprintf(why, why_size, "malformed bcrypt hash");
            return -1;
        }
        if (cost > JWTX_USERS_BCRYPT_COST_MAX) {
            snprintf(why, why_size,
                     "bcrypt cost %d is above the limit of %d (each login would cost over a "
                     "second of CPU); set a new password with: jwtx passwd",
                     cost, JWTX_USERS_BCRYPT_COST_MAX);
            return -1;
        }
        *s = S_BCRYPT;
        return 0;
    }
    if (strncmp(h, "$5$", 3) == 0 || strncmp(h, "$6$", 3) == 0) {
        bool is5 = h[1] == '5';
        const char *p = h + 3;
        unsigned long rounds = 5000; /* the default without rounds= */
        if (strncmp(p, "rounds=", 7) == 0) {
            p += 7;
            size_t d = 0;
            while (p[d] >= '0' && p[d] <= '9')
                d++;
            if (d == 0 || d > 9 || p[d] != '$') {
                p = NULL;
            } else {
                rounds = strtoul(p, NULL, 10);
                p += d + 1;
            }
        }
        if (p == NULL || !salt_and_hash(p, 16, is5 ? 43 : 86)) {
            snprintf(why, why_size, "malformed %s hash",
                     is5 ? "$5$ sha256-crypt" : "$6$ sha512-crypt");
            return -1;
        }
        if (rounds > JWTX_USERS_SHA_ROUNDS_MAX) {
            snprintf(why, why_size,
                     "%s rounds=%lu is above the limit of %d; set a new password with: jwtx "
                     "passwd",
                     is5 ? "$5$ sha256-crypt" : "$6$ sha512-crypt", rounds,
                     JWTX_USERS_SHA_ROUNDS_MAX);
            return -1;
        }
        *s = is5 ? S_SHA256 : S_SHA512;
        return 0;
    }
    if (strncmp(h, "$y$", 3) == 0 || strncmp(h, "$7$", 3) == 0) {
        bool y = h[1] == 'y';
        const char *p = h + 3;
        size_t n = itoa64_run(p, 64); /* parameters */
        bool ok = n > 0 && n <= 64 && p[n] == '$';
        if (ok && y) { /* yescrypt: $y$PARAMS$SALT$HASH */
            p += n + 1;
            ok = salt_and_hash(p, 86, 43);
        } else if (ok) { /* scrypt: $7$PARAMS+SALT$HASH, params already include the salt */
            p += n + 1;
            ok = itoa64_run(p, 43) == 43 && p[43] == '\0';
        }
        if (!ok || crypt_checksalt(h) != CRYPT_SALT_OK) {
            snprintf(why, why_size, "malformed %s hash", y ? "$y$ yescrypt" : "$7$ scrypt");
            return -1;
        }
        uint64_t work = memhard_work(h);
        if (work > JWTX_USERS_MEMHARD_WORK_MAX) {
            if (work == UINT64_MAX)
                snprintf(why, why_size, "%s parameters not understood (too costly to check)",
                         y ? "$y$ yescrypt" : "$7$ scrypt");
            else
                snprintf(why, why_size,
                         "%s parameters cost %llu MiB of memory per login, above the limit of "
                         "%llu MiB; set a new password with: jwtx passwd",
                         y ? "$y$ yescrypt" : "$7$ scrypt",
                         (unsigned long long)(work >= (UINT64_MAX >> 7) ? UINT64_MAX >> 20
                                                                        : (work << 7) >> 20),
                         (unsigned long long)((JWTX_USERS_MEMHARD_WORK_MAX << 7) >> 20));
            return -1;
        }
        *s = y ? S_YESCRYPT : S_SCRYPT;
        return 0;
    }
    if (strncmp(h, "$1$", 3) == 0 || strncmp(h, "$apr1$", 6) == 0) {
        bool apr = h[1] == 'a';
        if (!salt_and_hash(h + (apr ? 6 : 3), 8, 22)) {
            snprintf(why, why_size, "malformed %s hash", apr ? "$apr1$" : "$1$");
            return -1;
        }
        *s = apr ? S_APR1 : S_MD5;
        return 0;
    }
    if (strncmp(h, "{SHA}", 5) == 0) {
        const char *b = h + 5;
        bool ok = len == 5 + 28 && b[27] == '=';
        for (size_t i = 0; ok && i < 27; i++)
            ok = is_b64(b[i]);
        if (!ok) {
            snprintf(why, why_size, "malformed {SHA} hash");
            return -1;
        }
        *s = S_SHA1;
        return 0;
    }
    if ((len == 13 && itoa64_run(h, 13) == 13) ||
        (len == 20 && h[0] == '_' && itoa64_run(h + 1, 19) == 19)) {
        snprintf(why, why_size,
                 "DES crypt hash refused (it ignores all but 8 characters of a password); "
                 "set a new password with: jwtx passwd");
        return -1;
    }
    if (h[0] == '$') {
        /* Name the scheme only when its prefix is short and printable. */
        size_t n = itoa64_run(h + 1, 8);
        if (n > 0 && n <= 8 && h[1 + n] == '$')
            snprintf(why, why_size, "unsupported hash scheme $%.*s$", (int)n, h + 1);
        else
            snprintf(why, why_size, "unsupported hash scheme");
        return -1;
    }
    snprintf(why, why_size,
             "not a recognised password hash (plaintext passwords are refused); "
             "set a new password with: jwtx passwd");
    return -1;
}

/* ----------------------------------------------------- $apr1$ and {SHA} */

static void to64(char **p, unsigned long v, int n)
{
    while (n-- > 0) {
        *(*p)++ = itoa64[v & 0x3f];
        v >>= 6;
    }
}

int jwtxp_users_md5crypt(const char *pw, const char *salt, const char *magic, char *out,
                         size_t out_size);

/* md5crypt (Poul-Henning Kamp's algorithm) with a chosen magic string: "$1$"
 * gives FreeBSD/libxcrypt md5crypt, "$apr1$" gives Apache's variant. salt
 * is read up to 8 characters or the first '$'. Writes "MAGIC SALT $ HASH"
 * NUL-terminated to out. Returns 0, or -1 (out too small, digest failure). */
int jwtxp_users_md5crypt(const char *pw, const char *salt, const char *magic, char *out,
                         size_t out_size)
{
    size_t pl = strlen(pw), ml = strlen(magic), sl = 0;
    while (sl < 8 && salt[sl] != '\0' && salt[sl] != '$')
        sl++;
    if (out_size < ml + sl + 1 + 22 + 1)
        return -1;

    EVP_MD *md = EVP_MD_fetch(NULL, "MD5", NULL);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned char fin[16];
    int ok = md != NULL && c != NULL;

    /* alt = MD5(pw salt pw) */
    ok = ok && EVP_DigestInit_ex(c, md, NULL) && EVP_DigestUpdate(c, pw, pl) &&
         EVP_DigestUpdate(c, salt, sl) && EVP_DigestUpdate(c, pw, pl) &&
         EVP_DigestFinal_ex(c, fin, NULL);

    ok = ok && EVP_DigestInit_ex(c, md, NULL) && EVP_DigestUpdate(c, pw, pl) &&
         EVP_DigestUpdate(c, magic, ml) && EVP_DigestUpdate(c, salt, sl);
    for (size_t n = pl; ok && n > 0; n -= n > 16 ? 16 : n)
        ok = EVP_DigestUpdate(c, fin, n > 16 ? 16 : n);
    /* The original code clears the digest here and then adds its first byte
     * (now zero) for every set bit of the length, pw[0] for every clear bit. */
    OPENSSL_cleanse(fin, sizeof fin);
    for (size_t i = pl; ok && i != 0; i >>= 1)
        ok = (i & 1) ? EVP_DigestUpdate(c, fin, 1) : EVP_DigestUpdate(c, pw, 1);
    ok = ok && EVP_DigestFinal_ex(c, fin, NULL);

    /* 1000 rounds, meant to slow down brute force (it does not, much). */
    for (int i = 0; ok && i < 1000; i++) {
        ok = EVP_DigestInit_ex(c, md, NULL);
        ok = ok && ((i & 1) ? EVP_DigestUpdate(c, pw, pl) : EVP_DigestUpdate(c, fin, 16));
        if (ok && i % 3)
            ok = EVP_DigestUpdate(c, salt, sl);
        if (ok && i % 7)
            ok = EVP_DigestUpdate(c, pw, pl);
        ok = ok && ((i & 1) ? EVP_DigestUpdate(c, fin, 16) : EVP_DigestUpdate(c, pw, pl));
        ok = ok && EVP_DigestFinal_ex(c, fin, NULL);
    }
    EVP_MD_CTX_free(c);
    EVP_MD_free(md);
    if (!ok) {
        OPENSSL_cleanse(fin, sizeof fin);
        return -1;
    }

    char *p = out;
    memcpy(p, magic, ml);
    p += ml;
    memcpy(p, salt, sl);
    p += sl;
    *p++ = '$';
    to64(&p, ((unsigned long)fin[0] << 16) | ((unsigned long)fin[6] << 8) | fin[12], 4);
    to64(&p, ((unsigned long)fin[1] << 16) | ((unsigned long)fin[7] << 8) | fin[13], 4);
    to64(&p, ((unsigned long)fin[2] << 16) | ((unsigned long)fin[8] << 8) | fin[14], 4);
    to64(&p, ((unsigned long)fin[3] << 16) | ((unsigned long)fin[9] << 8) | fin[15], 4);
    to64(&p, ((unsigned long)fin[4] << 16) | ((unsigned long)fin[10] << 8) | fin[5], 4);
    to64(&p, fin[11], 2);
    *p = '\0';
    OPENSSL_cleanse(fin, sizeof fin);
    return 0;
}

/* "{SHA}" + base64(SHA1(pw)) into out (at least 34 bytes). */
static int sha1_b64(const char *pw, char *out, size_t out_size)
{
    unsigned char d[20];
    unsigned int dl = 0;
    if (out_size < 5 + 28 + 1 || !EVP_Digest(pw, strlen(pw), d, &dl, EVP_sha1(), NULL) || dl != 20)
        return -1;
    memcpy(out, "{SHA}", 5);
    EVP_EncodeBlock((unsigned char *)out + 5, d, 20);
    OPENSSL_cleanse(d, sizeof d);
    return 0;
}

/* Hashes pw with the scheme and salt of hash and compares in constant time.
 * Returns 0 on a match, -1 otherwise. cd is the caller's crypt scratch. */
static int verify_hash(struct crypt_data *cd, scheme s, const char *hash, const char *pw)
{
    char buf[CRYPT_OUTPUT_SIZE];
    const char *out = NULL;
    if (s == S_APR1) {
        if (jwtxp_users_md5crypt(pw, hash + 6, "$apr1$", buf, sizeof buf) == 0)
            out = buf;
    } else if (s == S_SHA1) {
        if (sha1_b64(pw, buf, sizeof buf) == 0)
            out = buf;
    } else {
        out = crypt_rn(pw, hash, cd, (int)sizeof *cd);
        if (out != NULL && out[0] == '*')
            out = NULL;
    }
    int rc = -1;
    if (out != NULL) {
        size_t hl = strlen(hash), ol = strnlen(out, CRYPT_OUTPUT_SIZE);
        if (hl == ol && CRYPTO_memcmp(out, hash, hl) == 0)
            rc = 0;
    }
    OPENSSL_cleanse(buf, sizeof buf);
    if (!schemes[s].own_code)
        OPENSSL_cleanse(cd, sizeof *cd);
    return rc;
}

/* ------------------------------------------------------------ helpers */

/* Strict UTF-8: no overlongs, surrogates or code points above U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        unsigned min;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            k = 1, min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2, min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3, min = 0x10000;
        } else {
            return false;
        }
        if (n - i <= k)
            return false;
        unsigned cp = c & (0x3f >> k);
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

/* Checks a user name; returns NULL or the reason it is refused. */
static const char *name_problem(const char *name, size_t n)
{
    if (n == 0)
        return "empty user name";
    if (n > JWTX_USERS_NAME_MAX)
        return "user name longer than 255 bytes";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f)
            return "control character in user name";
        if (c == ':')
            return "':' in user name";
    }
    if (!utf8_valid((const unsigned char *)name, n))
        return "user name is not valid UTF-8";
    return NULL;
}

/* Copies at most 64 bytes of s for a log or error line, with bytes that are
 * not printable ASCII shown as '?'. */
static const char *printable(const char *s, char *buf, size_t size)
{
    size_t i = 0;
    for (; s[i] != '\0' && i + 1 < size && i < 64; i++)
        buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    buf[i] = '\0';
    return buf;
}

typedef struct file_id {
    bool valid;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
    int err; /* errno of a failed stat, when !valid */
} file_id;

static void file_id_of(const struct stat *st, file_id *id)
{
    memset(id, 0, sizeof *id);
    id->valid = true;
    id->dev = st->st_dev;
    id->ino = st->st_ino;
    id->size = st->st_size;
    id->mtime = st->st_mtim;
    id->ctime = st->st_ctim;
}

static bool file_id_eq(const file_id *a, const file_id *b)
{
    if (a->valid != b->valid)
        return false;
    if (!a->valid)
        return a->err == b->err;
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
           a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

static void stat_id(const char *path, file_id *id)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        file_id_of(&st, id);
    } else {
        memset(id, 0, sizeof *id);
        id->err = errno;
    }
}

/* Reads a whole regular file of at most max bytes, NUL-terminated. Returns
 * the buffer (caller frees) with *len and *id set, or NULL with err set to
 * JWTX_ERR_IO "PATH: reason". */
static char *read_file(const char *path, size_t max, size_t *len, file_id *id, jwtx_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        jwtx_error_set(err, JWTX_ERR_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        jwtx_error_set(err, JWTX_ERR_IO, "%s: not a regular file", path);
        close(fd);
        return NULL;
    }
    if ((uintmax_t)st.st_size > max) {
        jwtx_error_set(err, JWTX_ERR_IO, "%s: larger than %zu bytes", path, max);
        close(fd);
        return NULL;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap + 1);
    while (buf != NULL) {
        if (n == cap) { /* the file grew while we read it */
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            char *nb = ncap > cap ? realloc(buf, ncap + 1) : NULL;
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                jwtx_error_set(err, JWTX_ERR_IO, "%s: larger than %zu bytes", path, max);
                close(fd);
                return NULL;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            jwtx_error_set(err, JWTX_ERR_IO, "%s: %s", path, strerror(errno));
            free(buf);
            close(fd);
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (buf == NULL) {
        jwtx_error_set(err, JWTX_ERR_IO, "%s: out of memory", path);
        close(fd);
        return NULL;
    }
    close(fd);
    buf[n] = '\0';
    *len = n;
    file_id_of(&st, id);
    return buf;
}

/* ------------------------------------------------------- the users file */

typedef struct entry {
    char *name; /* name and hash share one allocation */
    char *hash;
    size_t hash_len;
    unsigned line;
    scheme s;
} entry;

typedef struct pwdb {
    entry *v;
    size_t n;
    char *dummy; /* hash of a random password */
    scheme dummy_s;
} pwdb;

static void pwdb_clear(pwdb *db)
{
    for (size_t i = 0; i < db->n; i++) {
        OPENSSL_cleanse(db->v[i].hash, db->v[i].hash_len);
        free(db->v[i].name);
    }
    free(db->v);
    if (db->dummy != NULL) {
        OPENSSL_cleanse(db->dummy, strlen(db->dummy));
        free(db->dummy);
    }
    memset(db, 0, sizeof *db);
}

static int entry_cmp(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

/* The part of a hash that fixes its cost: "$2y$10", "$6$rounds=N", "$y$j9T",
 * the scrypt parameters, or the bare prefix. Written into key. */
static void cost_key(const entry *e, char *key, size_t size)
{
    const char *h = e->hash;
    size_t n;
    switch (e->s) {
    case S_BCRYPT:
        n = 6;
        break;
    case S_SHA256:
    case S_SHA512:
        n = strncmp(h + 3, "rounds=", 7) == 0 ? (size_t)(strchr(h + 3, '$') - h) : 3;
        break;
    case S_YESCRYPT:
        n = (size_t)(strchr(h + 3, '$') - h);
        break;
    case S_SCRYPT:
        n = 3 + 11 < e->hash_len ? 3 + 11 : 3; /* N (1 char), r (5), p (5) */
        break;
    case S_MD5:
        n = 3;
        break;
    case S_APR1:
        n = 6;
        break;
    default:
        n = 5;
        break;
    }
    snprintf(key, size, "%.*s", (int)n, h);
}

/* Picks the most common scheme and cost (the first seen on a tie) and makes
 * the dummy hash: a hash of a random password with those parameters. With no
 * users, a bcrypt hash of the default cost. Returns 0 or -1. */
static int make_dummy(pwdb *db, const entry *in_order, size_t n, struct crypt_data *cd)
{
    enum { KEYS = 32 };
    char keys[KEYS][64];
    size_t count[KEYS], first[KEYS], nk = 0;
    for (size_t i = 0; i < n; i++) {
        char k[64];
        cost_key(&in_order[i], k, sizeof k);
        size_t j = 0;
        while (j < nk && strcmp(keys[j], k) != 0)
            j++;
        if (j == nk) {
            if (nk == KEYS)
                continue;
            snprintf(keys[nk], sizeof keys[nk], "%s", k);
            count[nk] = 0;
            first[nk] = i;
            nk++;
        }
        count[j]++;
    }
    size_t best = 0;
    for (size_t j = 1; j < nk; j++)
        if (count[j] > count[best])
            best = j;

    unsigned char rnd[24];
    char pw[sizeof rnd * 2 + 1], out[CRYPT_OUTPUT_SIZE];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return -1;
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(pw + 2 * i, 3, "%02x", rnd[i]);

    int rc = -1;
    const char *res = NULL;
    scheme s = nk ? in_order[first[best]].s : S_BCRYPT;
    if (nk == 0) {
        char setting[CRYPT_GENSALT_OUTPUT_SIZE];
        if (crypt_gensalt_rn("$2b$", JWTX_USERS_COST_DEFAULT, NULL, 0, setting, sizeof setting) !=
            NULL)
            res = crypt_rn(pw, setting, cd, (int)sizeof *cd);
    } else if (s == S_APR1) {
        char salt[9];
        for (size_t i = 0; i < 8; i++)
            salt[i] = itoa64[rnd[i] & 0x3f];
        salt[8] = '\0';
        if (jwtxp_users_md5crypt(pw, salt, "$apr1$", out, sizeof out) == 0)
            res = out;
    } else if (s == S_SHA1) {
        if (sha1_b64(pw, out, sizeof out) == 0)
            res = out;
    } else {
        /* Same parameters and salt as that user's hash, another password. */
        res = crypt_rn(pw, in_order[first[best]].hash, cd, (int)sizeof *cd);
    }
    if (res != NULL && res[0] != '*') {
        db->dummy = strdup(res);
        db->dummy_s = s;
        rc = db->dummy ? 0 : -1;
    }
    OPENSSL_cleanse(pw, sizeof pw);
    OPENSSL_cleanse(rnd, sizeof rnd);
    OPENSSL_cleanse(out, sizeof out);
    OPENSSL_cleanse(cd, sizeof *cd);
    return rc;
}

/* Parses an htpasswd file's text into db. Lines: "user:hash[:ignored]",
 * '#' in the first column starts a comment, blank lines are skipped. On
 * failure returns -1 with err "PATH:LINE: reason" (JWTX_ERR_CONFIG). weak
 * receives a log line when weak hashes were found (empty otherwise). */
static int parse_htpasswd(const char *path, const char *text, size_t len, pwdb *db,
                          struct crypt_data *cd, char *weak, size_t weak_size, jwtx_error *err)
{
    pwdb tmp = {0};
    size_t cap = 0, nweak = 0;
    unsigned line = 0;
    char why[256];
    const char *p = text, *end = text + len;
    char names[512] = "";
    size_t wl = 0;
    weak[0] = '\0';

    while (p < end) {
        line++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *next = nl ? nl + 1 : end;
        size_t n = (size_t)(le - p);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (n > JWTX_USERS_LINE_MAX) {
            jwtx_error_set(err, JWTX_ERR_CONFIG, "%s:%u: line longer than %d bytes", path, line,
                           JWTX_USERS_LINE_MAX);
            goto fail;
        }
        if (memchr(p, '\0', n) != NULL) {
            jwtx_error_set(err, JWTX_ERR_CONFIG, "%s:%u: NUL byte in line", path, line);
            goto fail;
        }
        size_t k = 0;
        while (k < n && (p[k] == ' ' || p[k] == '\t'))
            k++;
        if (k == n || p[0] == '#') {
            p = next;
            continue;
        }
        const char *colon = memchr(p, ':', n);
        if (colon == NULL) {
            jwtx_error_set(err, JWTX_ERR_CONFIG, "%s:%u: expected USER:HASH (no ':' found)", path,
                           line);
            goto fail;
        }
        size_t nl_len = (size_t)(colon - p);
        const char *np = name_problem(p, nl_len);
        if (np != NULL) {
            jwtx_error_set(err, JWTX_ERR_CONFIG, "%s:%u: %s", path, line, np);
            goto fail;
        }
        /* As Apache does, the hash ends at the next ':' (later fields are
         * ignored). */
        const char *h = colon + 1, *he = p + n;
        const char *c2 = memchr(h, ':', (size_t)(he - h));
        if (c2 != NULL)
            he = c2;
        size_t hl = (size_t)(he - h);
        char *blob = malloc(nl_len + 1 + hl + 1);
        if (blob == NULL) {
            jwtx_error_set(err, JWTX_ERR_CONFIG, "%s:%u: out of memory", path, line);
            goto fail;
        }
        memcpy(blob, p, nl_len);
        blob[nl_len] = '\0';
        memcpy(blob + nl_len + 1, h, hl);
        blob[nl_len + 1 + hl] = '\0';
        entry e = {blob, blob + nl_len + 1, hl, line, S_BCRYPT};
        if (classify(e.hash, &e.s, why, sizeof why) != 0) {
            OPENSSL_cleanse(blob, nl_len + 1 + hl);
            free(blob);
            jwtx_error_set(err, JWTX_ERR_CONFIG, "%s:%u: %s", path, line, why);
            goto fail;
        }
        if (tmp.n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            entry *nv = realloc(tmp.v, nc * sizeof *nv);
            if (nv == NULL) {
                free(blob);
                jwtx_error_set(err, JWTX_ERR_CONFIG, "%s:%u: out of memory", path, line);
                goto fail;
            }
            tmp.v = nv;
            cap = nc;
        }
        tmp.v[tmp.n++] = e;
        if (schemes[e.s].weak) {
            char pb[72];
            if (nweak < 5 && wl < sizeof names) {
                int w = snprintf(names + wl, sizeof names - wl, "%s%s (%s)", nweak ? ", " : "",
                                 printable(e.name, pb, sizeof pb), schemes[e.s].label);
                wl = w < 0 ? sizeof names : wl + (size_t)w;
            }
            nweak++;
        }
        p = next;
    }

    if (make_dummy(&tmp, tmp.v, tmp.n, cd) != 0) {
        jwtx_error_set(err, JWTX_ERR_CONFIG, "%s: cannot make the dummy hash", path);
        goto fail;
    }
    if (tmp.n > 1)
        qsort(tmp.v, tmp.n, sizeof *tmp.v, entry_cmp);
    for (size_t i = 1; i < tmp.n; i++) {
        if (strcmp(tmp.v[i].name, tmp.v[i - 1].name) == 0) {
            char pb[72];
            jwtx_error_set(err, JWTX_ERR_CONFIG, "%s:%u: duplicate user '%s' (first on line %u)",
                           path, tmp.v[i].line, printable(tmp.v[i].name, pb, sizeof pb),
                           tmp.v[i - 1].line);
            goto fail;
        }
    }
    if (nweak > 0)
        snprintf(weak, weak_size,
                 "%s: %zu user%s with weak password hashes: %s%s; please rehash with bcrypt: "
                 "jwtx passwd %s USER",
                 path, nweak, nweak == 1 ? "" : "s", names, nweak > 5 ? " and more" : "", path);
    *db = tmp;
    return 0;
fail:
    pwdb_clear(&tmp);
    return -1;
}

/* --------------------------------------------------------- the handle */

struct jwtx_users {
    char *pw_path, *claims_path;
    jwtx_log_fn log;
    void *log_ctx;
    struct crypt_data *cd;
    pwdb db;
    file_id pw_seen; /* the last version of the users file we tried */
    json_t *claims;
    file_id cl_seen;
    /* A reload failed: fail closed until a good version is read (no login,
     * no user exists, no claims), rather than keep users an edit removed. */
    bool pw_broken, cl_broken;
};

static void ulog(jwtx_users *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ulog(jwtx_users *u, const char *fmt, ...)
{
    if (u->log == NULL)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    u->log(buf, u->log_ctx);
}

static int load_users(jwtx_users *u, jwtx_error *err)
{
    size_t len;
    file_id id;
    char *text = read_file(u->pw_path, JWTX_USERS_FILE_MAX, &len, &id, err);
    if (text == NULL)
        return -1;
    pwdb db;
    char weak[1024];
    int rc = parse_htpasswd(u->pw_path, text, len, &db, u->cd, weak, sizeof weak, err);
    OPENSSL_cleanse(text, len);
    free(text);
    if (rc != 0)
        return -1;
    pwdb_clear(&u->db);
    u->db = db;
    u->pw_seen = id;
    if (weak[0] != '\0')
        ulog(u, "users: %s", weak);
    return 0;
}

static int load_claims(jwtx_users *u, jwtx_error *err)
{
    size_t len;
    file_id id;
    char *text = read_file(u->claims_path, JWTX_USERS_FILE_MAX, &len, &id, err);
    if (text == NULL)
        return -1;
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    free(text);
    if (root == NULL) {
        if (je.line > 0)
            return jwtx_error_set(err, JWTX_ERR_CONFIG, "%s:%d:%d: %s", u->claims_path, je.line,
                                  je.column, je.text);
        return jwtx_error_set(err, JWTX_ERR_CONFIG, "%s: %s", u->claims_path, je.text);
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return jwtx_error_set(err, JWTX_ERR_CONFIG,
                              "%s: expected a JSON object mapping each user to an object of claims",
                              u->claims_path);
    }
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v)
    {
        if (!json_is_object(v)) {
            char pb[72];
            jwtx_error_set(err, JWTX_ERR_CONFIG,
                           "%s: the claims of user '%s' are not a JSON object", u->claims_path,
                           printable(k, pb, sizeof pb));
            json_decref(root);
            return -1;
        }
    }
    json_decref(u->claims);
    u->claims = root;
    u->cl_seen = id;
    return 0;
}

/* Re-reads the files whose identity changed since the version last tried.
 * A failure is logged once per version, and the handle fails closed until a
 * good version is read: an edit that removed a user (or a role) and broke a
 * line must not leave the removed user able to log in. */
static void refresh(jwtx_users *u)
{
    file_id id;
    stat_id(u->pw_path, &id);
    if (!file_id_eq(&id, &u->pw_seen)) {
        jwtx_error e;
        jwtx_error_clear(&e);
        if (load_users(u, &e) != 0) {
            u->pw_seen = id;
            u->pw_broken = true;
            ulog(u, "users: %s; refusing every login until the file is fixed",
                 jwtx_error_message(&e));
        } else {
            u->pw_broken = false;
        }
    }
    if (u->claims_path == NULL)
        return;
    stat_id(u->claims_path, &id);
    if (!file_id_eq(&id, &u->cl_seen)) {
        jwtx_error e;
        jwtx_error_clear(&e);
        if (load_claims(u, &e) != 0) {
            u->cl_seen = id;
            u->cl_broken = true;
            ulog(u, "users: %s; refusing every login and token refresh until the file is fixed",
                 jwtx_error_message(&e));
        } else {
            u->cl_broken = false;
        }
    }
}

int jwtx_users_open(const char *htpasswd_path, const char *claims_path, jwtx_log_fn log,
                    void *log_ctx, jwtx_users **out, jwtx_error *err)
{
    if (htpasswd_path == NULL || out == NULL)
        return jwtx_error_set(err, JWTX_ERR_CONFIG, "users: no users file given");
    jwtx_users *u = calloc(1, sizeof *u);
    if (u == NULL)
        return jwtx_error_set(err, JWTX_ERR_INTERNAL, "users: out of memory");
    u->log = log;
    u->log_ctx = log_ctx;
    u->pw_path = strdup(htpasswd_path);
    u->claims_path = claims_path ? strdup(claims_path) : NULL;
    /* struct crypt_data is about 32 KiB: keep it off the stack. */
    u->cd = calloc(1, sizeof *u->cd);
    if (u->pw_path == NULL || (claims_path && u->claims_path == NULL) || u->cd == NULL) {
        jwtx_users_free(u);
        return jwtx_error_set(err, JWTX_ERR_INTERNAL, "users: out of memory");
    }
    if (load_users(u, err) != 0 || (u->claims_path != NULL && load_claims(u, err) != 0)) {
        jwtx_users_free(u);
        return -1;
    }
    *out = u;
    return 0;
}

void jwtx_users_free(jwtx_users *u)
{
    if (u == NULL)
        return;
    pwdb_clear(&u->db);
    json_decref(u->claims);
    if (u->cd != NULL) {
        OPENSSL_cleanse(u->cd, sizeof *u->cd);
        free(u->cd);
    }
    free(u->pw_path);
    free(u->claims_path);
    free(u);
}

static const entry *find(const jwtx_users *u, const char *user)
{
    size_t lo = 0, hi = u->db.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(user, u->db.v[mid].name);
        if (c == 0)
            return &u->db.v[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

int jwtx_users_check(jwtx_users *u, const char *user, const char *password)
{
    if (u == NULL || password == NULL ||
        strnlen(password, JWTX_USERS_PASSWORD_MAX + 1) > JWTX_USERS_PASSWORD_MAX)
        return -1;
    refresh(u);
    const entry *e = NULL;
    if (user != NULL && strnlen(user, JWTX_USERS_NAME_MAX + 1) <= JWTX_USERS_NAME_MAX)
        e = find(u, user);
    if (e == NULL || u->pw_broken || u->cl_broken) {
        /* Spend the time a wrong password would, then fail. */
        if (u->db.dummy != NULL)
            (void)verify_hash(u->cd, u->db.dummy_s, u->db.dummy, password);
        return -1;
    }
    return verify_hash(u->cd, e->s, e->hash, password);
}

bool jwtx_users_exists(jwtx_users *u, const char *user)
{
    if (u == NULL || user == NULL || strnlen(user, JWTX_USERS_NAME_MAX + 1) > JWTX_USERS_NAME_MAX)
        return false;
    refresh(u);
    return !u->pw_broken && find(u, user) != NULL;
}

const json_t *jwtx_users_claims(jwtx_users *u, const char *user)
{
    const json_t *c = NULL;
    return jwtx_users_claims_for(u, user, &c) == 0 ? c : NULL;
}

int jwtx_users_claims_for(jwtx_users *u, const char *user, const json_t **out)
{
    if (out == NULL)
        return -1;
    *out = NULL;
    if (u == NULL || user == NULL)
        return -1;
    refresh(u);
    if (u->cl_broken)
        return -1;
    if (u->claims != NULL)
        *out = json_object_get(u->claims, user);
    return 0;
}

size_t jwtx_users_count(jwtx_users *u)
{
    if (u == NULL)
        return 0;
    refresh(u);
    return u->db.n;
}

/* For tests: the dummy hash an unknown user is checked against. */
const char *jwtxp_users_dummy(const jwtx_users *u);
const char *jwtxp_users_dummy(const jwtx_users *u)
{
    return u ? u->db.dummy : NULL;
}

/* ------------------------------------------------------------- writing */

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Makes "$2y$COST$..." for password into out (at least CRYPT_OUTPUT_SIZE). */
static int bcrypt_hash(const char *password, int cost, char *out, size_t out_size)
{
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data *cd = calloc(1, sizeof *cd);
    if (cd == NULL)
        return -1;
    int rc = -1;
    if (crypt_gensalt_rn("$2b$", (unsigned long)cost, NULL, 0, setting, sizeof setting) != NULL) {
        const char *h = crypt_rn(password, setting, cd, (int)sizeof *cd);
        if (h != NULL && h[0] != '*' && strlen(h) == 60 && strlen(h) < out_size) {
            memcpy(out, h, 61);
            out[2] = 'y'; /* as htpasswd -B writes; $2y$ and $2b$ are the same algorithm */
            rc = 0;
        }
    }
    OPENSSL_cleanse(cd, sizeof *cd);
    free(cd);
    return rc;
}

int jwtx_users_put(const char *path, const char *user, const char *password, int cost,
                   bool *updated, jwtx_error *err)
{
    if (path == NULL || user == NULL || password == NULL)
        return jwtx_error_set(err, JWTX_ERR_CONFIG, "passwd: missing argument");
    const char *np = name_problem(user, strnlen(user, JWTX_USERS_NAME_MAX + 1));
    if (np != NULL)
        return jwtx_error_set(err, JWTX_ERR_CONFIG, "passwd: %s", np);
    if (user[0] == '#')
        return jwtx_error_set(err, JWTX_ERR_CONFIG,
                              "passwd: a user name may not start with '#' (a comment)");
    size_t pl = strnlen(password, JWTX_USERS_PASSWORD_MAX + 1);
    if (pl == 0)
        return jwtx_error_set(err, JWTX_ERR_CONFIG, "passwd: empty password");
    if (pl > JWTX_USERS_PASSWORD_MAX)
        return jwtx_error_set(err, JWTX_ERR_CONFIG, "passwd: password longer than %d bytes",
                              JWTX_USERS_PASSWORD_MAX);
    if (cost < JWTX_USERS_COST_MIN || cost > JWTX_USERS_COST_MAX)
        return jwtx_error_set(err, JWTX_ERR_CONFIG, "passwd: bcrypt cost must be %d to %d",
                              JWTX_USERS_COST_MIN, JWTX_USERS_COST_MAX);

    /* Follow a symbolic link so that its target is replaced, not the link. */
    char *real = NULL;
    struct stat lst;
    if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
        real = realpath(path, NULL);
        if (real == NULL)
            return jwtx_error_set(err, JWTX_ERR_IO, "%s: %s", path, strerror(errno));
        path = real;
    }

    int rc = -1;
    char *text = NULL, *tmp = NULL;
    size_t len = 0;
    jwtx_buf out;
    jwtx_buf_init(&out);
    int fd = -1;
    struct stat st;
    bool exists = false;
    mode_t mode = 0600;
    file_id id;

    if (stat(path, &st) == 0) {
        exists = true;
        text = read_file(path, JWTX_USERS_FILE_MAX, &len, &id, err);
        if (text == NULL)
            goto done;
        mode = st.st_mode & 07777;
    } else if (errno != ENOENT) {
        jwtx_error_set(err, JWTX_ERR_IO, "%s: %s", path, strerror(errno));
        goto done;
    }

    char hash[CRYPT_OUTPUT_SIZE];
    if (bcrypt_hash(password, cost, hash, sizeof hash) != 0) {
        jwtx_error_set(err, JWTX_ERR_INTERNAL, "passwd: bcrypt hashing failed");
        goto done;
    }

    size_t ul = strlen(user);
    bool found = false;
    bool crlf = false;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *next = nl ? nl + 1 : end;
        size_t n = (size_t)(next - p);
        crlf = nl != NULL && nl > p && nl[-1] == '\r';
        bool mine = p[0] != '#' && n > ul && p[ul] == ':' && memcmp(p, user, ul) == 0;
        if (!mine) {
            jwtx_buf_append(&out, p, n);
        } else if (!found) {
            found = true;
            jwtx_buf_append(&out, user, ul);
            jwtx_buf_append(&out, ":", 1);
            jwtx_buf_append(&out, hash, strlen(hash));
            /* keep the line's own ending */
            jwtx_buf_append(&out, crlf ? "\r\n" : nl ? "\n" : "", crlf ? 2 : nl ? 1 : 0);
        } /* else: a later line for the same user is dropped */
        p = next;
    }
    if (!found) {
        if (len > 0 && text[len - 1] != '\n')
            jwtx_buf_append(&out, crlf ? "\r\n" : "\n", crlf ? 2 : 1);
        jwtx_buf_append(&out, user, ul);
        jwtx_buf_append(&out, ":", 1);
        jwtx_buf_append(&out, hash, strlen(hash));
        jwtx_buf_append(&out, crlf ? "\r\n" : "\n", crlf ? 2 : 1);
    }
    if (out.failed) {
        jwtx_error_set(err, JWTX_ERR_INTERNAL, "passwd: out of memory");
        goto done;
    }

    size_t plen = strlen(path);
    tmp = malloc(plen + sizeof ".jwtx-XXXXXX");
    if (tmp == NULL) {
        jwtx_error_set(err, JWTX_ERR_INTERNAL, "passwd: out of memory");
        goto done;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".jwtx-XXXXXX", sizeof ".jwtx-XXXXXX");
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        jwtx_error_set(err, JWTX_ERR_IO, "%s: cannot create a temporary file: %s", tmp,
                       strerror(errno));
        free(tmp);
        tmp = NULL;
        goto done;
    }
    if (exists && (st.st_uid != geteuid() || st.st_gid != getegid()))
        (void)!fchown(fd, st.st_uid, st.st_gid); /* only root may; otherwise we own it */
    if (fchmod(fd, mode) != 0 || write_all(fd, out.data ? out.data : "", out.len) != 0 ||
        fsync(fd) != 0) {
        jwtx_error_set(err, JWTX_ERR_IO, "%s: %s", tmp, strerror(errno));
        goto done;
    }
    if (close(fd) != 0) {
        fd = -1;
        jwtx_error_set(err, JWTX_ERR_IO, "%s: %s", tmp, strerror(errno));
        goto done;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        jwtx_error_set(err, JWTX_ERR_IO, "%s: cannot replace: %s", path, strerror(errno));
        goto done;
    }
    free(tmp);
    tmp = NULL;
    /* Make the rename durable too. */
    char *slash = strrchr(path, '/');
    char *dir =
        slash == NULL ? strdup(".") : strndup(path, slash == path ? 1 : (size_t)(slash - path));
    if (dir != NULL) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
    if (updated != NULL)
        *updated = found;
    rc = 0;
done:
    if (fd >= 0)
        close(fd);
    if (tmp != NULL) {
        unlink(tmp);
        free(tmp);
    }
    jwtx_buf_wipe(&out); /* it holds the file, as text does */
    if (text != NULL) {
        OPENSSL_cleanse(text, len);
        free(text);
    }
    free(real);
    return rc;
}

int jwtx_users_set_password(const char *path, const char *user, const char *password, int cost,
                            jwtx_error *err)
{
    return jwtx_users_put(path, user, password, cost, NULL, err);
}
