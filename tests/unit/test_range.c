/* test_range.c - uvh_range_parse: single byte ranges, suffixes, clamping, and every form that
 * must be ignored (200) or refused (416); uvh_range_parse_set: range sets sorted, coalesced and
 * capped at UVH_RANGE_MAX. */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <string.h>

#include "range.h"

struct range_case {
    const char *header;
    uint64_t size;
    enum uvh_range_result result;
    uint64_t start, len; /* checked for UVH_RANGE_PARTIAL only */
};

static const char *result_name(enum uvh_range_result r)
{
    switch (r) {
    case UVH_RANGE_FULL:
        return "FULL";
    case UVH_RANGE_PARTIAL:
        return "PARTIAL";
    case UVH_RANGE_UNSATISFIABLE:
        return "UNSATISFIABLE";
    }
    return "?";
}

static void check_cases(const struct range_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct range_case *c = &cases[i];
        struct uvh_range r = {0xdead, 0xbeef};
        enum uvh_range_result got = uvh_range_parse(uvh_slice_from(c->header), c->size, &r);
        cr_assert_eq(got, c->result, "range(\"%s\", size %" PRIu64 "): expected %s, got %s",
                     c->header, c->size, result_name(c->result), result_name(got));
        if (c->result != UVH_RANGE_PARTIAL)
            continue;
        cr_assert(r.start == c->start && r.len == c->len,
                  "range(\"%s\", size %" PRIu64 "): expected start %" PRIu64 " len %" PRIu64
                  ", got start %" PRIu64 " len %" PRIu64,
                  c->header, c->size, c->start, c->len, r.start, r.len);
        cr_assert(r.start + r.len <= c->size,
                  "range(\"%s\", size %" PRIu64 "): range ends past the resource", c->header,
                  c->size);
    }
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

Test(range, first_last)
{
    static const struct range_case cases[] = {
        {"bytes=0-9", 100, UVH_RANGE_PARTIAL, 0, 10},
        {"bytes=0-0", 100, UVH_RANGE_PARTIAL, 0, 1},
        {"bytes=10-19", 100, UVH_RANGE_PARTIAL, 10, 10},
        {"bytes=99-99", 100, UVH_RANGE_PARTIAL, 99, 1},
        {"bytes=0-99", 100, UVH_RANGE_PARTIAL, 0, 100},
        {"bytes=0-0", 1, UVH_RANGE_PARTIAL, 0, 1},
    };
    check_cases(cases, N(cases));
}

Test(range, open_end)
{
    static const struct range_case cases[] = {
        {"bytes=90-", 100, UVH_RANGE_PARTIAL, 90, 10},
        {"bytes=0-", 100, UVH_RANGE_PARTIAL, 0, 100},
        {"bytes=99-", 100, UVH_RANGE_PARTIAL, 99, 1},
    };
    check_cases(cases, N(cases));
}

Test(range, suffix)
{
    static const struct range_case cases[] = {
        {"bytes=-10", 100, UVH_RANGE_PARTIAL, 90, 10},
        {"bytes=-1", 100, UVH_RANGE_PARTIAL, 99, 1},
        {"bytes=-100", 100, UVH_RANGE_PARTIAL, 0, 100},
        {"bytes=-500", 100, UVH_RANGE_PARTIAL, 0, 100}, /* larger than the file: all of it */
        {"bytes=-1", 1, UVH_RANGE_PARTIAL, 0, 1},
    };
    check_cases(cases, N(cases));
}

Test(range, last_clamped_to_size)
{
    static const struct range_case cases[] = {
        {"bytes=0-1000", 100, UVH_RANGE_PARTIAL, 0, 100},
        {"bytes=50-100", 100, UVH_RANGE_PARTIAL, 50, 50},
        {"bytes=95-999999999999", 100, UVH_RANGE_PARTIAL, 95, 5},
    };
    check_cases(cases, N(cases));
}

