/*
 * regulate.c — the counting rules of regulate.h (three keys, a sliding
 * window, bans) over a back end, and the in-memory back end: a hash table of
 * keys, each with a ring of its last failure times and a ban end.
 */
#include "jwtx/regulate.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the in-memory back end --------------------------------------------- */

typedef struct mentry {
    struct mentry *next;
    char *key;
    long long *ts; /* ring of the last failure times */
    size_t cap, n, head;
    long long ban_until; /* 0: never banned */
    long long last;      /* last failure or ban set: for eviction */
} mentry;

typedef struct memstore {
    mentry **buckets;
    size_t nbuckets, nkeys, max_keys;
    long long window; /* the last window asked for: idle keys are those without failures in it */
} memstore;

static uint64_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

void *jwtx_regulate_memory_new(size_t max_keys)
{
    memstore *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->max_keys = max_keys ? max_keys : 16384;
    m->nbuckets = 64;
    while (m->nbuckets < m->max_keys && m->nbuckets < ((size_t)1 << 24))
        m->nbuckets <<= 1;
    m->buckets = calloc(m->nbuckets, sizeof *m->buckets);
    if (m->buckets == NULL) {
        free(m);
        return NULL;
    }
    return m;
}

static void entry_free(mentry *e)
{
    free(e->key);
    free(e->ts);
    free(e);
}

static void mem_free(void *ctx)
{
    memstore *m = ctx;
    if (m == NULL)
        return;
    for (size_t b = 0; b < m->nbuckets; b++)
        for (mentry *e = m->buckets[b], *nx; e != NULL; e = nx) {
            nx = e->next;
            entry_free(e);
        }
    free(m->buckets);
    free(m);
}

static mentry **slot_of(memstore *m, const char *key)
{
    mentry **p = &m->buckets[hash_key(key) & (m->nbuckets - 1)];
    while (*p != NULL && strcmp((*p)->key, key) != 0)
        p = &(*p)->next;
    return p;
}

static long long in_window(const mentry *e, long long now, long long window)
{
    long long c = 0;
    for (size_t i = 0; i < e->n; i++)
        c += e->ts[i] > now - window && e->ts[i] <= now;
    return c;
}

static void remove_where(memstore *m, bool (*drop)(const mentry *, const void *), const void *arg)
{
    for (size_t b = 0; b < m->nbuckets; b++) {
        mentry **p = &m->buckets[b];
        while (*p != NULL) {
            if (drop(*p, arg)) {
                mentry *e = *p;
                *p = e->next;
                entry_free(e);
                m->nkeys--;
            } else {
                p = &(*p)->next;
            }
        }
    }
}

typedef struct idle_arg {
    long long now, window;
} idle_arg;

static bool is_idle(const mentry *e, const void *arg)
{
    const idle_arg *a = arg;
    return e->ban_until <= a->now && in_window(e, a->now, a->window) == 0;
}

static bool is_this(const mentry *e, const void *arg)
{
    return e == arg;
}

/* Makes room for one more key. */
static void make_room(memstore *m, long long now)
{
    if (m->nkeys < m->max_keys)
        return;
    idle_arg ia = {now, m->window};
    remove_where(m, is_idle, &ia);
    if (m->nkeys < m->max_keys)
        return;
    const mentry *victim = NULL;
    bool victim_banned = true;
    for (size_t b = 0; b < m->nbuckets; b++)
        for (const mentry *e = m->buckets[b]; e != NULL; e = e->next) {
            bool banned = e->ban_until > now;
            if (victim == NULL || (victim_banned && !banned) ||
                (victim_banned == banned &&
                 (banned ? e->ban_until < victim->ban_until : e->last < victim->last))) {
                victim = e;
                victim_banned = banned;
            }
        }
    if (victim != NULL)
        remove_where(m, is_this, victim);
}

static mentry *find_or_add(memstore *m, const char *key, long long now)
{
    mentry **p = slot_of(m, key);
    if (*p != NULL)
        return *p;
    make_room(m, now);
    p = slot_of(m, key); /* the chain may have changed */
    mentry *e = calloc(1, sizeof *e);
    if (e == NULL || (e->key = strdup(key)) == NULL) {
        free(e);
        return NULL;
    }
    *p = e;
    m->nkeys++;
    return e;
}

static int mem_add_failure(void *ctx, const char *key, long long now, long long window,
                           long long keep, long long *count)
{
    memstore *m = ctx;
    m->window = window;
    mentry *e = find_or_add(m, key, now);
    if (e == NULL)
        return -1;
    size_t want = keep < 1 ? 1 : (size_t)keep;
    if (want > e->cap) {
        long long *nt = realloc(e->ts, want * sizeof *nt);
        if (nt == NULL)
            return -1;
        e->ts = nt;
        e->head = e->n; /* the stored times are all in [0, n); order does not matter */
        e->cap = want;
    }
    e->ts[e->head] = now;
    e->head = (e->head + 1) % e->cap;
    if (e->n < e->cap)
        e->n++;
    e->last = now;
    *count = in_window(e, now, window);
    return 0;
}

