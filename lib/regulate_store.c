/*
 * regulate_store.c — the regulate back end over the configured store
 * (JWTX_BLOCKLIST, blocklist.h): counts and bans shared by every FastCGI
 * process of a gateway and by every gateway using the same SQLite file or
 * Redis. Each back-end call is one typed operation of the store, which
 * fails closed (and logs its changes of state) as it does for revocations.
 */
#include "jwtx/regulate.h"

#include <string.h>

#include "jwtx/blocklist.h"

static int st_add_failure(void *ctx, const char *key, long long now, long long window,
                          long long keep, long long *count)
{
    return jwtx_blocklist_attempt_add(ctx, key, now, window, keep, count) == 0 ? 0 : -1;
}

static int st_count(void *ctx, const char *key, long long now, long long window, long long *count)
{
    return jwtx_blocklist_attempt_count(ctx, key, now, window, count) == 0 ? 0 : -1;
}

static int st_get_ban(void *ctx, const char *key, long long now, long long *until)
{
    return jwtx_blocklist_ban_get(ctx, key, now, until);
}

static int st_set_ban(void *ctx, const char *key, long long now, long long until)
{
    return jwtx_blocklist_ban_set(ctx, key, now, until) == 0 ? 0 : -1;
}

static int st_clear(void *ctx, const char *key)
{
    return jwtx_blocklist_attempt_clear(ctx, key) == 0 ? 0 : -1;
}

/* The store is borrowed: its owner frees it. */
static void st_free(void *ctx)
{
    (void)ctx;
}

static const jwtx_regulate_backend store_backend = {
    "store", st_add_failure, st_count, st_get_ban, st_set_ban, st_clear, st_free,
};

const jwtx_regulate_backend *jwtx_regulate_store_backend(void)
{
    return &store_backend;
}

int jwtx_regulate_key_parse(const char *key, jwtx_regulate_key_parts *out)
{
    memset(out, 0, sizeof *out);
    if (key == NULL || key[0] == '\0' || key[1] != ' ')
        return -1;
    const char *rest = key + 2;
    size_t alen;
    switch (key[0]) {
    case 'p':
        alen = strcspn(rest, " ");
        if (alen == 0 || alen >= sizeof out->addr || rest[alen] != ' ' || rest[alen + 1] == '\0')
            return -1;
        out->kind = JWTX_REG_PAIR;
        memcpy(out->addr, rest, alen);
        out->user = rest + alen + 1;
        return 0;
    case 'a':
        alen = strlen(rest);
        if (alen == 0 || alen >= sizeof out->addr || strchr(rest, ' ') != NULL)
            return -1;
        out->kind = JWTX_REG_ADDRESS;
        memcpy(out->addr, rest, alen);
        return 0;
    case 'u':
        if (rest[0] == '\0')
            return -1;
        out->kind = JWTX_REG_USER;
        out->user = rest;
        return 0;
    default:
        return -1;
    }
}