Test(range, unsatisfiable)
{
    static const struct range_case cases[] = {
        {"bytes=100-", 100, UVH_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=100-200", 100, UVH_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=1000-2000", 100, UVH_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=-0", 100, UVH_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=0-0", 0, UVH_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=0-", 0, UVH_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=-5", 0, UVH_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=9999999999999999999-", 100, UVH_RANGE_UNSATISFIABLE, 0, 0}, /* 19 digits */
    };
    check_cases(cases, N(cases));
}

Test(range, multi_range_is_ignored)
{
    static const struct range_case cases[] = {
        {"bytes=0-1,5-6", 100, UVH_RANGE_FULL, 0, 0},
        {"bytes=0-1, 5-6", 100, UVH_RANGE_FULL, 0, 0},
        {"bytes=-5,0-1", 100, UVH_RANGE_FULL, 0, 0},
        /* ...unless they coalesce into one, or only one is satisfiable */
        {"bytes=0-4,5-9", 100, UVH_RANGE_PARTIAL, 0, 10},
        {"bytes=0-0,-1", 1, UVH_RANGE_PARTIAL, 0, 1},
        {"bytes=0-1,200-", 100, UVH_RANGE_PARTIAL, 0, 2},
        /* an empty list element is not an error (RFC 9110 section 5.6.1.2) */
        {"bytes=0-,", 100, UVH_RANGE_PARTIAL, 0, 100},
    };
    check_cases(cases, N(cases));
}

Test(range, invalid_is_ignored)
{
    static const struct range_case cases[] = {
        {"bytes=5-1", 100, UVH_RANGE_FULL, 0, 0},
        {"items=0-1", 100, UVH_RANGE_FULL, 0, 0},
        {"bytes=", 100, UVH_RANGE_FULL, 0, 0},
        {"bytes", 100, UVH_RANGE_FULL, 0, 0},
        {"bytes 0-1", 100, UVH_RANGE_FULL, 0, 0},
        {"bytes0-1", 100, UVH_RANGE_FULL, 0, 0},
        {"0-1", 100, UVH_RANGE_FULL, 0, 0},
        {"bytes=a-b", 100, UVH_RANGE_FULL, 0, 0},
        {"bytes=1-b", 100, UVH_RANGE_FULL, 0, 0},
        {"bytes=a-1", 100, UVH_RANGE_FULL, 0, 0},
        {"bytes=-", 100, UVH_RANGE_FULL, 0, 0},
        {"bytes=--5", 100, UVH_RANGE_FULL, 0, 0},
        {"bytes=-a", 100, UVH_RANGE_FULL, 0, 0},
        {"bytes=-5-", 100, UVH_RANGE_FULL, 0, 0},
        {"bytes=1", 100, UVH_RANGE_FULL, 0, 0},
        {"bytes=+1-2", 100, UVH_RANGE_FULL, 0, 0},
        {"bytes=0x1-2", 100, UVH_RANGE_FULL, 0, 0},
        {"bytes=1-2x", 100, UVH_RANGE_FULL, 0, 0},
        {"bytes=1-2 x", 100, UVH_RANGE_FULL, 0, 0},
        {"", 100, UVH_RANGE_FULL, 0, 0},
        {"=0-1", 100, UVH_RANGE_FULL, 0, 0},
        /* invalid and beyond the end: still ignored, not 416 */
        {"bytes=500-400", 100, UVH_RANGE_FULL, 0, 0},
    };
    check_cases(cases, N(cases));
}

Test(range, unit_is_case_insensitive)
{
    static const struct range_case cases[] = {
        {"Bytes=0-0", 100, UVH_RANGE_PARTIAL, 0, 1},
        {"BYTES=1-2", 100, UVH_RANGE_PARTIAL, 1, 2},
        {"bYtEs=-3", 100, UVH_RANGE_PARTIAL, 97, 3},
    };
    check_cases(cases, N(cases));
}

Test(range, surrounding_whitespace)
{
    static const struct range_case cases[] = {
        {" bytes=0-9", 100, UVH_RANGE_PARTIAL, 0, 10},
        {"bytes=0-9 ", 100, UVH_RANGE_PARTIAL, 0, 10},
        {"\tbytes=0-9\t", 100, UVH_RANGE_PARTIAL, 0, 10},
        {"bytes= 0-9", 100, UVH_RANGE_PARTIAL, 0, 10},
        {"bytes= -10 ", 100, UVH_RANGE_PARTIAL, 90, 10},
        {"bytes= 90- ", 100, UVH_RANGE_PARTIAL, 90, 10},
    };
    check_cases(cases, N(cases));
}

Test(range, huge_numbers)
{
    static const struct range_case cases[] = {
        /* 20+ digits would overflow uint64_t: the header is ignored */
        {"bytes=18446744073709551616-", 100, UVH_RANGE_FULL, 0, 0},
        {"bytes=0-18446744073709551616", 100, UVH_RANGE_FULL, 0, 0},
        {"bytes=-18446744073709551616", 100, UVH_RANGE_FULL, 0, 0},
        {"bytes=0-99999999999999999999999999", 100, UVH_RANGE_FULL, 0, 0},
        {"bytes=00000000000000000000-1", 100, UVH_RANGE_FULL, 0, 0},
        /* 19 digits fit */
        {"bytes=0-9999999999999999999", 100, UVH_RANGE_PARTIAL, 0, 100},
        {"bytes=-9999999999999999999", 100, UVH_RANGE_PARTIAL, 0, 100},
        /* a resource near the top of the range */
        {"bytes=-1", UINT64_MAX, UVH_RANGE_PARTIAL, UINT64_MAX - 1, 1},
        {"bytes=9999999999999999998-", 9999999999999999999u, UVH_RANGE_PARTIAL,
         9999999999999999998u, 1},
    };
    check_cases(cases, N(cases));
}

Test(range, not_nul_terminated)
{
    /* The slice stops before ",5-6": a single range. */
    const char buf[] = "bytes=0-1,5-6";
    struct uvh_range r = {0, 0};
    enum uvh_range_result got = uvh_range_parse((struct uvh_slice){buf, 9}, 100, &r);
    cr_assert_eq(got, UVH_RANGE_PARTIAL, "\"bytes=0-1\" as a prefix slice: got %s",
                 result_name(got));
    cr_assert(r.start == 0 && r.len == 2, "got start %" PRIu64 " len %" PRIu64, r.start, r.len);
}

/* ---- range sets ---- */

struct set_case {
    const char *header;
    uint64_t size;
    enum uvh_range_result result;
    size_t count;                 /* checked for UVH_RANGE_PARTIAL only */
    uint64_t r[UVH_RANGE_MAX][2]; /* start and len of each range, in order */
};

static void check_set_cases(const struct set_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct set_case *c = &cases[i];
        struct uvh_range_set set;
        memset(&set, 0xab, sizeof(set));
        enum uvh_range_result got = uvh_range_parse_set(uvh_slice_from(c->header), c->size, &set);
        cr_assert_eq(got, c->result, "set(\"%s\", size %" PRIu64 "): expected %s, got %s",
                     c->header, c->size, result_name(c->result), result_name(got));
        if (c->result != UVH_RANGE_PARTIAL)
            continue;
        cr_assert_eq(set.count, c->count,
                     "set(\"%s\", size %" PRIu64 "): expected %zu ranges, got %zu", c->header,
                     c->size, c->count, set.count);
        for (size_t k = 0; k < set.count; k++) {
            const struct uvh_range *r = &set.r[k];
            cr_assert(r->start == c->r[k][0] && r->len == c->r[k][1],
                      "set(\"%s\"): range %zu: expected start %" PRIu64 " len %" PRIu64
                      ", got start %" PRIu64 " len %" PRIu64,
                      c->header, k, c->r[k][0], c->r[k][1], r->start, r->len);
            cr_assert(r->len > 0 && r->start + r->len <= c->size,
                      "set(\"%s\"): range %zu is empty or ends past the resource", c->header, k);
            /* sorted, and neither overlapping nor adjacent: a gap of at least one byte */
            cr_assert(k == 0 || set.r[k - 1].start + set.r[k - 1].len < r->start,
                      "set(\"%s\"): ranges %zu and %zu are not sorted and separate", c->header,
                      k - 1, k);
        }
    }
}

