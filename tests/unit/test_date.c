/* test_date.c - uvh_date_format and uvh_date_parse: known instants, the three accepted formats
 * (RFC 9110 section 5.6.7), round trips, and rejected input. */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <string.h>

#include "date.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct date_case {
    int64_t t;
    const char *text;
};

static const struct date_case known[] = {
    {0, "Thu, 01 Jan 1970 00:00:00 GMT"},
    {784111777, "Sun, 06 Nov 1994 08:49:37 GMT"},
    {951782400, "Tue, 29 Feb 2000 00:00:00 GMT"}, /* leap day of a century leap year */
    {1000000000, "Sun, 09 Sep 2001 01:46:40 GMT"},
    {1709164800, "Thu, 29 Feb 2024 00:00:00 GMT"}, /* leap day */
    {1709251199, "Thu, 29 Feb 2024 23:59:59 GMT"},
    {2147483647, "Tue, 19 Jan 2038 03:14:07 GMT"},
    {2147483648, "Tue, 19 Jan 2038 03:14:08 GMT"}, /* past 32-bit time_t */
    {4102444800, "Fri, 01 Jan 2100 00:00:00 GMT"},
    {253402300799, "Fri, 31 Dec 9999 23:59:59 GMT"},
    {-1, "Wed, 31 Dec 1969 23:59:59 GMT"},
};

/* c->text must parse to c->t. */
static void expect_parses(const struct date_case *c)
{
    int64_t t = -12345;
    int rc = uvh_date_parse(uvh_slice_from(c->text), &t);
    cr_assert_eq(rc, 0, "parse(\"%s\") failed", c->text);
    cr_assert_eq(t, c->t, "parse(\"%s\"): expected %" PRId64 ", got %" PRId64, c->text, c->t, t);
}

Test(date, format_known_times)
{
    for (size_t i = 0; i < N(known); i++) {
        char out[UVH_DATE_LEN + 1];
        memset(out, 'X', sizeof(out));
        uvh_date_format(known[i].t, out);
        cr_assert_eq(out[UVH_DATE_LEN], '\0', "format(%" PRId64 "): not NUL-terminated",
                     known[i].t);
        cr_assert_str_eq(out, known[i].text, "format(%" PRId64 "): expected \"%s\", got \"%s\"",
                         known[i].t, known[i].text, out);
    }
}

Test(date, parse_known_times)
{
    for (size_t i = 0; i < N(known); i++) {
        if (known[i].t < 0)
            continue;
        expect_parses(&known[i]);
    }
}

