/*
 * test_regulate.c — regulation of failed logins (regulate.h) on a test
 * clock: the sliding window and its edge, bans and their end, the three
 * keys (pair, address spraying, one user from many addresses), limits of 0,
 * a success clearing the pair only, long user names, the in-memory back
 * end's eviction when full, a back end that cannot answer, and the
 * regulator a config makes.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwtx/regulate.h"
#include "cu.h"

static long long clock_now;

static long long test_clock(void *ctx)
{
    (void)ctx;
    return clock_now;
}

static jwtx_regulator *make(long long find, long long ban, long long pair, long long addr,
                            long long user, size_t max_keys)
{
    jwtx_regulate_limits lim = {find, ban, {pair, addr, user}};
    void *ctx = jwtx_regulate_memory_new(max_keys);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
    jwtx_regulator *r = jwtx_regulate_new(&lim, jwtx_regulate_memory_backend(), ctx);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    jwtx_regulate_set_clock(r, test_clock, NULL);
    clock_now = 1000000;
    return r;
}

static bool banned(jwtx_regulator *r, const char *user, const char *addr)
{
    jwtx_regulate_verdict v;
    CU_ASSERT_EQUAL(jwtx_regulate_check(r, user, addr, &v), 0);
    return v.banned;
}

static unsigned fail(jwtx_regulator *r, const char *user, const char *addr)
{
    jwtx_regulate_verdict v;
    CU_ASSERT_EQUAL(jwtx_regulate_failure(r, user, addr, &v), 0);
    return v.started;
}

#define PAIR (1u << JWTX_REG_PAIR)
#define ADDR (1u << JWTX_REG_ADDRESS)
#define USER (1u << JWTX_REG_USER)

static void test_window(void)
{
    jwtx_regulator *r = make(10, 100, 3, 0, 0, 0);
    long long t0 = clock_now;
    jwtx_regulate_verdict v;
    CU_ASSERT_EQUAL(jwtx_regulate_failure(r, "bob", "192.0.2.1", &v), 0); /* t0 */
    CU_ASSERT_EQUAL(v.count[JWTX_REG_PAIR], 1);
    clock_now = t0 + 5;
    CU_ASSERT_EQUAL(jwtx_regulate_failure(r, "bob", "192.0.2.1", &v), 0);
    CU_ASSERT_EQUAL(v.count[JWTX_REG_PAIR], 2);
    /* at t0+10 the first failure is FIND_TIME old: out of the window */
    clock_now = t0 + 10;
    CU_ASSERT_EQUAL(jwtx_regulate_failure(r, "bob", "192.0.2.1", &v), 0);
    CU_ASSERT_EQUAL(v.count[JWTX_REG_PAIR], 2);
    CU_ASSERT_EQUAL(v.started, 0);
    CU_ASSERT_FALSE(banned(r, "bob", "192.0.2.1"));
    /* t0+5, t0+10, t0+14: three within 10 s: banned */
    clock_now = t0 + 14;
    CU_ASSERT_EQUAL(jwtx_regulate_failure(r, "bob", "192.0.2.1", &v), 0);
    CU_ASSERT_EQUAL(v.count[JWTX_REG_PAIR], 3);
    CU_ASSERT_EQUAL(v.started, PAIR);
    CU_ASSERT_EQUAL(v.started_until, t0 + 114);
    /* the other keys are off: no count */
    CU_ASSERT_EQUAL(v.count[JWTX_REG_ADDRESS], 0);
    CU_ASSERT_EQUAL(v.count[JWTX_REG_USER], 0);
    jwtx_regulate_free(r);

    /* slow guessing never reaches the limit */
    r = make(10, 100, 3, 0, 0, 0);
    for (int i = 0; i < 50; i++) {
        CU_ASSERT_EQUAL(fail(r, "bob", "192.0.2.1"), 0);
        clock_now += 5; /* two per window */
    }
    CU_ASSERT_FALSE(banned(r, "bob", "192.0.2.1"));
    jwtx_regulate_free(r);
}