Test(range_set, several_ranges)
{
    static const struct set_case cases[] = {
        {"bytes=0-0,-1", 100, UVH_RANGE_PARTIAL, 2, {{0, 1}, {99, 1}}},
        {"bytes=0-1,5-6", 100, UVH_RANGE_PARTIAL, 2, {{0, 2}, {5, 2}}},
        {"bytes=0-9,20-29,40-", 50, UVH_RANGE_PARTIAL, 3, {{0, 10}, {20, 10}, {40, 10}}},
        {"bytes=10-19,100-149,-7", 377, UVH_RANGE_PARTIAL, 3, {{10, 10}, {100, 50}, {370, 7}}},
        {"bytes=0-0,2-2", 3, UVH_RANGE_PARTIAL, 2, {{0, 1}, {2, 1}}},
        /* one range is a set of one */
        {"bytes=5-9", 100, UVH_RANGE_PARTIAL, 1, {{5, 5}}},
    };
    check_set_cases(cases, N(cases));
}

Test(range_set, sorted_by_start)
{
    static const struct set_case cases[] = {
        {"bytes=40-49,0-9,20-29", 100, UVH_RANGE_PARTIAL, 3, {{0, 10}, {20, 10}, {40, 10}}},
        {"bytes=-1,0-0", 100, UVH_RANGE_PARTIAL, 2, {{0, 1}, {99, 1}}},
        {"bytes=50-59,0-9,-30", 100, UVH_RANGE_PARTIAL, 3, {{0, 10}, {50, 10}, {70, 30}}},
    };
    check_set_cases(cases, N(cases));
}

