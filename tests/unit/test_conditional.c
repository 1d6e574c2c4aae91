/* test_conditional.c - ETag formatting and the If-None-Match, If-Modified-Since and If-Range
 * preconditions (RFC 9110 section 13.1). */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "conditional.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Sun, 06 Nov 1994 08:49:37 GMT */
#define T0 INT64_C(784111777)

Test(conditional, etag_format)
{
    static const struct {
        uint64_t size;
        int64_t sec, nsec;
    } cases[] = {
        {0, 0, 0},
        {0x1234, 0x5f5e100, 0},
        {1, T0, 123456789},
        {UINT64_MAX, INT64_MAX, 999999999},
        {UINT64_MAX, -1, 999999999}, /* before 1970: the longest form */
    };
    for (size_t i = 0; i < N(cases); i++) {
        char out[UVH_ETAG_MAX];
        memset(out, 'X', sizeof(out));
        size_t len = uvh_etag_format(cases[i].size, cases[i].sec, cases[i].nsec, out);
        cr_assert(len >= 2 && len < UVH_ETAG_MAX, "etag #%zu: length %zu", i, len);
        cr_assert_eq(strlen(out), len, "etag #%zu \"%s\": returned length %zu", i, out, len);
        cr_assert(out[0] == '"' && out[len - 1] == '"', "etag #%zu %s is not a quoted string", i,
                  out);
        cr_assert_null(memchr(out + 1, '"', len - 2), "etag #%zu %s has an inner quote", i, out);
        /* "<mtime hex>...-<size hex>" */
        char head[32], tail[32];
        snprintf(head, sizeof(head), "\"%" PRIx64, (uint64_t)cases[i].sec);
        snprintf(tail, sizeof(tail), "-%" PRIx64 "\"", cases[i].size);
        cr_assert_eq(strncmp(out, head, strlen(head)), 0, "etag #%zu %s does not start with %s", i,
                     out, head);
        cr_assert_str_eq(out + len - strlen(tail), tail, "etag #%zu %s does not end with %s", i,
                         out, tail);
    }
}

Test(conditional, etag_is_deterministic_and_distinct)
{
    char a[UVH_ETAG_MAX], b[UVH_ETAG_MAX];
    size_t la = uvh_etag_format(1000, T0, 5, a);
    size_t lb = uvh_etag_format(1000, T0, 5, b);
    cr_assert(la == lb && memcmp(a, b, la) == 0, "same input gave %s and %s", a, b);

    /* Changing the size, the seconds or the nanoseconds gives a different tag. */
    static const struct {
        uint64_t size;
        int64_t sec, nsec;
    } other[] = {{1001, T0, 5}, {1000, T0 + 1, 5}, {1000, T0, 6}, {0x1000, 0x5, 0}};
    for (size_t i = 0; i < N(other); i++) {
        lb = uvh_etag_format(other[i].size, other[i].sec, other[i].nsec, b);
        cr_assert(la != lb || memcmp(a, b, la) != 0, "different input #%zu gave the same tag %s", i,
                  a);
    }
}

struct inm_case {
    const char *header;
    const char *etag;
    bool hit;
};

Test(conditional, if_none_match)
{
    static const struct inm_case cases[] = {
        {"\"abc\"", "\"abc\"", true},
        {"\"xyz\"", "\"abc\"", false},
        {"\"abc\", \"def\"", "\"def\"", true},
        {"\"abc\",\"def\"", "\"def\"", true},
        {"  \"abc\" ,\t\"def\"  ", "\"def\"", true},
        {"\"abc\", \"def\"", "\"ghi\"", false},
        {"*", "\"abc\"", true},
        {" * ", "\"abc\"", true},
        {"W/\"abc\"", "\"abc\"", true}, /* weak comparison */
        {"\"zzz\", W/\"abc\"", "\"abc\"", true},
        {"W/\"abc\"", "W/\"abc\"", true},
        {"\"abc\"", "W/\"abc\"", true},
        {"W/\"abd\"", "\"abc\"", false},
        {"\"ABC\"", "\"abc\"", false}, /* opaque tags are case-sensitive */
        {"abc", "\"abc\"", false},     /* unquoted is not the same tag */
        {"\"abc", "\"abc\"", false},
        {"", "\"abc\"", false},
        {",,", "\"abc\"", false},
        {"\"abc\"x", "\"abc\"", false},
    };
    for (size_t i = 0; i < N(cases); i++) {
        bool got =
            uvh_cond_none_match_hit(uvh_slice_from(cases[i].header), uvh_slice_from(cases[i].etag));
        cr_assert_eq(got, cases[i].hit, "If-None-Match: %s vs ETag %s: expected %d, got %d",
                     cases[i].header, cases[i].etag, cases[i].hit, got);
    }
}

