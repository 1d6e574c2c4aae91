/* test_range.c - uvh_range_parse: single byte ranges, suffixes, clamping, and every form that
 * must be ignored (200) or refused (416). */
#include <criterion/criterion.h>

#include <inttypes.h>

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
        {"bytes=0-,", 100, UVH_RANGE_FULL, 0, 0},
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