Test(range_set, overlapping_and_adjacent_coalesce)
{
    static const struct set_case cases[] = {
        {"bytes=0-9,5-14", 100, UVH_RANGE_PARTIAL, 1, {{0, 15}}},           /* overlap */
        {"bytes=0-9,10-19", 100, UVH_RANGE_PARTIAL, 1, {{0, 20}}},          /* adjacent */
        {"bytes=10-19,0-9", 100, UVH_RANGE_PARTIAL, 1, {{0, 20}}},          /* adjacent, reversed */
        {"bytes=0-9,11-19", 100, UVH_RANGE_PARTIAL, 2, {{0, 10}, {11, 9}}}, /* a 1-byte gap */
        {"bytes=1-1,1-1,1-1", 100, UVH_RANGE_PARTIAL, 1, {{1, 1}}},         /* duplicates */
        {"bytes=0-,5-10", 100, UVH_RANGE_PARTIAL, 1, {{0, 100}}},           /* contained */
        {"bytes=5-10,0-", 100, UVH_RANGE_PARTIAL, 1, {{0, 100}}},           /* containing */
        {"bytes=0-99,-100", 100, UVH_RANGE_PARTIAL, 1, {{0, 100}}},
        {"bytes=0-0,-1", 1, UVH_RANGE_PARTIAL, 1, {{0, 1}}}, /* the same byte twice */
        /* a later range bridges several earlier ones */
        {"bytes=0-4,10-14,20-24,30-34,3-22", 100, UVH_RANGE_PARTIAL, 2, {{0, 25}, {30, 5}}},
        {"bytes=0-4,10-14,20-24,5-9,15-19", 100, UVH_RANGE_PARTIAL, 1, {{0, 25}}},
        {"bytes=90-,0-9,-20", 100, UVH_RANGE_PARTIAL, 2, {{0, 10}, {80, 20}}},
    };
    check_set_cases(cases, N(cases));
}

Test(range_set, unsatisfiable_members_dropped)
{
    static const struct set_case cases[] = {
        {"bytes=0-0,200-300", 100, UVH_RANGE_PARTIAL, 1, {{0, 1}}},
        {"bytes=200-,0-1,-0,5-6", 100, UVH_RANGE_PARTIAL, 2, {{0, 2}, {5, 2}}},
        {"bytes=100-,-1", 100, UVH_RANGE_PARTIAL, 1, {{99, 1}}},
        /* none satisfiable: 416 */
        {"bytes=100-,200-300,-0", 100, UVH_RANGE_UNSATISFIABLE, 0, {{0}}},
        {"bytes=0-0,-5", 0, UVH_RANGE_UNSATISFIABLE, 0, {{0}}},
        {"bytes=-0,-0", 100, UVH_RANGE_UNSATISFIABLE, 0, {{0}}},
    };
    check_set_cases(cases, N(cases));
}

Test(range_set, suffix_ranges)
{
    static const struct set_case cases[] = {
        {"bytes=-10,-20", 100, UVH_RANGE_PARTIAL, 1, {{80, 20}}},
        {"bytes=-500,0-0", 100, UVH_RANGE_PARTIAL, 1, {{0, 100}}}, /* longer than the file */
        {"bytes=0-9,-10", 15, UVH_RANGE_PARTIAL, 1, {{0, 15}}},
        {"bytes=0-9,-10", 100, UVH_RANGE_PARTIAL, 2, {{0, 10}, {90, 10}}},
        {"bytes=-1,-1", UINT64_MAX, UVH_RANGE_PARTIAL, 1, {{UINT64_MAX - 1, 1}}},
        {"bytes=0-0,-1", UINT64_MAX, UVH_RANGE_PARTIAL, 2, {{0, 1}, {UINT64_MAX - 1, 1}}},
    };
    check_set_cases(cases, N(cases));
}