static void test_ban(void)
{
    jwtx_regulator *r = make(600, 900, 5, 0, 0, 0);
    long long t0 = clock_now;
    for (int i = 1; i <= 4; i++) {
        CU_ASSERT_EQUAL(fail(r, "bob", "192.0.2.1"), 0);
        CU_ASSERT_FALSE(banned(r, "bob", "192.0.2.1"));
    }
    CU_ASSERT_EQUAL(fail(r, "bob", "192.0.2.1"), PAIR); /* the 5th starts the ban */
    jwtx_regulate_verdict v;
    CU_ASSERT_EQUAL(jwtx_regulate_check(r, "bob", "192.0.2.1", &v), 0);
    CU_ASSERT_TRUE(v.banned);
    CU_ASSERT_EQUAL(v.kind, JWTX_REG_PAIR);
    CU_ASSERT_EQUAL(v.until, t0 + 900);
    CU_ASSERT_EQUAL(v.retry_after, 900);
    clock_now = t0 + 899;
    CU_ASSERT_EQUAL(jwtx_regulate_check(r, "bob", "192.0.2.1", &v), 0);
    CU_ASSERT_TRUE(v.banned);
    CU_ASSERT_EQUAL(v.retry_after, 1);
    /* other pairs are not concerned */
    CU_ASSERT_FALSE(banned(r, "bob", "192.0.2.2"));
    CU_ASSERT_FALSE(banned(r, "alice", "192.0.2.1"));
    /* the ban ends at until */
    clock_now = t0 + 900;
    CU_ASSERT_FALSE(banned(r, "bob", "192.0.2.1"));
    /* and the pair starts from zero: four more failures are not a ban */
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(fail(r, "bob", "192.0.2.1"), 0);
    CU_ASSERT_FALSE(banned(r, "bob", "192.0.2.1"));
    CU_ASSERT_EQUAL(fail(r, "bob", "192.0.2.1"), PAIR);
    CU_ASSERT_TRUE(banned(r, "bob", "192.0.2.1"));
    jwtx_regulate_free(r);
}

static void test_three_keys(void)
{
    /* spraying user names from one address bans the address */
    jwtx_regulator *r = make(600, 900, 5, 20, 100, 0);
    char name[32];
    for (int i = 1; i <= 19; i++) {
        snprintf(name, sizeof name, "user%d", i);
        CU_ASSERT_EQUAL(fail(r, name, "198.51.100.7"), 0);
    }
    CU_ASSERT_FALSE(banned(r, "someone", "198.51.100.7"));
    CU_ASSERT_EQUAL(fail(r, "user20", "198.51.100.7"), ADDR);
    CU_ASSERT_TRUE(banned(r, "someone", "198.51.100.7")); /* any name from there */
    CU_ASSERT_FALSE(banned(r, "user1", "198.51.100.8"));  /* the names elsewhere: fine */
    jwtx_regulate_free(r);

    /* one user from many addresses bans the user everywhere */
    r = make(600, 900, 5, 20, 100, 0);
    char addr[32];
    for (int i = 1; i <= 99; i++) {
        snprintf(addr, sizeof addr, "203.0.113.%d", i);
        CU_ASSERT_EQUAL(fail(r, "admin", addr), 0);
    }
    CU_ASSERT_FALSE(banned(r, "admin", "192.0.2.99"));
    CU_ASSERT_EQUAL(fail(r, "admin", "203.0.113.100"), USER);
    jwtx_regulate_verdict v;
    CU_ASSERT_EQUAL(jwtx_regulate_check(r, "admin", "192.0.2.99", &v), 0);
    CU_ASSERT_TRUE(v.banned);
    CU_ASSERT_EQUAL(v.kind, JWTX_REG_USER);
    CU_ASSERT_FALSE(banned(r, "bob", "203.0.113.5")); /* those addresses: fine */
    jwtx_regulate_free(r);

    /* one failure can start several bans; the verdict names the last to end */
    r = make(600, 900, 2, 2, 2, 0);
    CU_ASSERT_EQUAL(fail(r, "bob", "192.0.2.1"), 0);
    CU_ASSERT_EQUAL(fail(r, "bob", "192.0.2.1"), PAIR | ADDR | USER);
    jwtx_regulate_verdict v2;
    CU_ASSERT_EQUAL(jwtx_regulate_check(r, "eve", "192.0.2.1", &v2), 0);
    CU_ASSERT_TRUE(v2.banned);
    CU_ASSERT_EQUAL(v2.kind, JWTX_REG_ADDRESS);
    jwtx_regulate_free(r);

    /* unknown and known names: the regulator cannot tell them apart, and
     * counts a name it has never seen the same as any other */
    r = make(600, 900, 1, 0, 0, 0);
    CU_ASSERT_EQUAL(fail(r, "no-such-user-\xc3\xa9", "192.0.2.1"), PAIR);
    CU_ASSERT_EQUAL(fail(r, "testuser", "192.0.2.1"), PAIR);
    jwtx_regulate_free(r);
}