Test(date, parse_three_formats)
{
    static const struct date_case cases[] = {
        {784111777, "Sun, 06 Nov 1994 08:49:37 GMT"},   /* IMF-fixdate */
        {784111777, "Sunday, 06-Nov-94 08:49:37 GMT"},  /* obsolete RFC 850 */
        {784111777, "Sun Nov  6 08:49:37 1994"},        /* obsolete asctime */
        {1000000000, "Sunday, 09-Sep-01 01:46:40 GMT"}, /* two-digit year after 2000 */
        {1000000000, "Sun Sep  9 01:46:40 2001"},
        {1709164800, "Thursday, 29-Feb-24 00:00:00 GMT"},
        {1709164800, "Thu Feb 29 00:00:00 2024"}, /* two-digit day in asctime */
        {0, "Thursday, 01-Jan-70 00:00:00 GMT"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        expect_parses(&cases[i]);
    }
}

Test(date, round_trip)
{
    /* Every ~11.6 days plus an odd number of seconds from 1970 to 2200, so all months, leap
     * years, weekdays and times of day come up. */
    for (int64_t t = 0; t < INT64_C(7258118400); t += 1000003) {
        char out[UVH_DATE_LEN + 1];
        uvh_date_format(t, out);
        cr_assert_eq(strlen(out), (size_t)UVH_DATE_LEN, "format(%" PRId64 ") = \"%s\": bad length",
                     t, out);
        cr_assert_str_eq(out + UVH_DATE_LEN - 4, " GMT", "format(%" PRId64 ") = \"%s\"", t, out);
        int64_t back = -1;
        cr_assert_eq(uvh_date_parse(uvh_slice_from(out), &back), 0,
                     "parse(format(%" PRId64 ") = \"%s\") failed", t, out);
        cr_assert_eq(back, t, "round trip of %" PRId64 " via \"%s\" gave %" PRId64, t, out, back);
    }
}

Test(date, round_trip_every_day_of_a_leap_cycle)
{
    /* Each day from 2020-01-01 to 2024-12-31, at 23:59:59. */
    for (int64_t day = 18262; day <= 20088; day++) {
        int64_t t = day * 86400 + 86399;
        char out[UVH_DATE_LEN + 1];
        uvh_date_format(t, out);
        int64_t back = -1;
        cr_assert_eq(uvh_date_parse(uvh_slice_from(out), &back), 0, "parse(\"%s\") failed", out);
        cr_assert_eq(back, t, "round trip of %" PRId64 " via \"%s\" gave %" PRId64, t, out, back);
    }
}

Test(date, parse_rejects)
{
    static const char *const bad[] = {
        "",
        "garbage",
        "Sun, 06 Nov 1994 08:49:37",        /* no zone */
        "Sun, 06 Nov 1994 08:49:37 UTC",    /* wrong zone */
        "Sun, 06 Nov 1994 08:49:37 GMTx",   /* trailing junk */
        "Sun, 06 Nov 1994 08:49:37 GMT ",   /* trailing space */
        "Sun, 06 Foo 1994 08:49:37 GMT",    /* wrong month */
        "Sun, 06 nov 1994 08:49:37 GMT",    /* month is case-sensitive */
        "Sun, 06 Nov 1994 24:00:00 GMT",    /* bad hour */
        "Sun, 06 Nov 1994 08:60:00 GMT",    /* bad minute */
        "Sun, 06 Nov 1994 08:49:61 GMT",    /* bad second */
        "Sun, 00 Nov 1994 08:49:37 GMT",    /* day 0 */
        "Sun, 32 Nov 1994 08:49:37 GMT",    /* day 32 */
        "Sun, 6 Nov 1994 08:49:37 GMT",     /* one-digit day */
        "Sun, 06 Nov 94 08:49:37 GMT",      /* two-digit year in IMF-fixdate */
        "Sun, 06 Nov 1994 8:49:37 GMT",     /* one-digit hour */
        "Sun,06 Nov 1994 08:49:37 GMT",     /* missing space */
        "Sun, 06 Nov 1994 08-49-37 GMT",    /* wrong time separators */
        "Sunday, 06-Nov-94 08:49:37",       /* RFC 850 without zone */
        "Sunday, 06-Nov-1994 08:49:37 GMT", /* RFC 850 with a four-digit year */
        "Sunday, 06 Nov 94 08:49:37 GMT",   /* RFC 850 without dashes */
        "Sunday, 06-Nov-94 25:49:37 GMT",   /* RFC 850 bad hour */
        "Sun Nov  6 08:49:37 1994 GMT",     /* asctime with junk */
        "Sun Nov  6 08:49:37 94",           /* asctime two-digit year */
        "Sun Xyz  6 08:49:37 1994",         /* asctime wrong month */
        "Sun Nov  6 08:49:37 199x",         /* asctime bad year */
        "Sun Nov  6 08:49 1994",            /* asctime missing seconds */
        "1994-11-06T08:49:37Z",             /* ISO 8601 is not an HTTP date */
        "784111777",
    };
    for (size_t i = 0; i < N(bad); i++) {
        int64_t t = 42;
        int rc = uvh_date_parse(uvh_slice_from(bad[i]), &t);
        cr_assert_eq(rc, -1, "parse(\"%s\") accepted it as %" PRId64, bad[i], t);
    }
}

Test(date, parse_respects_slice_length)
{
    /* A valid date followed by bytes outside the slice. */
    const char buf[] = "Sun, 06 Nov 1994 08:49:37 GMTjunk";
    int64_t t = 0;
    cr_assert_eq(uvh_date_parse((struct uvh_slice){buf, 29}, &t), 0);
    cr_assert_eq(t, 784111777, "got %" PRId64, t);
    /* The same date cut short. */
    cr_assert_eq(uvh_date_parse((struct uvh_slice){buf, 28}, &t), -1,
                 "a date cut before \"GMT\" ends was accepted");
}