Test(range_set, at_most_max_ranges)
{
    cr_assert_eq(UVH_RANGE_MAX, 8, "the documented limit (README) is 8 ranges");
    static const struct set_case cases[] = {
        {"bytes=0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14",
         100,
         UVH_RANGE_PARTIAL,
         8,
         {{0, 1}, {2, 1}, {4, 1}, {6, 1}, {8, 1}, {10, 1}, {12, 1}, {14, 1}}},
        /* nine ranges: the header is ignored and the whole file sent */
        {"bytes=0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,16-16", 100, UVH_RANGE_FULL, 0, {{0}}},
        {"bytes=16-16,14-14,12-12,10-10,8-8,6-6,4-4,2-2,0-0", 100, UVH_RANGE_FULL, 0, {{0}}},
        /* the limit counts ranges after coalescing, and unsatisfiable ones do not count */
        {"bytes=0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,15-15",
         100,
         UVH_RANGE_PARTIAL,
         8,
         {{0, 1}, {2, 1}, {4, 1}, {6, 1}, {8, 1}, {10, 1}, {12, 1}, {14, 2}}},
        {"bytes=0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,200-300,-0",
         100,
         UVH_RANGE_PARTIAL,
         8,
         {{0, 1}, {2, 1}, {4, 1}, {6, 1}, {8, 1}, {10, 1}, {12, 1}, {14, 1}}},
        {"bytes=0-1,0-2,0-3,0-4,0-5,0-6,0-7,0-8,0-9,0-10,0-11,0-12",
         100,
         UVH_RANGE_PARTIAL,
         1,
         {{0, 13}}},
        /* the set is built in order: once it holds nine separate ranges the header is ignored,
         * even if a later range would have merged them */
        {"bytes=0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,16-16,0-", 100, UVH_RANGE_FULL, 0, {{0}}},
    };
    check_set_cases(cases, N(cases));
}

Test(range_set, whitespace_and_empty_elements)
{
    /* RFC 9110 section 5.6.1: OWS around the commas, and empty list elements, are allowed. */
    static const struct set_case cases[] = {
        {"bytes=0-0, -1", 100, UVH_RANGE_PARTIAL, 2, {{0, 1}, {99, 1}}},
        {"bytes=0-0 ,-1", 100, UVH_RANGE_PARTIAL, 2, {{0, 1}, {99, 1}}},
        {"bytes=0-0\t,\t-1", 100, UVH_RANGE_PARTIAL, 2, {{0, 1}, {99, 1}}},
        {" bytes= 0-0 ,  -1 ", 100, UVH_RANGE_PARTIAL, 2, {{0, 1}, {99, 1}}},
        {"bytes=0-0,,-1", 100, UVH_RANGE_PARTIAL, 2, {{0, 1}, {99, 1}}},
        {"bytes=,0-0, ,-1,", 100, UVH_RANGE_PARTIAL, 2, {{0, 1}, {99, 1}}},
    };
    check_set_cases(cases, N(cases));
}

Test(range_set, syntax_errors_are_ignored)
{
    /* One bad member makes the whole header invalid: send the whole file, as for one range. */
    static const struct set_case cases[] = {
        {"bytes=0-1,x", 100, UVH_RANGE_FULL, 0, {{0}}},
        {"bytes=0-1,5-1", 100, UVH_RANGE_FULL, 0, {{0}}},
        {"bytes=200-,5-1", 100, UVH_RANGE_FULL, 0, {{0}}}, /* invalid beats unsatisfiable */
        {"bytes=0-1;5-6", 100, UVH_RANGE_FULL, 0, {{0}}},
        {"bytes=0-1 5-6", 100, UVH_RANGE_FULL, 0, {{0}}},
        {"bytes=0 -1,5-6", 100, UVH_RANGE_FULL, 0, {{0}}},
        {"bytes=0- 1,5-6", 100, UVH_RANGE_FULL, 0, {{0}}},
        {"bytes=0-1,-", 100, UVH_RANGE_FULL, 0, {{0}}},
        {"bytes=0-1,5-6x", 100, UVH_RANGE_FULL, 0, {{0}}},
        {"bytes=0-1,bytes=5-6", 100, UVH_RANGE_FULL, 0, {{0}}},
        {"bytes=0-1,99999999999999999999-", 100, UVH_RANGE_FULL, 0, {{0}}},
        {"bytes=,", 100, UVH_RANGE_FULL, 0, {{0}}},
        {"bytes= , ", 100, UVH_RANGE_FULL, 0, {{0}}},
        {"bytes=", 100, UVH_RANGE_FULL, 0, {{0}}},
        {"items=0-1,5-6", 100, UVH_RANGE_FULL, 0, {{0}}},
        {"", 100, UVH_RANGE_FULL, 0, {{0}}},
    };
    check_set_cases(cases, N(cases));
}

Test(range_set, not_nul_terminated)
{
    /* The slice stops before ",junk". */
    const char buf[] = "bytes=0-1,5-6,junk";
    struct uvh_range_set set;
    enum uvh_range_result got = uvh_range_parse_set((struct uvh_slice){buf, 13}, 100, &set);
    cr_assert_eq(got, UVH_RANGE_PARTIAL, "got %s", result_name(got));
    cr_assert_eq(set.count, 2);
    cr_assert(set.r[0].start == 0 && set.r[0].len == 2 && set.r[1].start == 5 && set.r[1].len == 2);
}
