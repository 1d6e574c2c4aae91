/* test_file_cache.c - the file cache as a data structure: lookups and misses, the validity
 * window, least-recently-used eviction within the byte budget, entries too large to keep. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "file_cache.h"

static struct uvh_fc c;

static struct uvh_fc_facts file_facts(const char *data)
{
    return (struct uvh_fc_facts){.mode = 0100644,
                                 .size = strlen(data),
                                 .mtime_s = 1700000000,
                                 .data = data,
                                 .data_len = strlen(data)};
}

static int put(const char *key, const struct uvh_fc_facts *f, uint64_t now)
{
    return uvh_fc_store(&c, key, strlen(key), f, now);
}

static const struct uvh_fc_entry *get(const char *key, uint64_t now)
{
    return uvh_fc_lookup(&c, key, strlen(key), now);
}

static void fini(void)
{
    uvh_fc_deinit(&c);
}

Test(file_cache, store_and_lookup, .fini = fini)
{
    cr_assert_eq(uvh_fc_init(&c, 1 << 20, 16384, 1000), 0);
    cr_expect_null(get("/r/a.html", 0), "an empty cache hit");
    struct uvh_fc_facts f = file_facts("<p>a</p>");
    cr_assert_eq(put("/r/a.html", &f, 10), 0);
    const struct uvh_fc_entry *e = get("/r/a.html", 20);
    cr_assert_not_null(e);
    cr_expect_eq(e->size, 8);
    cr_expect_eq(e->data_len, 8);
    cr_expect_eq(memcmp(e->data, "<p>a</p>", 8), 0);
    cr_expect_str_eq(e->key, "/r/a.html");
    cr_expect_null(get("/r/a.htm", 20), "a prefix of a key hit");
    cr_expect_null(get("/r/a.html/", 20));
    cr_expect_eq(c.hits, 1);
    cr_expect_eq(c.misses, 3);
}

Test(file_cache, misses_are_remembered_too, .fini = fini)
{
    cr_assert_eq(uvh_fc_init(&c, 1 << 20, 16384, 1000), 0);
    struct uvh_fc_facts none = {.result = -2 /* UV_ENOENT */};
    struct uvh_fc_facts out = {.result = -13, .escaped = true};
    cr_assert_eq(put("/r/missing", &none, 0), 0);
    cr_assert_eq(put("/r/link", &out, 0), 0);
    const struct uvh_fc_entry *e = get("/r/missing", 1);
    cr_assert(e && e->result == -2 && !e->data);
    e = get("/r/link", 1);
    cr_assert(e && e->escaped);
}

Test(file_cache, validity_window, .fini = fini)
{
    cr_assert_eq(uvh_fc_init(&c, 1 << 20, 16384, 1000), 0);
    struct uvh_fc_facts f = file_facts("x");
    put("/r/x", &f, 5000);
    cr_expect_not_null(get("/r/x", 5999), "fresh for less than the window");
    cr_expect_null(get("/r/x", 6000), "trusted for the whole window and more");
    cr_expect_eq(c.n, 0, "a stale entry was kept");
    cr_expect_eq(c.used, 0);
    /* A store replaces, and restarts the window. */
    put("/r/x", &f, 7000);
    struct uvh_fc_facts g = file_facts("xy");
    put("/r/x", &g, 7500);
    const struct uvh_fc_entry *e = get("/r/x", 8400);
    cr_assert_not_null(e);
    cr_expect_eq(e->size, 2);
    cr_expect_eq(c.n, 1);
}

Test(file_cache, validity_zero_trusts_nothing, .fini = fini)
{
    cr_assert_eq(uvh_fc_init(&c, 1 << 20, 16384, 0), 0);
    struct uvh_fc_facts f = file_facts("x");
    put("/r/x", &f, 1);
    cr_expect_null(get("/r/x", 1));
}

Test(file_cache, lru_eviction_within_budget, .fini = fini)
{
    char key[32], body[1000];
    memset(body, 'b', sizeof(body) - 1);
    body[sizeof(body) - 1] = '\0';
    struct uvh_fc_facts f = file_facts(body);
    size_t one = sizeof(struct uvh_fc_entry) + strlen("/r/f000") + 1 + strlen(body);
    cr_assert_eq(uvh_fc_init(&c, 10 * one, 16384, 60000), 0);
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof(key), "/r/f%03d", i);
        cr_assert_eq(put(key, &f, 0), 0);
    }
    cr_expect_eq(c.n, 10);
    cr_expect_eq(c.used, 10 * one);
    cr_expect_not_null(get("/r/f000", 1)); /* now the most recently used */
    put("/r/f010", &f, 2);                 /* evicts f001, the least recently used */
    cr_expect_eq(c.n, 10);
    cr_expect_leq(c.used, c.budget);
    cr_expect_null(get("/r/f001", 3), "the least recently used entry was kept");
    cr_expect_not_null(get("/r/f000", 3), "a recently used entry was evicted");
    cr_expect_not_null(get("/r/f010", 3));
    cr_expect_eq(c.evictions, 1);
    /* 10,000 more never hold more than the budget. */
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof(key), "/r/g%05d", i);
        put(key, &f, 4);
        cr_assert_leq(c.used, c.budget, "over the budget after %d stores", i);
    }
    cr_expect_eq(c.n, 9, "%zu entries: the keys are 2 bytes longer, so 9 fit", c.n);
    cr_expect_not_null(get("/r/g09999", 5), "the most recent store was evicted");
}

