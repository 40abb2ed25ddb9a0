/*
 * cu.h — the few lines every CUnit program shares.
 *
 * A test file defines its tests and one table, then JWTX_CU_MAIN("module",
 * tests) expands to main(): one suite, basic mode, verbose, and an exit code
 * that is non-zero when any test failed.
 */
#ifndef JWTX_TESTS_CU_H
#define JWTX_TESTS_CU_H

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct jwtx_cu_test {
    const char *name;
    void (*fn)(void);
} jwtx_cu_test;

static inline int jwtx_cu_run(const char *suite, const jwtx_cu_test *tests, int (*init)(void),
                              int (*cleanup)(void))
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite(suite, init, cleanup);
    if (s == NULL)
        return 2;
    for (const jwtx_cu_test *t = tests; t->name; t++)
        if (CU_add_test(s, t->name, t->fn) == NULL)
            return 2;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_tests_failed();
    unsigned ran = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    return (failed != 0 || ran == 0) ? 1 : 0;
}

#define JWTX_CU_MAIN(suite, tests) \
    int main(void) { return jwtx_cu_run(suite, tests, NULL, NULL); }
#define JWTX_CU_MAIN_FIXTURE(suite, tests, init, cleanup) \
    int main(void) { return jwtx_cu_run(suite, tests, init, cleanup); }

/* Compare a buffer with a C string, printing both on failure. */
#define JWTX_ASSERT_STR(actual, expected)                                                   \
    do {                                                                                    \
        const char *a_ = (actual), *e_ = (expected);                                        \
        if (!(a_ && e_ && strcmp(a_, e_) == 0))                                             \
            fprintf(stderr, "\n  %s:%d: got [%s]\n  expected [%s]\n", __FILE__, __LINE__, \
                    a_ ? a_ : "(null)", e_ ? e_ : "(null)");                               \
        CU_ASSERT_TRUE(a_ && e_ && strcmp(a_, e_) == 0);                                    \
    } while (0)

/* A fixture file (paths are relative to the source root, where the tests
 * run), NUL-terminated; at most 1 MiB is read. Its length goes to *len when
 * len is not NULL. Returns NULL, with a note on stderr, when the file cannot
 * be opened. The caller frees. */
static inline char *jwtx_cu_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "\n  cannot open %s (run from the source root)\n", path);
        return NULL;
    }
    char *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

#endif