static void test_limits_zero(void)
{
    /* pair off: only the address counts */
    jwtx_regulator *r = make(600, 900, 0, 3, 0, 0);
    jwtx_regulate_verdict v;
    CU_ASSERT_EQUAL(jwtx_regulate_failure(r, "bob", "192.0.2.1", &v), 0);
    CU_ASSERT_EQUAL(v.count[JWTX_REG_PAIR], 0);
    CU_ASSERT_EQUAL(v.count[JWTX_REG_ADDRESS], 1);
    CU_ASSERT_EQUAL(fail(r, "bob", "192.0.2.1"), 0);
    CU_ASSERT_EQUAL(fail(r, "bob", "192.0.2.1"), ADDR);
    jwtx_regulate_free(r);

    /* everything off in the regulator: never banned */
    r = make(600, 900, 0, 0, 0, 0);
    for (int i = 0; i < 200; i++)
        CU_ASSERT_EQUAL(fail(r, "bob", "192.0.2.1"), 0);
    CU_ASSERT_FALSE(banned(r, "bob", "192.0.2.1"));
    jwtx_regulate_free(r);

    /* invalid limits: no regulator (and the back end is freed) */
    jwtx_regulate_limits bad = {0, 900, {5, 20, 100}};
    CU_ASSERT_PTR_NULL(
        jwtx_regulate_new(&bad, jwtx_regulate_memory_backend(), jwtx_regulate_memory_new(0)));
    jwtx_regulate_limits neg = {600, 900, {5, -1, 100}};
    CU_ASSERT_PTR_NULL(
        jwtx_regulate_new(&neg, jwtx_regulate_memory_backend(), jwtx_regulate_memory_new(0)));
    jwtx_regulate_free(NULL);
}

static void test_success_clears_pair(void)
{
    jwtx_regulator *r = make(600, 900, 3, 4, 0, 0);
    CU_ASSERT_EQUAL(fail(r, "bob", "192.0.2.1"), 0);
    CU_ASSERT_EQUAL(fail(r, "bob", "192.0.2.1"), 0);
    CU_ASSERT_EQUAL(jwtx_regulate_success(r, "bob", "192.0.2.1"), 0);
    jwtx_regulate_verdict v;
    CU_ASSERT_EQUAL(jwtx_regulate_failure(r, "bob", "192.0.2.1", &v), 0);
    CU_ASSERT_EQUAL(v.count[JWTX_REG_PAIR], 1);    /* cleared */
    CU_ASSERT_EQUAL(v.count[JWTX_REG_ADDRESS], 3); /* not cleared */
    CU_ASSERT_EQUAL(v.started, 0);
    /* a success of one's own account does not wash the address */
    CU_ASSERT_EQUAL(jwtx_regulate_success(r, "mallory", "192.0.2.1"), 0);
    CU_ASSERT_EQUAL(fail(r, "alice", "192.0.2.1"), ADDR);
    CU_ASSERT_TRUE(banned(r, "mallory", "192.0.2.1"));
    /* nor does it lift a ban */
    jwtx_regulator *r2 = make(600, 900, 2, 0, 0, 0);
    fail(r2, "bob", "192.0.2.1");
    CU_ASSERT_EQUAL(fail(r2, "bob", "192.0.2.1"), PAIR);
    CU_ASSERT_EQUAL(jwtx_regulate_success(r2, "bob", "192.0.2.1"), 0);
    CU_ASSERT_TRUE(banned(r2, "bob", "192.0.2.1"));
    jwtx_regulate_free(r2);
    jwtx_regulate_free(r);
}

