/* test_strbuf.c - the printf-free builder of strbuf.h against snprintf's answers. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>

#include "strbuf.h"

static void expect_text(const struct uvh_strbuf *b, const char *want)
{
    cr_expect_eq(b->len, strlen(want), "length %llu, want %llu ('%.*s' vs '%s')",
                 (unsigned long long)b->len, (unsigned long long)strlen(want), (int)b->len, b->p,
                 want);
    cr_expect(memcmp(b->p, want, b->len) == 0, "'%.*s' vs '%s'", (int)b->len, b->p, want);
}

Test(strbuf, decimal_matches_printf)
{
    static const uint64_t values[] = {0,         1, 9, 10, 99, 100, 4294967295ULL, 4294967296ULL,
                                      UINT64_MAX};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char buf[32], want[32];
        struct uvh_strbuf b = uvh_sb(buf, sizeof(buf));
        uvh_sb_u64(&b, values[i]);
        snprintf(want, sizeof(want), "%llu", (unsigned long long)values[i]);
        expect_text(&b, want);
        cr_expect(!b.full);
    }
}

Test(strbuf, padded_and_hex_match_printf)
{
    char buf[64], want[64];
    struct uvh_strbuf b = uvh_sb(buf, sizeof(buf));
    uvh_sb_uint(&b, 7, 2);
    uvh_sb_char(&b, '|');
    uvh_sb_uint(&b, 123, 2);
    uvh_sb_char(&b, '|');
    uvh_sb_hex(&b, 0);
    uvh_sb_char(&b, '|');
    uvh_sb_hex(&b, 0xdeadbeefULL);
    uvh_sb_char(&b, '|');
    uvh_sb_hex(&b, UINT64_MAX);
    snprintf(want, sizeof(want), "%02u|%02u|%llx|%llx|%llx", 7u, 123u, 0ULL, 0xdeadbeefULL,
             (unsigned long long)UINT64_MAX);
    expect_text(&b, want);
}

Test(strbuf, milliseconds_round_like_printf)
{
    static const uint64_t ns[] = {0, 4999, 5000, 1234567, 999999, 12345678901ULL, 994999};
    for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
        char buf[32], want[32];
        struct uvh_strbuf b = uvh_sb(buf, sizeof(buf));
        uvh_sb_ms2(&b, ns[i]);
        snprintf(want, sizeof(want), "%.2f", (double)ns[i] / 1e6); /* no exact ties here */
        expect_text(&b, want);
    }
    char buf[16];
    struct uvh_strbuf b = uvh_sb(buf, sizeof(buf));
    uvh_sb_ms2(&b, 1234567); /* 1.234567 ms */
    expect_text(&b, "1.23");
}

Test(strbuf, overflow_cuts_and_says_so)
{
    char buf[8] = {0}; /* capacity 5: bytes 5..7 must stay untouched */
    struct uvh_strbuf b = uvh_sb(buf, 5);
    uvh_sb_str(&b, "abc");
    cr_expect(!b.full);
    uvh_sb_str(&b, "defg");
    cr_expect(b.full);
    expect_text(&b, "abcde");
    uvh_sb_u64(&b, 12345);
    cr_expect_eq(b.len, 5);
    cr_expect(buf[5] == 0 && buf[6] == 0 && buf[7] == 0, "wrote past the capacity");
}
