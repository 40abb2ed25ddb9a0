/*
 * cmd_keygen.c — `jwtx keygen ALG --out DIR [--curve Ed25519|Ed448]`.
 *
 * Makes the key material for one JWT_ALGORITHM and prints the conf lines
 * that use it. HS256/384/512: DIR/secret.key, 64 random bytes written as
 * base64url text. RS* and PS*: a 3072-bit RSA key; ES256/384/512: a key on
 * the matching curve; EdDSA: Ed25519 (or Ed448 with --curve Ed448). Key
 * pairs are written as DIR/private.pem (PKCS#8) and DIR/public.pem (SPKI).
 * Secret files are created with mode 0600 and never overwritten; DIR is
 * created (0700, with its parents) when missing. Every generated key is loaded back through
 * the library and checked against ALG before the command succeeds.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool.h"

#define RSA_BITS 3072
#define SECRET_BYTES 64

static int usage(void)
{
    fprintf(stderr, "usage: jwtx keygen ALG --out DIR [--curve Ed25519|Ed448]\n"
                    "  ALG: HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512\n"
                    "       ES256 ES384 ES512 EdDSA\n");
    return 2;
}

/* Writes len bytes to a new file (never replacing one) with the given mode. */
static int write_new_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        fprintf(stderr, "jwtx: %s: %s%s\n", path, strerror(errno),
                errno == EEXIST ? " (refusing to overwrite an existing key)" : "");
        return -1;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            fprintf(stderr, "jwtx: %s: %s\n", path, strerror(errno));
            close(fd);
            unlink(path);
            return -1;
        }
        p += w;
        left -= (size_t)w;
    }
    /* open() applied the umask; the mode asked for is the one wanted. */
    if (fchmod(fd, mode) != 0 || fsync(fd) != 0 || close(fd) != 0) {
        fprintf(stderr, "jwtx: %s: %s\n", path, strerror(errno));
        unlink(path);
        return -1;
    }
    return 0;
}

/* Serialises a key with one of the PEM writers into a new string. */
static char *pem_of(EVP_PKEY *pk, int private_part, size_t *len)
{
    BIO *bio = BIO_new(BIO_s_secmem());
    if (bio == NULL)
        return NULL;
    int ok = private_part ? PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL)
                          : PEM_write_bio_PUBKEY(bio, pk);
    char *mem = NULL;
    long n = BIO_get_mem_data(bio, &mem);
    char *out = ok == 1 && n > 0 ? malloc((size_t)n + 1) : NULL;
    if (out != NULL) {
        memcpy(out, mem, (size_t)n);
        out[n] = '\0';
        *len = (size_t)n;
    }
    BIO_free(bio); /* secure-memory BIO: wiped on free */
    return out;
}

/* Loads pem back through the library and checks it serves alg. */
static int self_check(const char *pem, size_t len, jwtx_alg alg, const char *what)
{
    jwtx_error e;
    jwtx_error_clear(&e);
    jwtx_key *k = jwtx_key_new_pem(pem, len, &e);
    int rc = k != NULL ? jwtx_key_fits(k, alg, &e) : -1;
    jwtx_key_free(k);
    if (rc != 0)
        fprintf(stderr, "jwtx: generated %s does not load: %s\n", what, jwtx_error_message(&e));
    return rc;
}

/* dir "/" name into out (PATH_MAX + 32 bytes); -1 when it does not fit. */
static int join(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, PATH_MAX + 32, "%s/%s", dir, name);
    if (n < 0 || n >= PATH_MAX) {
        fprintf(stderr, "jwtx: %s: path too long\n", dir);
        return -1;
    }
    return 0;
}

/* Creates dir and its missing parents (0700), like mkdir -p. */
static int ensure_dir(const char *dir)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) {
        fprintf(stderr, "jwtx: %s: path too long\n", dir);
        return -1;
    }
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        struct stat st;
        if (stat(buf, &st) != 0) {
            if (errno != ENOENT || mkdir(buf, 0700) != 0) {
                fprintf(stderr, "jwtx: %s: %s\n", buf, strerror(errno));
                return -1;
            }
        } else if (!S_ISDIR(st.st_mode)) {
            fprintf(stderr, "jwtx: %s is not a directory\n", buf);
            return -1;
        }
        *p = c;
        if (c == '\0')
            return 0;
    }
}