static void test_long_names(void)
{
    jwtx_regulator *r = make(600, 900, 2, 0, 0, 0);
    char a[JWTX_REGULATE_USER_MAX + 10], b[JWTX_REGULATE_USER_MAX + 10];
    memset(a, 'x', sizeof a - 1);
    a[sizeof a - 1] = '\0';
    memcpy(b, a, sizeof b);
    b[sizeof b - 2] = 'y'; /* differs after the first USER_MAX bytes */
    CU_ASSERT_EQUAL(fail(r, a, "192.0.2.1"), 0);
    CU_ASSERT_EQUAL(fail(r, b, "192.0.2.1"), PAIR); /* counted as one name */
    CU_ASSERT_TRUE(banned(r, a, "192.0.2.1"));
    /* a name with spaces cannot pose as another pair: the address ends at
     * its first space and addresses hold none */
    CU_ASSERT_FALSE(banned(r, "192.0.2.1 x", "unknown"));
    jwtx_regulate_free(r);
}

static void test_memory_eviction(void)
{
    /* 4 keys at most; each failure here makes 1 key (pair only) */
    jwtx_regulator *r = make(10, 1000, 2, 0, 0, 4);
    fail(r, "a", "192.0.2.1");
    CU_ASSERT_EQUAL(fail(r, "a", "192.0.2.1"), PAIR); /* key 1: banned */
    fail(r, "b", "192.0.2.1");                        /* key 2 */
    fail(r, "c", "192.0.2.1");                        /* key 3 */
    clock_now += 1;
    fail(r, "d", "192.0.2.1"); /* key 4: full */
    /* a flood of new keys never evicts the ban */
    char name[32];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof name, "flood%d", i);
        fail(r, name, "192.0.2.1");
        clock_now += 1;
    }
    CU_ASSERT_TRUE(banned(r, "a", "192.0.2.1"));
    /* the idle keys went first: d is long idle now, its count is gone */
    jwtx_regulate_verdict v;
    CU_ASSERT_EQUAL(jwtx_regulate_failure(r, "d", "192.0.2.1", &v), 0);
    CU_ASSERT_EQUAL(v.count[JWTX_REG_PAIR], 1);
    jwtx_regulate_free(r);

    /* every key banned: the ban that ends first goes */
    r = make(10, 1000, 1, 0, 0, 2);
    long long t0 = clock_now;
    fail(r, "a", "192.0.2.1"); /* banned until t0+1000 */
    clock_now = t0 + 5;
    fail(r, "b", "192.0.2.1"); /* until t0+1005 */
    clock_now = t0 + 6;
    fail(r, "c", "192.0.2.1"); /* until t0+1006: a is dropped */
    CU_ASSERT_FALSE(banned(r, "a", "192.0.2.1"));
    CU_ASSERT_TRUE(banned(r, "b", "192.0.2.1"));
    CU_ASSERT_TRUE(banned(r, "c", "192.0.2.1"));
    jwtx_regulate_free(r);
}