static int mem_count(void *ctx, const char *key, long long now, long long window, long long *count)
{
    memstore *m = ctx;
    mentry *e = *slot_of(m, key);
    *count = e != NULL ? in_window(e, now, window) : 0;
    return 0;
}

static int mem_get_ban(void *ctx, const char *key, long long now, long long *until)
{
    memstore *m = ctx;
    mentry *e = *slot_of(m, key);
    if (e == NULL || e->ban_until <= now)
        return 0;
    *until = e->ban_until;
    return 1;
}

static int mem_set_ban(void *ctx, const char *key, long long now, long long until)
{
    memstore *m = ctx;
    mentry *e = find_or_add(m, key, now);
    if (e == NULL)
        return -1;
    if (until > e->ban_until)
        e->ban_until = until;
    e->last = now;
    return 0;
}

static int mem_clear(void *ctx, const char *key)
{
    memstore *m = ctx;
    mentry *e = *slot_of(m, key);
    if (e != NULL) {
        e->n = 0;
        e->head = 0;
    }
    return 0;
}

static const jwtx_regulate_backend memory_backend = {
    "memory", mem_add_failure, mem_count, mem_get_ban, mem_set_ban, mem_clear, mem_free,
};

const jwtx_regulate_backend *jwtx_regulate_memory_backend(void)
{
    return &memory_backend;
}

/* ---- the rules ---------------------------------------------------------- */

/* One ban key's login_banned lines in the current window (see
 * jwtx_regulate_log_banned). The table is direct-mapped by the key's hash: a
 * key takes over its slot from another one (whose count of unwritten
 * attempts is then dropped). */
typedef struct log_slot {
    char key[JWTX_REGULATE_KEY_MAX]; /* "" = free */
    long long start;                 /* the window's first line */
    long long written;               /* lines written in the window */
    long long suppressed;            /* refused attempts not written since the last line */
} log_slot;

#define LOG_SLOTS 64

struct jwtx_regulator {
    jwtx_regulate_limits lim;
    const jwtx_regulate_backend *be;
    void *ctx;
    jwtx_regulate_clock_fn clock;
    void *clock_ctx;
    log_slot log[LOG_SLOTS];
};

const char *jwtx_regulate_kind_name(jwtx_regulate_kind kind)
{
    switch (kind) {
    case JWTX_REG_PAIR:
        return "pair";
    case JWTX_REG_ADDRESS:
        return "address";
    case JWTX_REG_USER:
        return "user";
    case JWTX_REG_NKINDS:
        break;
    }
    return "?";
}

jwtx_regulator *jwtx_regulate_new(const jwtx_regulate_limits *limits,
                                  const jwtx_regulate_backend *be, void *be_ctx)
{
    bool ok = limits != NULL && be != NULL && limits->find_time > 0 && limits->ban_time > 0;
    for (int k = 0; ok && k < JWTX_REG_NKINDS; k++)
        ok = limits->max[k] >= 0;
    jwtx_regulator *r = ok ? calloc(1, sizeof *r) : NULL;
    if (r == NULL) {
        if (be != NULL && be->free != NULL)
            be->free(be_ctx);
        return NULL;
    }
    r->lim = *limits;
    r->be = be;
    r->ctx = be_ctx;
    return r;
}

int jwtx_regulate_open(const jwtx_config *cfg, jwtx_blocklist *store, jwtx_regulator **out)
{
    *out = NULL;
    jwtx_regulate_limits lim = {cfg->login_find_time,
                                cfg->login_ban_time,
                                {cfg->login_max_failures, cfg->login_max_failures_per_address,
                                 cfg->login_max_failures_per_user}};
    if (!cfg->login_regulation || (lim.max[0] == 0 && lim.max[1] == 0 && lim.max[2] == 0))
        return 0;
    if (store != NULL) {
        *out = jwtx_regulate_new(&lim, jwtx_regulate_store_backend(), store);
        return *out != NULL ? 0 : -1;
    }
    /* Counts in memory only when no store is configured: never as a
     * fallback for a store that is configured (it would not be shared). */
    if (cfg->blocklist != NULL && cfg->blocklist[0] != '\0')
        return -1;
    void *ctx = jwtx_regulate_memory_new(0);
    if (ctx == NULL)
        return -1;
    *out = jwtx_regulate_new(&lim, jwtx_regulate_memory_backend(), ctx);
    return *out != NULL ? 0 : -1;
}

void jwtx_regulate_free(jwtx_regulator *r)
{
    if (r == NULL)
        return;
    if (r->be->free != NULL)
        r->be->free(r->ctx);
    free(r);
}

void jwtx_regulate_set_clock(jwtx_regulator *r, jwtx_regulate_clock_fn clock, void *ctx)
{
    r->clock = clock;
    r->clock_ctx = ctx;
}

long long jwtx_regulate_now(const jwtx_regulator *r)
{
    return r->clock != NULL ? r->clock(r->clock_ctx) : (long long)time(NULL);
}