Test(conditional, if_none_match_with_formatted_etag)
{
    char tag[UVH_ETAG_MAX];
    size_t len = uvh_etag_format(4096, T0, 42, tag);
    struct uvh_slice etag = {tag, len};
    char header[3 * UVH_ETAG_MAX];

    snprintf(header, sizeof(header), "\"other\", %s", tag);
    cr_assert(uvh_cond_none_match_hit(uvh_slice_from(header), etag), "%s vs %s", header, tag);
    snprintf(header, sizeof(header), "W/%s", tag);
    cr_assert(uvh_cond_none_match_hit(uvh_slice_from(header), etag), "%s vs %s", header, tag);
}

struct ims_case {
    const char *header;
    int64_t mtime;
    bool not_modified;
};

Test(conditional, if_modified_since)
{
    static const struct ims_case cases[] = {
        {"Sun, 06 Nov 1994 08:49:37 GMT", T0, true}, /* equal */
        {"Sun, 06 Nov 1994 08:49:38 GMT", T0, true}, /* header later than mtime */
        {"Mon, 07 Nov 1994 08:49:37 GMT", T0, true},
        {"Sun, 06 Nov 1994 08:49:36 GMT", T0, false}, /* header earlier: modified */
        {"Sun, 06 Nov 1994 08:49:37 GMT", T0 + 1, false},
        {"Sunday, 06-Nov-94 08:49:37 GMT", T0, true},  /* RFC 850 */
        {"Sun Nov  6 08:49:37 1994", T0, true},        /* asctime */
        {" Sun, 06 Nov 1994 08:49:37 GMT ", T0, true}, /* OWS around the value */
        {"garbage", T0, false},
        {"", T0, false},
        {"Sun, 06 Nov 1994 08:49:37 GMT; length=10", T0, false},
        {"Sun, 06 Nov 1994 25:49:37 GMT", T0, false},
    };
    for (size_t i = 0; i < N(cases); i++) {
        bool got = uvh_cond_not_modified_since(uvh_slice_from(cases[i].header), cases[i].mtime);
        cr_assert_eq(got, cases[i].not_modified,
                     "If-Modified-Since: %s, mtime %" PRId64 ": expected %d, got %d",
                     cases[i].header, cases[i].mtime, cases[i].not_modified, got);
    }
}

struct ifr_case {
    const char *header; /* NULL: absent */
    const char *etag;
    int64_t mtime;
    bool ok;
};

Test(conditional, if_range)
{
    static const struct ifr_case cases[] = {
        {NULL, "\"abc\"", T0, true},      /* absent */
        {"\"abc\"", "\"abc\"", T0, true}, /* strong match */
        {" \"abc\" ", "\"abc\"", T0, true},
        {"\"abd\"", "\"abc\"", T0, false},
        {"W/\"abc\"", "\"abc\"", T0, false}, /* weak never matches */
        {"W/\"abc\"", "W/\"abc\"", T0, false},
        {"Sun, 06 Nov 1994 08:49:37 GMT", "\"abc\"", T0, true},  /* exact date */
        {"Sun, 06 Nov 1994 08:49:38 GMT", "\"abc\"", T0, false}, /* later date */
        {"Sun, 06 Nov 1994 08:49:36 GMT", "\"abc\"", T0, false}, /* earlier date */
        {"Sunday, 06-Nov-94 08:49:37 GMT", "\"abc\"", T0, true},
        {"garbage", "\"abc\"", T0, false},
        {"", "\"abc\"", T0, false},
    };
    for (size_t i = 0; i < N(cases); i++) {
        struct uvh_slice h =
            cases[i].header ? uvh_slice_from(cases[i].header) : (struct uvh_slice){NULL, 0};
        bool got = uvh_cond_if_range_ok(h, uvh_slice_from(cases[i].etag), cases[i].mtime);
        cr_assert_eq(got, cases[i].ok,
                     "If-Range: %s vs ETag %s, mtime %" PRId64 ": expected %d, got %d",
                     cases[i].header ? cases[i].header : "(absent)", cases[i].etag, cases[i].mtime,
                     cases[i].ok, got);
    }
}

Test(conditional, if_range_with_formatted_etag)
{
    char tag[UVH_ETAG_MAX], other[UVH_ETAG_MAX];
    struct uvh_slice etag = {tag, uvh_etag_format(4096, T0, 7, tag)};
    struct uvh_slice changed = {other, uvh_etag_format(4097, T0, 7, other)};
    cr_assert(uvh_cond_if_range_ok(etag, etag, T0), "If-Range %s vs itself", tag);
    cr_assert_not(uvh_cond_if_range_ok(changed, etag, T0), "If-Range %s vs %s", other, tag);
}