/* A back end that cannot answer: the regulator says so (-1). */
static int broken_add(void *c, const char *k, long long n, long long w, long long keep,
                      long long *count)
{
    (void)c, (void)k, (void)n, (void)w, (void)keep, (void)count;
    return -1;
}
static int broken_count(void *c, const char *k, long long n, long long w, long long *count)
{
    (void)c, (void)k, (void)n, (void)w, (void)count;
    return -1;
}
static int broken_get(void *c, const char *k, long long n, long long *u)
{
    (void)c, (void)k, (void)n, (void)u;
    return -1;
}
static int broken_set(void *c, const char *k, long long n, long long u)
{
    (void)c, (void)k, (void)n, (void)u;
    return -1;
}
static int broken_clear(void *c, const char *k)
{
    (void)c, (void)k;
    return -1;
}

static void test_backend_unavailable(void)
{
    static const jwtx_regulate_backend broken = {"broken",   broken_add,   broken_count, broken_get,
                                                 broken_set, broken_clear, NULL};
    jwtx_regulate_limits lim = {600, 900, {5, 20, 100}};
    jwtx_regulator *r = jwtx_regulate_new(&lim, &broken, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    jwtx_regulate_verdict v;
    CU_ASSERT_EQUAL(jwtx_regulate_check(r, "bob", "192.0.2.1", &v), -1);
    CU_ASSERT_EQUAL(jwtx_regulate_failure(r, "bob", "192.0.2.1", &v), -1);
    CU_ASSERT_EQUAL(jwtx_regulate_success(r, "bob", "192.0.2.1"), -1);
    jwtx_regulate_free(r);
}

static void test_from_config(void)
{
    jwtx_config cfg;
    CU_ASSERT_EQUAL_FATAL(jwtx_config_init(&cfg), 0);
    jwtx_regulator *r = NULL;
    CU_ASSERT_EQUAL(jwtx_regulate_open(&cfg, &r), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    jwtx_regulate_set_clock(r, test_clock, NULL);
    clock_now = 5000000;
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(fail(r, "bob", "192.0.2.1"), 0);
    CU_ASSERT_EQUAL(fail(r, "bob", "192.0.2.1"), PAIR); /* default 5 */
    jwtx_regulate_verdict v;
    jwtx_regulate_check(r, "bob", "192.0.2.1", &v);
    CU_ASSERT_EQUAL(v.retry_after, 900); /* default ban time */
    jwtx_regulate_free(r);

    cfg.login_regulation = false;
    r = (jwtx_regulator *)&r;
    CU_ASSERT_EQUAL(jwtx_regulate_open(&cfg, &r), 0);
    CU_ASSERT_PTR_NULL(r);
    cfg.login_regulation = true;
    cfg.login_max_failures = cfg.login_max_failures_per_address = cfg.login_max_failures_per_user =
        0;
    r = (jwtx_regulator *)&r;
    CU_ASSERT_EQUAL(jwtx_regulate_open(&cfg, &r), 0);
    CU_ASSERT_PTR_NULL(r);
    jwtx_config_clear(&cfg);

    JWTX_ASSERT_STR(jwtx_regulate_kind_name(JWTX_REG_PAIR), "pair");
    JWTX_ASSERT_STR(jwtx_regulate_kind_name(JWTX_REG_ADDRESS), "address");
    JWTX_ASSERT_STR(jwtx_regulate_kind_name(JWTX_REG_USER), "user");
}

static const jwtx_cu_test tests[] = {
    {"sliding window and its edge", test_window},
    {"a ban: refused until it ends, then a fresh allowance", test_ban},
    {"three keys: pair, address spraying, one user everywhere", test_three_keys},
    {"limits of 0 and invalid limits", test_limits_zero},
    {"a success clears the pair only, and lifts no ban", test_success_clears_pair},
    {"long user names and names with spaces", test_long_names},
    {"in-memory back end full: idle first, bans last", test_memory_eviction},
    {"a back end that cannot answer", test_backend_unavailable},
    {"the regulator of a config", test_from_config},
    {NULL, NULL},
};

JWTX_CU_MAIN("regulate", tests)
