/* date.c - converts between Unix time and HTTP dates with plain civil-calendar arithmetic
 * (no gmtime/timegm, which differ between platforms). */
#include "date.h"

#include <stdio.h>
#include <string.h>

static const char days[7][4] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Howard Hinnant's days_from_civil / civil_from_days. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

void uvh_date_format(int64_t t, char out[UVH_DATE_LEN + 1])
{
    int64_t day = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    int64_t secs = t - day * 86400;
    int64_t y;
    unsigned m, d;

    civil_from_days(day, &y, &m, &d);
    int wd = (int)(((day % 7) + 7) % 7);
    /* "Sun, 06 Nov 1994 08:49:37 GMT": fixed positions, no printf (every response has one). */
    unsigned yy = y < 0 ? 0 : y > 9999 ? 9999 : (unsigned)y;
    unsigned hh = (unsigned)(secs / 3600), mm = (unsigned)(secs / 60 % 60),
             ss = (unsigned)(secs % 60);
    memcpy(out, days[wd], 3);
    memcpy(out + 3, ", ", 2);
    out[5] = (char)('0' + d / 10);
    out[6] = (char)('0' + d % 10);
    out[7] = ' ';
    memcpy(out + 8, months[m - 1], 3);
    out[11] = ' ';
    out[12] = (char)('0' + yy / 1000);
    out[13] = (char)('0' + yy / 100 % 10);
    out[14] = (char)('0' + yy / 10 % 10);
    out[15] = (char)('0' + yy % 10);
    out[16] = ' ';
    out[17] = (char)('0' + hh / 10);
    out[18] = (char)('0' + hh % 10);
    out[19] = ':';
    out[20] = (char)('0' + mm / 10);
    out[21] = (char)('0' + mm % 10);
    out[22] = ':';
    out[23] = (char)('0' + ss / 10);
    out[24] = (char)('0' + ss % 10);
    memcpy(out + 25, " GMT", 4);
    out[UVH_DATE_LEN] = '\0';
}

static int parse_num(const char **p, const char *end, int digits, int *out)
{
    int v = 0;
    for (int i = 0; i < digits; i++) {
        if (*p >= end || **p < '0' || **p > '9')
            return -1;
        v = v * 10 + (*(*p)++ - '0');
    }
    *out = v;
    return 0;
}

static int expect(const char **p, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
        return -1;
    *p += n;
    return 0;
}

static int parse_month(const char **p, const char *end, int *month)
{
    for (int i = 0; i < 12; i++) {
        if (expect(p, end, months[i]) == 0) {
            *month = i + 1;
            return 0;
        }
    }
    return -1;
}

static int parse_time(const char **p, const char *end, int *h, int *mi, int *s)
{
    if (parse_num(p, end, 2, h) || expect(p, end, ":") || parse_num(p, end, 2, mi) ||
        expect(p, end, ":") || parse_num(p, end, 2, s))
        return -1;
    return (*h > 23 || *mi > 59 || *s > 60) ? -1 : 0;
}

int uvh_date_parse(struct uvh_slice str, int64_t *out)
{
    const char *p = str.ptr, *end = str.ptr + str.len;
    const char *comma = memchr(p, ',', str.len);
    int y, mo = 0, d, h, mi, s;

    if (str.len < 24)
        return -1;
    if (comma && comma - p == 3) { /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
        p += 4;
        if (expect(&p, end, " ") || parse_num(&p, end, 2, &d) || expect(&p, end, " ") ||
            parse_month(&p, end, &mo) || expect(&p, end, " ") || parse_num(&p, end, 4, &y) ||
            expect(&p, end, " ") || parse_time(&p, end, &h, &mi, &s) || expect(&p, end, " GMT"))
            return -1;
    } else if (comma) { /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
        p = comma + 1;
        if (expect(&p, end, " ") || parse_num(&p, end, 2, &d) || expect(&p, end, "-") ||
            parse_month(&p, end, &mo) || expect(&p, end, "-") || parse_num(&p, end, 2, &y) ||
            expect(&p, end, " ") || parse_time(&p, end, &h, &mi, &s) || expect(&p, end, " GMT"))
            return -1;
        y += y < 70 ? 2000 : 1900; /* RFC 9110: a two-digit year more than 50 years ahead is past */
    } else {                       /* asctime: Sun Nov  6 08:49:37 1994 */
        p += 3;
        if (expect(&p, end, " ") || parse_month(&p, end, &mo) || expect(&p, end, " "))
            return -1;
        if (p < end && *p == ' ')
            p++;
        if (parse_num(&p, end, (end - p > 1 && p[1] != ' ') ? 2 : 1, &d) || expect(&p, end, " ") ||
            parse_time(&p, end, &h, &mi, &s) || expect(&p, end, " ") || parse_num(&p, end, 4, &y))
            return -1;
    }
    if (p != end || d < 1 || d > 31)
        return -1;
    *out = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + s;
    return 0;
}