static int gen_secret(const char *dir, jwtx_alg alg)
{
    unsigned char raw[SECRET_BYTES];
    char text[128];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        fprintf(stderr, "jwtx: the random generator failed\n");
        return 1;
    }
    size_t n = jwtx_b64url_encode(raw, sizeof raw, text);
    OPENSSL_cleanse(raw, sizeof raw);
    text[n++] = '\n';
    char path[PATH_MAX + 32];
    int rc = join(path, dir, "secret.key") != 0 ? -1 : write_new_file(path, text, n, 0600);
    OPENSSL_cleanse(text, sizeof text);
    if (rc != 0)
        return 1;
    printf("# %s: a %d-byte random secret, base64url text (keep it private)\n", path,
           SECRET_BYTES);
    printf("JWT_ALGORITHM = \"%s\"\n", jwtx_alg_name(alg));
    printf("JWTX_SECRET_KEY_FILE = \"%s\"\n", path);
    return 0;
}

static int gen_pair(const char *dir, jwtx_alg alg, const char *curve)
{
    EVP_PKEY *pk = NULL;
    const char *what;
    switch (alg) {
    case JWTX_ALG_ES256:
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        what = "EC P-256";
        break;
    case JWTX_ALG_ES384:
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
        what = "EC P-384";
        break;
    case JWTX_ALG_ES512:
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
        what = "EC P-521";
        break;
    case JWTX_ALG_EDDSA:
        pk = EVP_PKEY_Q_keygen(NULL, NULL, strcmp(curve, "Ed448") == 0 ? "ED448" : "ED25519");
        what = strcmp(curve, "Ed448") == 0 ? "Ed448" : "Ed25519";
        break;
    default:
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)RSA_BITS);
        what = "RSA 3072-bit";
        break;
    }
    if (pk == NULL) {
        fprintf(stderr, "jwtx: key generation failed\n");
        return 1;
    }
    size_t plen = 0, qlen = 0;
    char *priv = pem_of(pk, 1, &plen);
    char *pub = pem_of(pk, 0, &qlen);
    EVP_PKEY_free(pk);
    int rc = 1;
    char ppath[PATH_MAX + 32], qpath[PATH_MAX + 32];
    if (join(ppath, dir, "private.pem") != 0 || join(qpath, dir, "public.pem") != 0)
        goto out;
    if (priv == NULL || pub == NULL) {
        fprintf(stderr, "jwtx: cannot serialise the key\n");
        goto out;
    }
    if (self_check(priv, plen, alg, "private key") != 0 ||
        self_check(pub, qlen, alg, "public key") != 0)
        goto out;
    if (write_new_file(ppath, priv, plen, 0600) != 0)
        goto out;
    if (write_new_file(qpath, pub, qlen, 0644) != 0) {
        unlink(ppath);
        goto out;
    }
    printf("# %s key pair: %s (PKCS#8, keep it private), %s (SPKI)\n", what, ppath, qpath);
    printf("JWT_ALGORITHM = \"%s\"\n", jwtx_alg_name(alg));
    printf("JWTX_PRIVATE_KEY_FILE = \"%s\"\n", ppath);
    printf("JWTX_PUBLIC_KEY_FILE = \"%s\"\n", qpath);
    rc = 0;
out:
    if (priv != NULL) {
        OPENSSL_cleanse(priv, plen);
        free(priv);
    }
    free(pub);
    return rc;
}

int cmd_keygen(int argc, char **argv)
{
    const char *algname = NULL, *out = NULL, *curve = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strncmp(argv[i], "--out=", 6) == 0)
            out = argv[i] + 6;
        else if (strcmp(argv[i], "--curve") == 0 && i + 1 < argc)
            curve = argv[++i];
        else if (strncmp(argv[i], "--curve=", 8) == 0)
            curve = argv[i] + 8;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return usage(), 0;
        else if (argv[i][0] != '-' && algname == NULL)
            algname = argv[i];
        else
            return usage();
    }
    if (algname == NULL || out == NULL || out[0] == '\0')
        return usage();
    jwtx_alg alg = jwtx_alg_parse(algname, strlen(algname));
    if (alg == JWTX_ALG_UNKNOWN) {
        fprintf(stderr, "jwtx: unknown algorithm \"%s\"\n", algname);
        return usage();
    }
    if (curve != NULL && (alg != JWTX_ALG_EDDSA ||
                          (strcmp(curve, "Ed25519") != 0 && strcmp(curve, "Ed448") != 0))) {
        fprintf(stderr, "jwtx: --curve is Ed25519 or Ed448, and only for EdDSA (ES algorithms "
                        "fix their curve)\n");
        return 2;
    }
    if (ensure_dir(out) != 0)
        return 1;
    char dir[PATH_MAX];
    if (realpath(out, dir) == NULL) {
        fprintf(stderr, "jwtx: %s: %s\n", out, strerror(errno));
        return 1;
    }
    if (jwtx_alg_is_hmac(alg))
        return gen_secret(dir, alg);
    return gen_pair(dir, alg, curve ? curve : "Ed25519");
}