Test(file_cache, too_large_to_keep, .fini = fini)
{
    static char big[20000];
    memset(big, 'z', sizeof(big) - 1);
    cr_assert_eq(uvh_fc_init(&c, 1 << 20, 16384, 1000), 0);
    struct uvh_fc_facts f = file_facts(big);
    cr_assert_eq(put("/r/big", &f, 0), 0);
    const struct uvh_fc_entry *e = get("/r/big", 1);
    cr_assert_not_null(e, "the metadata of a large file is kept");
    cr_expect_null(e->data, "the bytes of a file over entry_max were kept");
    cr_expect_eq(e->size, sizeof(big) - 1);
    /* An entry larger than the whole budget is not stored. */
    uvh_fc_deinit(&c);
    cr_assert_eq(uvh_fc_init(&c, 1000, 16384, 1000), 0);
    struct uvh_fc_facts g = file_facts("small but over a 1000-byte budget with its key?");
    char key[2000];
    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    cr_expect_eq(put(key, &g, 0), -1);
    cr_expect_eq(c.n, 0);
}

Test(file_cache, disabled_by_a_zero_budget, .fini = fini)
{
    cr_assert_eq(uvh_fc_init(&c, 0, 16384, 1000), 0);
    struct uvh_fc_facts f = file_facts("x");
    cr_expect_eq(put("/r/x", &f, 0), -1);
    cr_expect_null(get("/r/x", 0));
}

Test(file_cache, empty_file_kept, .fini = fini)
{
    cr_assert_eq(uvh_fc_init(&c, 1 << 20, 16384, 1000), 0);
    struct uvh_fc_facts f = file_facts("");
    put("/r/empty", &f, 0);
    const struct uvh_fc_entry *e = get("/r/empty", 1);
    cr_assert(e && e->data && e->data_len == 0, "an empty file's (empty) bytes were not kept");
}

Test(file_cache, forget, .fini = fini)
{
    cr_assert_eq(uvh_fc_init(&c, 1 << 20, 16384, 1000), 0);
    struct uvh_fc_facts f = file_facts("x");
    put("/r/x", &f, 0);
    uvh_fc_forget(&c, "/r/x", 4);
    cr_expect_null(get("/r/x", 1));
    cr_expect_eq(c.used, 0);
}

/* The validators of a file's head are formatted once, when its entry is stored, exactly as the
 * static handler formats them from a fresh stat; failed and escaped paths carry none. */
Test(file_cache, validators_formatted_at_store, .fini = fini)
{
    cr_assert_eq(uvh_fc_init(&c, 1 << 20, 16384, 1000), 0);
    struct uvh_fc_facts f = file_facts("0123456789");
    f.mtime_ns = 123456789;
    cr_assert_eq(put("/r/v.txt", &f, 0), 0);
    const struct uvh_fc_entry *e = get("/r/v.txt", 1);
    cr_assert_not_null(e);
    char etag[UVH_ETAG_MAX], lm[UVH_DATE_LEN + 1];
    size_t n = uvh_etag_format(10, 1700000000, 123456789, etag);
    uvh_date_format(1700000000, lm);
    cr_expect_eq(e->etag_len, n);
    cr_expect_eq(memcmp(e->etag, etag, n), 0, "%.*s vs %s", (int)e->etag_len, e->etag, etag);
    cr_expect_str_eq(e->last_modified, lm);
    cr_expect_str_eq(lm, "Tue, 14 Nov 2023 22:13:20 GMT");

    struct uvh_fc_facts none = {.result = -2};
    struct uvh_fc_facts out = {.result = 0, .escaped = true, .size = 5};
    cr_assert_eq(put("/r/missing", &none, 0), 0);
    cr_assert_eq(put("/r/out", &out, 0), 0);
    cr_expect_eq(get("/r/missing", 1)->etag_len, 0);
    cr_expect_eq(get("/r/out", 1)->etag_len, 0);
}