/* The key of one kind: "p ADDR USER", "a ADDR", "u USER". The address text
 * holds no space, so the first space after it ends it. Returns false when
 * the kind needs a user and there is none. */
static bool make_key(jwtx_regulate_kind kind, const char *user, const char *addr, char *out,
                     size_t size)
{
    int ulen = 0;
    if (user != NULL) {
        size_t n = strlen(user);
        ulen = (int)(n > JWTX_REGULATE_USER_MAX ? JWTX_REGULATE_USER_MAX : n);
    }
    if (addr == NULL)
        addr = "unknown";
    switch (kind) {
    case JWTX_REG_PAIR:
        if (user == NULL)
            return false;
        snprintf(out, size, "p %.64s %.*s", addr, ulen, user);
        return true;
    case JWTX_REG_ADDRESS:
        snprintf(out, size, "a %.64s", addr);
        return true;
    case JWTX_REG_USER:
        if (user == NULL)
            return false;
        snprintf(out, size, "u %.*s", ulen, user);
        return true;
    case JWTX_REG_NKINDS:
        break;
    }
    return false;
}

#define KEY_MAX JWTX_REGULATE_KEY_MAX

int jwtx_regulate_key(jwtx_regulate_kind kind, const char *user, const char *addr, char *out,
                      size_t size)
{
    if (out == NULL || size < KEY_MAX)
        return -1;
    return make_key(kind, user, addr, out, size) ? 0 : -1;
}

bool jwtx_regulate_log_banned(jwtx_regulator *r, const jwtx_regulate_verdict *v, const char *user,
                              const char *addr, long long *suppressed)
{
    *suppressed = 0;
    char key[KEY_MAX];
    if (r == NULL || v == NULL || !make_key(v->kind, user, addr, key, sizeof key))
        return true;
    long long now = jwtx_regulate_now(r);
    long long limit = v->kind == JWTX_REG_USER ? JWTX_REGULATE_LOG_USER : JWTX_REGULATE_LOG_OWN;
    log_slot *s = &r->log[hash_key(key) % LOG_SLOTS];
    bool same = strcmp(s->key, key) == 0;
    if (!same || now - s->start >= JWTX_REGULATE_LOG_WINDOW || now < s->start) {
        *suppressed = same ? s->suppressed : 0;
        snprintf(s->key, sizeof s->key, "%s", key);
        s->start = now;
        s->written = 1;
        s->suppressed = 0;
        return true;
    }
    if (s->written < limit) {
        s->written++;
        *suppressed = s->suppressed;
        s->suppressed = 0;
        return true;
    }
    s->suppressed++;
    return false;
}

int jwtx_regulate_check(jwtx_regulator *r, const char *user, const char *addr,
                        jwtx_regulate_verdict *v)
{
    memset(v, 0, sizeof *v);
    long long now = jwtx_regulate_now(r);
    for (int k = 0; k < JWTX_REG_NKINDS; k++) {
        char key[KEY_MAX];
        if (r->lim.max[k] == 0 || !make_key((jwtx_regulate_kind)k, user, addr, key, sizeof key))
            continue;
        long long until = 0;
        int st = r->be->get_ban(r->ctx, key, now, &until);
        if (st < 0)
            return -1;
        if (st == 1 && until > now && (!v->banned || until > v->until)) {
            v->banned = true;
            v->kind = (jwtx_regulate_kind)k;
            v->until = until;
        }
    }
    if (v->banned)
        v->retry_after = v->until - now > 0 ? v->until - now : 1;
    return 0;
}

int jwtx_regulate_failure(jwtx_regulator *r, const char *user, const char *addr,
                          jwtx_regulate_verdict *v)
{
    memset(v, 0, sizeof *v);
    long long now = jwtx_regulate_now(r);
    for (int k = 0; k < JWTX_REG_NKINDS; k++) {
        char key[KEY_MAX];
        if (r->lim.max[k] == 0 || !make_key((jwtx_regulate_kind)k, user, addr, key, sizeof key))
            continue;
        long long count = 0;
        if (r->be->add_failure(r->ctx, key, now, r->lim.find_time, r->lim.max[k], &count) != 0)
            return -1;
        v->count[k] = count;
        if (count >= r->lim.max[k]) {
            /* banned; after the ban the key starts from zero */
            if (r->be->set_ban(r->ctx, key, now, now + r->lim.ban_time) != 0 ||
                r->be->clear(r->ctx, key) != 0)
                return -1;
            v->started |= 1u << k;
            v->started_until = now + r->lim.ban_time;
        }
    }
    return 0;
}

int jwtx_regulate_success(jwtx_regulator *r, const char *user, const char *addr)
{
    char key[KEY_MAX];
    if (r->lim.max[JWTX_REG_PAIR] == 0 || !make_key(JWTX_REG_PAIR, user, addr, key, sizeof key))
        return 0;
    return r->be->clear(r->ctx, key);
}
