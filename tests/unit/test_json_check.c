/* test_json_check.c - the streaming validator against jansson itself: hand-written cases for every
 * rule (each also run through json_loadb), every case fed whole, byte by byte and split at every
 * offset, a few thousand generated and mutated documents with a fixed seed, the memory bound
 * on a 20 MiB array, and the key budget (issue 10 item 14): exact verdicts within it. */
#include <criterion/criterion.h>

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json_check.h"

#define FLAGS (JSON_DECODE_ANY | JSON_REJECT_DUPLICATES)

/* 2^1024 - 2^970: halfway between DBL_MAX and 2^1024, the least decimal that overflows (ties go
 * to the even neighbour, which is infinity). */
#define OVERFLOW_EDGE                                                                              \
    "17976931348623158079372897140530341507993413271003782693617377898044496829276475094664901797" \
    "75872070963302864166928879109465555478519404026306574886715058206819089020007083836762738548" \
    "45817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711" \
    "559699508093042880177904174497792"
/* The integer just below it: the largest that rounds to DBL_MAX. */
#define BELOW_EDGE                                                                                 \
    "17976931348623158079372897140530341507993413271003782693617377898044496829276475094664901797" \
    "75872070963302864166928879109465555478519404026306574886715058206819089020007083836762738548" \
    "45817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711" \
    "559699508093042880177904174497791"

/* ---- a growable text buffer for building inputs ---- */

struct text {
    char *p;
    size_t len, cap;
};

static void text_add(struct text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1)
            cap *= 2;
        t->p = realloc(t->p, cap);
        cr_assert_not_null(t->p);
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void text_str(struct text *t, const char *s)
{
    text_add(t, s, strlen(s));
}

static void text_rep(struct text *t, const char *s, size_t times)
{
    for (size_t i = 0; i < times; i++)
        text_str(t, s);
}

static void text_fmt(struct text *t, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    cr_assert(n >= 0 && (size_t)n < sizeof(buf));
    text_add(t, buf, (size_t)n);
}

/* ---- verdicts ---- */

static bool jansson_valid(const char *p, size_t n)
{
    json_error_t err;
    json_t *j = json_loadb(p, n, FLAGS, &err);
    json_decref(j);
    return j != NULL;
}

/* Feeds p in pieces of `chunk` bytes (0: whole), or split once at `split` if chunk is SIZE_MAX. */
static bool stream_valid(const char *p, size_t n, size_t chunk, size_t split)
{
    struct uvh_json_check jc;
    uvh_json_check_init(&jc);
    int r = 0;
    if (chunk == SIZE_MAX) {
        r = uvh_json_check_feed(&jc, p, split);
        if (uvh_json_check_feed(&jc, p + split, n - split))
            r = -1;
    } else if (chunk == 0) {
        r = uvh_json_check_feed(&jc, p, n);
    } else {
        for (size_t i = 0; i < n; i += chunk) {
            size_t k = n - i < chunk ? n - i : chunk;
            if (uvh_json_check_feed(&jc, p + i, k))
                r = -1;
        }
    }
    int f = uvh_json_check_finish(&jc);
    if (r)
        cr_assert_eq(f, -1, "finish() succeeded after feed() failed");
    if (f)
        cr_assert_not_null(uvh_json_check_reason(&jc));
    uvh_json_check_deinit(&jc);
    return f == 0;
}

static void show(char *out, size_t cap, const char *p, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x20 && c < 0x7f)
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
    }
    if (o + 8 >= cap)
        o += (size_t)snprintf(out + o, cap - o, "...");
    out[o] = '\0';
}

static size_t compared; /* documents compared with jansson */
static size_t feeds;    /* stream verdicts computed */

/* Asserts the same verdict from jansson and from the validator, however the input is split.
 * `splits_up_to`: inputs up to this length are also split at every offset and fed byte by byte. */
static bool check_same(const char *p, size_t n, size_t splits_up_to, unsigned *rng)
{
    char shown[200];
    bool want = jansson_valid(p, n);
    compared++;
    bool whole = stream_valid(p, n, 0, 0);
    feeds++;
    if (whole != want) {
        show(shown, sizeof(shown), p, n);
        cr_assert_fail("jansson says %s, the validator %s: \"%s\" (%zu bytes)",
                       want ? "valid" : "invalid", whole ? "valid" : "invalid", shown, n);
    }
    if (n <= splits_up_to) {
        cr_assert_eq(stream_valid(p, n, 1, 0), want, "byte by byte differs");
        for (size_t k = 0; k <= n; k++) {
            if (stream_valid(p, n, SIZE_MAX, k) != want) {
                show(shown, sizeof(shown), p, n);
                cr_assert_fail("split at %zu differs: \"%s\"", k, shown);
            }
        }
        feeds += n + 2;
    }
    if (rng) {
        size_t chunk = 1 + (size_t)(rand_r(rng) % 13);
        if (stream_valid(p, n, chunk, 0) != want) {
            show(shown, sizeof(shown), p, n);
            cr_assert_fail("chunks of %zu differ: \"%s\"", chunk, shown);
        }
        feeds++;
    }
    return want;
}

/* ---- (a) + (b) hand-written cases ---- */

struct json_case {
    const char *text;
    size_t len;
    bool valid;
};

#define OK(s)                                                                                      \
    {                                                                                              \
        s, sizeof(s) - 1, true                                                                     \
    }
#define BAD(s)                                                                                     \
    {                                                                                              \
        s, sizeof(s) - 1, false                                                                    \
    }

static const struct json_case cases[] = {
    /* top level: any value (JSON_DECODE_ANY), whitespace is space, \t, \n, \r only */
    OK("1"), OK(" 1 "), OK("\t\n\r 1\r\n"), OK("\"a\""), OK("true"), OK("false"), OK("null"),
    OK("[]"), OK("{}"), BAD(""), BAD("   "), BAD("\f1"), BAD("\v1"), BAD("1\f"), BAD("1 2"),
    BAD("[] []"), BAD("{}x"),
    BAD("\xef\xbb\xbf"
        "1"),
    BAD("/* c */ 1"), BAD("1 // c"),
    /* literals */
    BAD("tru"), BAD("truex"), BAD("True"), BAD("nul"), BAD("nulll"), BAD("true1"), BAD("NaN"),
    BAD("Infinity"), BAD("-Infinity"), BAD("undefined"), OK("[true,false,null]"),
    BAD("[truefalse]"), BAD("t"), BAD("[nul]"),
    /* quirk: a NUL byte right after a number or literal is skipped (load.c stream_get refills
     * when the byte under its cursor is NUL, and the byte ending a token is "ungot") */
    OK("1\0"), OK("[1\0]"), OK("true\0"), OK("[true\0,false\0]"), OK("1.5\0"), OK("1e5\0"),
    OK("-0\0"), OK("{\"a\":null\0}"), OK("[1\0 ,2]"), BAD("1\0\0"), BAD("1 \0"), BAD("\"a\"\0"),
    BAD("[]\0"), BAD("\0"),
    BAD("\0"
        "1"),
    BAD("tru\0"), BAD("{\"a\"\0:1}"), BAD("[1,\0 2]"), BAD("-\0"), BAD("1.\0"),
    /* numbers: RFC 8259 grammar */
    OK("0"), OK("-0"), BAD("01"), BAD("-01"), BAD("00"), BAD("+1"), BAD(".5"), BAD("1."),
    BAD("1.e5"), BAD("-"), BAD("--1"), BAD("1e"), BAD("1e+"), BAD("1e-"), BAD("1E"), OK("1E+5"),
    OK("1e-5"), OK("0e0"), OK("0.0"), OK("-0.0e-0"), OK("1.5e3"), OK("1e05"), OK("0E+00"),
    BAD("0x10"), BAD("1_000"), BAD("00000"), BAD("[1-2]"), BAD("[1.5.3]"), BAD("1a"), BAD("-a"),
    BAD("[-]"), BAD("1e5.5"), BAD("1.5e"), BAD("- 1"), OK("[1,2]"), OK("[1 ,2 ]"), BAD("1ee5"),
    /* integers must fit json_int_t (strtoll, ERANGE) */
    OK("9223372036854775807"), BAD("9223372036854775808"), OK("-9223372036854775808"),
    BAD("-9223372036854775809"), BAD("18446744073709551615"), BAD("18446744073709551616"),
    BAD("99999999999999999999999"), BAD("-99999999999999999999999"), OK("-9223372036854775807"),
    OK("[9223372036854775807,-9223372036854775808]"), OK("9223372036854775808.0"),
    OK("9223372036854775808e0"), OK("99999999999999999999999.5"),
    /* reals: overflow (strtod ERANGE with HUGE_VAL) is refused, underflow accepted */
    OK("1e308"), BAD("1e309"), BAD("-1e309"), OK("1.7976931348623157e308"),
    OK("1.7976931348623158e308"), BAD("1.7976931348623159e308"), BAD("-1.7976931348623159e308"),
    OK("1e-400"), OK("-1e-400"), OK("4.9e-324"), OK("2e-324"), OK("1e-324"), OK("2.5e-308"),
    BAD("1e99999999999999999999"), OK("1e-99999999999999999999"), OK("0e99999999999"),
    OK("0.0e99999"), OK("-0.0000e400"), BAD(OVERFLOW_EDGE ".0"), BAD(OVERFLOW_EDGE "e0"),
    BAD("0." OVERFLOW_EDGE "e309"), BAD("0.0000" OVERFLOW_EDGE "e313"),
    OK("0.0000" OVERFLOW_EDGE "e312"), BAD(BELOW_EDGE) /* an integer */, OK(BELOW_EDGE ".0"),
    OK(BELOW_EDGE ".99999999999999999999"), OK("-" BELOW_EDGE "e0"),
    BAD(BELOW_EDGE ".99999999999999999999e1"), BAD(OVERFLOW_EDGE),
    BAD("0.0000" OVERFLOW_EDGE "1e313"), BAD("0.00001e314"), OK("0.00001e313"),
    /* strings: escapes */
    OK("\"\""), OK("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""), BAD("\"\\a\""), BAD("\"\\x41\""),
    BAD("\"\\'\""), BAD("\"\\0\""), OK("\"\\u0041\""), OK("\"\\u00e9\\u00E9\\uABCD\\uabcd\""),
    BAD("\"\\u004\""), BAD("\"\\u004g\""), BAD("\"\\U0041\""), BAD("\"\\u\""), BAD("\"\\"),
    BAD("\"\\u12"), BAD("\"abc"), BAD("\"\\\""), OK("\"\\uFFFF\""), OK("\"\\u0001\""),
    /* \u0000 without JSON_ALLOW_NUL */
    BAD("\"\\u0000\""), BAD("\"a\\u0000b\""), BAD("[\"\\u0000\"]"), BAD("{\"\\u0000\":1}"),
    BAD("{\"a\":\"\\u0000\"}"),
    /* surrogates */
    OK("\"\\ud83d\\ude00\""), OK("\"\\uD83D\\uDE00\""), OK("\"\\uDBFF\\uDFFF\""),
    OK("\"\\uD800\\uDC00\""), BAD("\"\\ud83d\""), BAD("\"\\ud83dx\""), BAD("\"\\ud83d\\n\""),
    BAD("\"\\ud83d\\ud83d\\ude00\""), BAD("\"\\ude00\""), BAD("\"\\ude00\\ud83d\""),
    BAD("\"\\ud83d\\u0041\""), BAD("\"\\ud83d\\\""), BAD("\"\\ud83d\\u\""), BAD("\"\\udfff\""),
    BAD("\"\\ud83d \\ude00\""), BAD("\"\\ud83d\\\\ude00\""),
    /* raw control characters */
    BAD("\"a\x01\""), BAD("\"\x1f\""), BAD("\"\t\""), BAD("\"\n\""), BAD("\"\r\""), BAD("\"\0\""),
    OK("\"\x7f\""), OK("\" ~\""),
    /* UTF-8 (utf.c utf8_check_first / utf8_check_full) */
    OK("\"\xc3\xa9\""), OK("\"\xe2\x82\xac\""), OK("\"\xf0\x9f\x98\x80\""), OK("\"\xc2\x80\""),
    OK("\"\xdf\xbf\""), OK("\"\xe0\xa0\x80\""), OK("\"\xed\x9f\xbf\""), OK("\"\xee\x80\x80\""),
    OK("\"\xef\xbf\xbf\""), OK("\"\xf0\x90\x80\x80\""), OK("\"\xf4\x8f\xbf\xbf\""),
    BAD("\"\xc0\x80\""), BAD("\"\xc1\xbf\""), BAD("\"\xe0\x80\xaf\""), BAD("\"\xe0\x9f\xbf\""),
    BAD("\"\xed\xa0\x80\""), BAD("\"\xed\xbf\xbf\""), BAD("\"\xf0\x8f\xbf\xbf\""),
    BAD("\"\xf4\x90\x80\x80\""), BAD("\"\xf5\x80\x80\x80\""), BAD("\"\xf8\x88\x80\x80\x80\""),
    BAD("\"\xff\""), BAD("\"\xfe\""), BAD("\"\x80\""), BAD("\"\xbf\""), BAD("\"\xc3\""),
    BAD("\"\xc3\x28\""), BAD("\"\xe2\x82\""), BAD("\"\xf0\x9f\x98\""), BAD("\"\xc3\xa9\xa9\""),
    BAD("\xc3\xa9"), BAD("[\xc3\xa9]"), BAD("1 \xc3\xa9"), BAD("1\xff"), BAD("\"a\"\xff"),
    BAD("\"\xc3"),
    /* structure */
    BAD("["), BAD("]"), BAD("{"), BAD("}"), BAD("[1,]"), BAD("[,1]"), BAD("[,]"), BAD("[1 2]"),
    BAD("{\"a\":1,}"), BAD("{,}"), BAD("{\"a\"}"), BAD("{\"a\":}"), BAD("{\"a\" 1}"), BAD("{1:1}"),
    BAD("{a:1}"), BAD("{'a':1}"), BAD("{\"a\":1 \"b\":2}"), BAD("[}"), BAD("{]"), OK("[[]]"),
    OK("[{}]"), OK("{\"a\":[{}]}"), BAD("[1]]"), BAD("{\"a\":1}}"), BAD(":"), BAD(","),
    BAD("[1:2]"), BAD("{\"a\",1}"), BAD("{\"a\"::1}"), OK(" [ 1 , { \"a\" : [ ] } ] "),
    BAD("{\"a\":1,,\"b\":2}"), BAD("[1,,2]"), BAD("[[]"), BAD("{\"a\":{}"),
    /* duplicate keys (JSON_REJECT_DUPLICATES), compared decoded and per object */
    BAD("{\"a\":1,\"a\":2}"), OK("{\"a\":1,\"b\":2}"), BAD("{\"a\":1,\"\\u0061\":2}"),
    BAD("{\"\\u00e9\":1,\"\xc3\xa9\":2}"), BAD("{\"\\u00E9\":1,\"\\u00e9\":2}"),
    BAD("{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}"), OK("{\"a\":{\"a\":1},\"b\":{\"a\":1}}"),
    BAD("{\"a\":{\"b\":1,\"b\":2}}"), OK("[{\"a\":1},{\"a\":1}]"), BAD("{\"a\":{},\"a\":{}}"),
    BAD("{\"\":1,\"\":2}"), OK("{\"\":1,\"a\":2}"), OK("{\"ab\":1,\"a\":2,\"b\":3}"),
    OK("{\"A\":1,\"a\":1}"), BAD("{\"\\/\":1,\"/\":2}"), BAD("{\"\\n\":1,\"\\u000a\":2}"),
    BAD("{\"a\":{\"x\":[{\"a\":1}]},\"a\":2}"), OK("{\"a\":{\"x\":[{\"a\":1}]},\"b\":2}"),
    OK("{\"a\\u0062\":1,\"a\":2,\"b\":3}"), BAD("{\"a\\u0062\":1,\"a\":2,\"ab\":3}")};

Test(json_check, cases)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct json_case *c = &cases[i];
        char shown[200];
        show(shown, sizeof(shown), c->text, c->len);
        cr_assert_eq(jansson_valid(c->text, c->len), c->valid,
                     "case %zu: jansson disagrees with the table: \"%s\"", i, shown);
        check_same(c->text, c->len, 2048, NULL);
    }
}

/* ---- depth: jansson's JSON_PARSER_MAX_DEPTH counts every value, the top level is 1 ---- */

static void nest(struct text *t, size_t depth, const char *open, const char *inner,
                 const char *close)
{
    t->len = 0;
    text_rep(t, open, depth);
    text_str(t, inner);
    text_rep(t, close, depth);
}

Test(json_check, depth)
{
    struct text t = {0};
    for (size_t d = 2045; d <= 2050; d++) {
        bool fits = d <= UVH_JSON_CHECK_MAX_DEPTH;
        nest(&t, d, "[", "", "]");
        cr_assert_eq(check_same(t.p, t.len, 0, NULL), fits, "%zu empty arrays", d);
        nest(&t, d, "{\"a\":", "{}", "}");
        cr_assert_eq(check_same(t.p, t.len, 0, NULL), d + 1 <= UVH_JSON_CHECK_MAX_DEPTH,
                     "%zu objects", d);
        /* a scalar inside d containers sits at depth d + 1 */
        nest(&t, d, "[", "1", "]");
        cr_assert_eq(check_same(t.p, t.len, 0, NULL), d + 1 <= UVH_JSON_CHECK_MAX_DEPTH,
                     "1 in %zu arrays", d);
        nest(&t, d, "[", "\"s\"", "]");
        check_same(t.p, t.len, 0, NULL);
        nest(&t, d, "[{\"k\":", "null", "}]");
        check_same(t.p, t.len, 0, NULL);
        nest(&t, d, "[", "", "]");
        t.len--; /* one bracket short */
        cr_assert_not(check_same(t.p, t.len, 0, NULL));
    }
    /* depth is released again when containers close */
    t.len = 0;
    for (int i = 0; i < 3; i++) {
        text_rep(&t, "[", 2047);
        text_str(&t, "1");
        text_rep(&t, "]", 2047);
        text_str(&t, i < 2 ? "," : "");
    }
    cr_assert_not(check_same(t.p, t.len, 0, NULL)); /* not an array: values separated by commas */
    char *body = malloc(t.len + 3);
    body[0] = '[';
    memcpy(body + 1, t.p, t.len);
    body[t.len + 1] = ']';
    cr_assert_not(check_same(body, t.len + 2, 0, NULL)); /* the 1s are now at depth 2049 */
    free(body);
    t.len = 0;
    text_str(&t, "[");
    for (int i = 0; i < 3; i++) {
        text_rep(&t, "[", 2046);
        text_str(&t, "1");
        text_rep(&t, "]", 2046);
        text_str(&t, i < 2 ? "," : "]");
    }
    cr_assert(check_same(t.p, t.len, 0, NULL));
    free(t.p);
}

/* ---- many keys: the per-object tables, their growth, and release when objects close ---- */

Test(json_check, many_keys)
{
    struct text t = {0};
    for (size_t n = 1; n <= 300; n += (n < 40 ? 1 : 37)) {
        for (size_t dup = 0; dup <= n; dup++) {
            t.len = 0;
            text_str(&t, "{\"x\":{\"k0\":[]},");
            for (size_t i = 0; i < n; i++)
                text_fmt(&t, "%s\"k%zu\":{\"k%zu\":%zu}", i ? "," : "", i, i, i);
            if (dup < n)
                text_fmt(&t, ",\"\\u006b%zu\":0", dup); /* "\u006b" is "k" */
            text_str(&t, "}");
            cr_assert_eq(check_same(t.p, t.len, 0, NULL), dup == n, "n=%zu dup=%zu", n, dup);
        }
    }
    free(t.p);
}

/* ---- (c) generated documents ---- */

static unsigned long long rng_state = 0x5eed1234abcdULL;

static unsigned long long rnd(void)
{
    unsigned long long z = (rng_state += 0x9e3779b97f4a7c15ULL); /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static size_t rndn(size_t n)
{
    return (size_t)(rnd() % n);
}

static void utf8_put(char *out, size_t *o, unsigned cp)
{
    if (cp < 0x80) {
        out[(*o)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*o)++] = (char)(0xC0 | (cp >> 6));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out[(*o)++] = (char)(0xE0 | (cp >> 12));
        out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[(*o)++] = (char)(0xF0 | (cp >> 18));
        out[(*o)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    }
}

static unsigned random_cp(void)
{
    static const unsigned picks[] = {'a',    'b',     'k',      '"',    '\\',  '/',
                                     '\n',   '\t',    0x1f,     0x7f,   0xe9,  0x20ac,
                                     0xffff, 0x1f600, 0x10ffff, 0xd7ff, 0xe000};
    switch (rndn(4)) {
    case 0:
        return 1 + (unsigned)rndn(0x7f);
    case 1: {
        unsigned cp = 0x80 + (unsigned)rndn(0x10ffff - 0x80);
        return cp >= 0xd800 && cp <= 0xdfff ? cp + 0x800 : cp;
    }
    default:
        return picks[rndn(sizeof(picks) / sizeof(picks[0]))];
    }
}

static json_t *random_string(size_t max)
{
    char buf[128];
    size_t o = 0, n = rndn(max + 1);
    for (size_t i = 0; i < n; i++)
        utf8_put(buf, &o, random_cp());
    return json_stringn(buf, o);
}

static json_t *random_number(void)
{
    static const long long ints[] = {
        0, 1, -1, LLONG_MAX, LLONG_MIN, LLONG_MAX - 1, LLONG_MIN + 1, 1000000, -42};
    static const double reals[] = {0.0,    -0.0,
                                   1.5,    1e308,
                                   -1e308, 1.7976931348623157e308,
                                   5e-324, 2.2250738585072014e-308,
                                   1e-300, 123456.789};
    switch (rndn(4)) {
    case 0:
        return json_integer(ints[rndn(sizeof(ints) / sizeof(ints[0]))]);
    case 1:
        return json_integer((long long)rnd());
    case 2:
        return json_real(reals[rndn(sizeof(reals) / sizeof(reals[0]))]);
    default: {
        double d = (double)(long long)rnd() / (double)(1 + rndn(1000000));
        return json_real(d);
    }
    }
}

static json_t *random_tree(int depth)
{
    size_t kind = rndn(depth < 5 ? 10 : 7);
    switch (kind) {
    case 0:
        return json_true();
    case 1:
        return json_false();
    case 2:
        return json_null();
    case 3:
    case 4:
        return random_number();
    case 5:
    case 6:
        return random_string(6);
    case 7:
    case 8: {
        json_t *a = json_array();
        for (size_t i = rndn(5); i > 0; i--)
            json_array_append_new(a, random_tree(depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (size_t i = rndn(6); i > 0; i--) {
            json_t *k = random_string(3);
            json_object_setn_new(o, json_string_value(k), json_string_length(k),
                                 random_tree(depth + 1));
            json_decref(k);
        }
        return o;
    }
    }
}

/* Textual documents jansson's encoder never writes: keys from a tiny alphabet spelled raw or
 * escaped in several ways (so duplicates are frequent and need decoding to see), odd numbers. */
static void key_spelling(struct text *t)
{
    static const char *const spell[][5] = {
        {"a", "\\u0061", "\\u0061", "a", "a"},
        {"\xc3\xa9", "\\u00e9", "\\u00E9", "\xc3\xa9", "\xc3\xa9"},
        {"\xf0\x9f\x98\x80", "\\ud83d\\ude00", "\\uD83D\\uDE00", "\\ud83d\\uDE00",
         "\xf0\x9f\x98\x80"},
        {"", "", "", "", ""},
        {"/", "\\/", "\\u002f", "/", "/"},
        {"a\\nb", "a\\u000ab", "a\\u000Ab", "a\\nb", "a\\nb"},
    };
    size_t k = rndn(6);
    text_str(t, "\"");
    text_str(t, spell[k][rndn(5)]);
    if (rndn(4) == 0)
        text_str(t, spell[rndn(6)][rndn(5)]);
    text_str(t, "\"");
}

static void random_text(struct text *t, int depth)
{
    static const char *const scalars[] = {"0",
                                          "-0",
                                          "1",
                                          "-1",
                                          "1.0",
                                          "1e5",
                                          "1E-5",
                                          "0.5e+3",
                                          "9223372036854775807",
                                          "-9223372036854775808",
                                          "9223372036854775808",
                                          "-9223372036854775809",
                                          "1e308",
                                          "1e309",
                                          "-1e309",
                                          "1e-400",
                                          "4.9e-324",
                                          "1.7976931348623157e308",
                                          "1.7976931348623159e308",
                                          "true",
                                          "false",
                                          "null",
                                          "\"\"",
                                          "\"x\"",
                                          "\"\\u0000\"",
                                          "\"\\ud800\"",
                                          "\"\\udc00x\"",
                                          "\"\\ud83d\\ude00\"",
                                          "\"\xed\xa0\x80\"",
                                          "\"\xc0\x80\"",
                                          "\"\xf4\x90\x80\x80\"",
                                          "\"\xe2\x82\xac\"",
                                          "01",
                                          "1.",
                                          ".5",
                                          "+1",
                                          "1e",
                                          "-",
                                          "tru",
                                          "nul",
                                          "\"\\q\"",
                                          "123456789012345678901234567890",
                                          "0.000000000000000000000000000000001e-300"};
    size_t kind = rndn(depth < 6 ? 6 : 4);
    if (kind < 4) {
        text_str(t, scalars[rndn(sizeof(scalars) / sizeof(scalars[0]))]);
    } else if (kind == 4) {
        text_str(t, "[");
        for (size_t i = rndn(4); i > 0; i--) {
            random_text(t, depth + 1);
            text_str(t, i > 1 ? "," : "");
        }
        text_str(t, "]");
    } else {
        text_str(t, "{");
        for (size_t i = rndn(5); i > 0; i--) {
            key_spelling(t);
            text_str(t, rndn(8) ? ":" : " : ");
            random_text(t, depth + 1);
            text_str(t, i > 1 ? "," : "");
        }
        text_str(t, "}");
    }
}

static const char *const specials[] = {
    "\0",
    "\xc0",
    "\xc0\x80",
    "\xed\xa0\x80",
    "\\u0000",
    "\\ud800",
    "\\udc00",
    "\\ud83d\\ude00",
    "\xf4\x90\x80\x80",
    "\xf0\x9f\x98\x80",
    "\xc3\xa9",
    ",",
    ":",
    "]",
    "}",
    "[",
    "{",
    "\"",
    "\\",
    " ",
    "0",
    "-",
    "e",
    ".",
    "1e309",
    "1e-400",
    "9223372036854775808",
    "\x7f",
    "\x1f",
    "true",
    "\t",
    "\xff",
    "\x80",
    "\\",
    "u",
    "\\n",
    "\\u00e9",
};

/* One random edit of doc (len n) into out. */
static void mutate(struct text *out, const char *doc, size_t n)
{
    out->len = 0;
    size_t at = n ? rndn(n + 1) : 0;
    switch (rndn(7)) {
    case 0: { /* replace a byte */
        text_add(out, doc, n);
        if (n) {
            static const unsigned char bytes[] = {0,    0x22, 0x5c, 0x7f, 0x80,
                                                  0xc0, 0xed, 0xff, 0x20};
            size_t i = rndn(n);
            out->p[i] = (char)(rndn(2) ? bytes[rndn(sizeof(bytes))] : (unsigned char)rnd());
        }
        break;
    }
    case 1:
    case 2: { /* insert something special */
        const char *s = specials[rndn(sizeof(specials) / sizeof(specials[0]))];
        text_add(out, doc, at);
        text_add(out, s, *s ? strlen(s) : 1);
        text_add(out, doc + at, n - at);
        break;
    }
    case 3: /* delete a byte */
        text_add(out, doc, at);
        if (at < n)
            text_add(out, doc + at + 1, n - at - 1);
        break;
    case 4: /* truncate */
        text_add(out, doc, at);
        break;
    case 5: { /* repeat the first key of some object, maybe spelled with an escape */
        text_add(out, doc, n);
        const char *o = NULL;
        for (size_t tries = 0; tries < 8 && !o; tries++) {
            const char *hit = strstr(doc + rndn(n + 1), "{\"");
            if (hit && hit < doc + n)
                o = hit;
        }
        if (!o)
            break;
        const char *k = o + 2, *e = k;
        while (e < doc + n && *e != '"')
            e += *e == '\\' ? 2 : 1;
        if (e >= doc + n)
            break;
        struct text ins = {0};
        text_str(&ins, "\"");
        for (const char *q = k; q < e; q++) {
            if (*q >= 'a' && *q <= 'z' && rndn(3) == 0)
                text_fmt(&ins, "\\u%04x", (unsigned)*q);
            else
                text_add(&ins, q, 1);
        }
        text_str(&ins, rndn(2) ? "\":0," : "\":{},");
        out->len = 0;
        text_add(out, doc, (size_t)(o - doc) + 1);
        text_add(out, ins.p, ins.len);
        text_add(out, o + 1, n - (size_t)(o - doc) - 1);
        free(ins.p);
        break;
    }
    default: { /* copy a random span elsewhere */
        size_t a = rndn(n + 1), b = a + rndn(n - a + 1);
        text_add(out, doc, at);
        text_add(out, doc + a, b - a);
        text_add(out, doc + at, n - at);
        break;
    }
    }
}

Test(json_check, generated, .timeout = 120)
{
    unsigned seed = 12345;
    struct text doc = {0}, mut = {0};
    size_t valid = 0, invalid = 0;
    compared = feeds = 0;
    for (int i = 0; i < 3000; i++) {
        doc.len = 0;
        if (i % 3 == 2) {
            random_text(&doc, 0);
        } else {
            json_t *tree = random_tree(0);
            size_t flags = JSON_ENCODE_ANY | JSON_REAL_PRECISION(rndn(18));
            flags |= rndn(2) ? JSON_COMPACT : JSON_INDENT(rndn(4));
            flags |= rndn(2) ? JSON_ENSURE_ASCII : 0;
            flags |= rndn(3) ? 0 : JSON_ESCAPE_SLASH;
            char *s = json_dumps(tree, flags);
            cr_assert_not_null(s);
            text_str(&doc, s);
            free(s);
            json_decref(tree);
        }
        if (check_same(doc.p, doc.len, 64, &seed))
            valid++;
        else
            invalid++;
        for (int m = 0; m < 4; m++) {
            mutate(&mut, doc.p, doc.len);
            if (m == 3 && rndn(2)) { /* a second edit */
                struct text again = {0};
                mutate(&again, mut.p, mut.len);
                free(mut.p);
                mut = again;
            }
            if (check_same(mut.p, mut.len, 48, &seed))
                valid++;
            else
                invalid++;
        }
    }

    /* numbers around the limits, with long mantissas and exponents */
    static const char *const mant[] = {"9223372036854775807",
                                       "9223372036854775808",
                                       "1797693134862315",
                                       "17976931348623157",
                                       "17976931348623158",
                                       "17976931348623159",
                                       OVERFLOW_EDGE,
                                       "1",
                                       "0",
                                       "5",
                                       "25",
                                       "4940656458412465"};
    for (size_t m = 0; m < sizeof(mant) / sizeof(mant[0]); m++) {
        for (int sign = 0; sign < 2; sign++) {
            for (int form = 0; form < 12; form++) {
                doc.len = 0;
                text_str(&doc, sign ? "-" : "");
                text_str(&doc, mant[m]);
                switch (form) {
                case 0:
                    break;
                case 1:
                    text_str(&doc, ".0");
                    break;
                case 2:
                    text_str(&doc, "e292");
                    break;
                case 3:
                    text_str(&doc, "e-340");
                    break;
                case 4:
                    text_rep(&doc, "0", 1000);
                    text_str(&doc, "e-1000");
                    break;
                case 5:
                    text_str(&doc, ".");
                    text_rep(&doc, "9", 1200);
                    break;
                case 6:
                    text_str(&doc, ".");
                    text_rep(&doc, "0", 900);
                    text_str(&doc, "1");
                    break;
                case 7:
                    text_str(&doc, "e+0000000000000000000000000000000000292");
                    break;
                case 8:
                    text_rep(&doc, "0", 292);
                    break;
                case 9:
                    text_str(&doc, "e-");
                    text_str(&doc, mant[m]);
                    break;
                case 10:
                    text_str(&doc, "e");
                    text_str(&doc, mant[m]);
                    break;
                default:
                    text_str(&doc, "e-308");
                    break;
                }
                if (check_same(doc.p, doc.len, 40, &seed))
                    valid++;
                else
                    invalid++;
            }
        }
    }
    fprintf(stderr,
            "json_check generated: %zu documents compared with jansson (%zu valid, %zu "
            "invalid), %zu streamed verdicts\n",
            compared, valid, invalid, feeds);
    cr_assert_gt(valid, 1000);
    cr_assert_gt(invalid, 1000);
    free(doc.p);
    free(mut.p);
}

/* ---- the API ---- */

Test(json_check, api)
{
    struct uvh_json_check jc;
    uvh_json_check_init(&jc);
    cr_assert_null(uvh_json_check_reason(&jc));
    cr_assert_eq(uvh_json_check_feed(&jc, "{\"a\":1,", 7), 0);
    cr_assert_eq(uvh_json_check_feed(&jc, "\"\\u00", 5), 0);
    cr_assert_eq(uvh_json_check_feed(&jc, "61\":2}", 6), -1);
    cr_assert_str_eq(uvh_json_check_reason(&jc), "duplicate object key");
    cr_assert_eq(uvh_json_check_offset(&jc), 14); /* the key's closing quote */
    cr_assert_not(uvh_json_check_nomem(&jc));
    cr_assert_eq(uvh_json_check_feed(&jc, "", 0), -1);
    cr_assert_eq(uvh_json_check_finish(&jc), -1);
    uvh_json_check_deinit(&jc);

    uvh_json_check_init(&jc);
    cr_assert_eq(uvh_json_check_feed(&jc, "[1, 2", 5), 0);
    cr_assert_eq(uvh_json_check_finish(&jc), -1);
    cr_assert_str_eq(uvh_json_check_reason(&jc), "premature end of input");
    cr_assert_eq(uvh_json_check_offset(&jc), 5);
    uvh_json_check_deinit(&jc);

    uvh_json_check_init(&jc);
    cr_assert_eq(uvh_json_check_feed(&jc, "[922337203685477", 16), 0);
    cr_assert_eq(uvh_json_check_feed(&jc, "5808]", 5), -1);
    cr_assert_str_eq(uvh_json_check_reason(&jc), "too big integer");
    uvh_json_check_deinit(&jc);

    uvh_json_check_init(&jc);
    cr_assert_eq(uvh_json_check_feed(&jc, "\"\xe2\x82", 3), 0);
    cr_assert_eq(uvh_json_check_feed(&jc, "\x22", 1), -1);
    cr_assert_str_eq(uvh_json_check_reason(&jc), "invalid UTF-8");
    cr_assert_eq(uvh_json_check_offset(&jc), 3);
    uvh_json_check_deinit(&jc);

    uvh_json_check_init(&jc);
    cr_assert_eq(uvh_json_check_feed(&jc, " {\"k\": [true, 1e-2, \"\\ud83d", 27), 0);
    cr_assert_eq(uvh_json_check_feed(&jc, "\\ude00\"]}", 9), 0);
    cr_assert_eq(uvh_json_check_feed(&jc, " \n", 2), 0);
    cr_assert_eq(uvh_json_check_finish(&jc), 0);
    cr_assert_null(uvh_json_check_reason(&jc));
    uvh_json_check_deinit(&jc);
}

/* ---- (d) memory ---- */

static size_t feed_chunked(const char *p, size_t n, size_t chunk, int *verdict)
{
    struct uvh_json_check jc;
    uvh_json_check_init(&jc);
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i += chunk)
        r = uvh_json_check_feed(&jc, p + i, n - i < chunk ? n - i : chunk);
    *verdict = r ? -1 : uvh_json_check_finish(&jc);
    size_t peak = uvh_json_check_mem_peak(&jc);
    uvh_json_check_deinit(&jc);
    return peak;
}

Test(json_check, memory, .timeout = 60)
{
    const size_t size = 20u << 20, chunk = 64u << 10;
    char *big = malloc(size);
    cr_assert_not_null(big);
    int verdict;

    /* [1,1,1,...] */
    big[0] = '[';
    for (size_t i = 1; i < size - 1; i += 2) {
        big[i] = '1';
        big[i + 1] = ',';
    }
    big[size - 2] = '1';
    big[size - 1] = ']';
    size_t peak = feed_chunked(big, size, chunk, &verdict);
    cr_assert_eq(verdict, 0);
    fprintf(stderr,
            "json_check memory: 20 MiB array of 1s: peak %zu bytes allocated, struct %zu "
            "bytes\n",
            peak, sizeof(struct uvh_json_check));
    cr_assert_lt(peak, 64u << 10);

    /* an array of small objects: key sets are dropped as each object closes */
    static const char obj[] =
        "{\"id\":12345,\"name\":\"x\\u00e9\",\"tags\":[\"a\",\"b\"],\"n\":null},";
    size_t n = 1;
    big[0] = '[';
    while (n + sizeof(obj) < size) {
        memcpy(big + n, obj, sizeof(obj) - 1);
        n += sizeof(obj) - 1;
    }
    big[n - 1] = ']';
    peak = feed_chunked(big, n, chunk, &verdict);
    cr_assert_eq(verdict, 0);
    fprintf(stderr, "json_check memory: %zu MiB array of objects: peak %zu bytes\n", n >> 20, peak);
    cr_assert_lt(peak, 64u << 10);

    /* one long string and one long number */
    big[0] = '"';
    memset(big + 1, 'x', size - 2);
    big[size - 1] = '"';
    peak = feed_chunked(big, size, chunk, &verdict);
    cr_assert_eq(verdict, 0);
    cr_assert_lt(peak, 64u << 10);
    big[0] = '0';
    big[1] = '.';
    memset(big + 2, '7', size - 2);
    peak = feed_chunked(big, size, chunk, &verdict);
    cr_assert_eq(verdict, 0);
    cr_assert_eq(peak, 0);
    free(big);
}

/* ---- (e) the key budget (issue 10 item 14) ---- */

/* The n-th shortest key over [0-9A-Za-z]: "0".."z", then "00".."zz", ... */
static void short_key(size_t n, char *out)
{
    static const char chars[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    size_t len = 1, span = 62;
    while (n >= span) {
        n -= span;
        span *= 62;
        len++;
    }
    out[len] = '\0';
    while (len--) {
        out[len] = chars[n % 62];
        n /= 62;
    }
}

/* Appends members "K":0 with the keys first..first+n-1, comma-separated. */
static void short_members(struct text *t, size_t first, size_t n)
{
    char k[16];
    for (size_t i = 0; i < n; i++) {
        short_key(first + i, k);
        text_fmt(t, "%s\"%s\":0", i ? "," : "", k);
    }
}

/* Feeds p in 64 KiB pieces, as the upload handler does; returns the verdict (0 or -1). */
static int feed_budget(struct uvh_json_check *jc, const char *p, size_t n)
{
    const size_t chunk = 64u << 10;
    for (size_t i = 0; i < n; i += chunk)
        if (uvh_json_check_feed(jc, p + i, n - i < chunk ? n - i : chunk))
            return -1;
    return uvh_json_check_finish(jc);
}

/* The document: one 10 MiB flat object of the shortest distinct keys (some 1.2 million).
 * Keeping every key took ~45 MiB per upload; the check now stops at its budget with a reason
 * of its own (not "out of memory"), never having held more than the budget. */
Test(json_check, regress_10_14_flat_object_key_budget, .timeout = 60)
{
    struct text t = {0};
    size_t n = 0;
    text_str(&t, "{");
    while (t.len < (10u << 20) - 16) {
        char k[16];
        short_key(n, k);
        text_fmt(&t, "%s\"%s\":0", n ? "," : "", k);
        n++;
    }
    text_str(&t, "}");
    cr_assert(jansson_valid(t.p, t.len), "jansson takes it (it builds a tree)");

    struct uvh_json_check jc;
    uvh_json_check_init(&jc);
    int verdict = feed_budget(&jc, t.p, t.len);
    size_t peak = uvh_json_check_mem_peak(&jc);
    fprintf(stderr, "json_check key budget: %zu keys in %zu bytes: verdict %d (%s), peak %zu\n", n,
            t.len, verdict, verdict ? uvh_json_check_reason(&jc) : "valid", peak);
    cr_assert_eq(verdict, -1, "a 10 MiB flat object is over the key budget");
    cr_assert_str_eq(uvh_json_check_reason(&jc), "too many distinct object keys");
    cr_assert(uvh_json_check_over_budget(&jc));
    cr_assert_not(uvh_json_check_nomem(&jc));
    cr_assert_leq(peak, UVH_JSON_CHECK_MEM_MAX, "peak %zu bytes", peak);
    uvh_json_check_deinit(&jc);
    free(t.p);
}

/* Within the budget nothing changes: the largest flat object of short keys that fits is valid,
 * a duplicate of its first key at the end is found, and objects that close give their keys
 * back, so one after another may each come close to the budget. */
Test(json_check, key_budget_within)
{
    struct text t = {0};
    struct uvh_json_check jc;

    /* the most keys that fit: grow until the budget refuses */
    size_t lo = 1000, hi = 400000;
    while (lo + 1 < hi) {
        size_t mid = (lo + hi) / 2;
        t.len = 0;
        text_str(&t, "{");
        short_members(&t, 0, mid);
        text_str(&t, "}");
        uvh_json_check_init(&jc);
        if (feed_budget(&jc, t.p, t.len) == 0)
            lo = mid;
        else
            hi = mid;
        cr_assert_leq(uvh_json_check_mem_peak(&jc), UVH_JSON_CHECK_MEM_MAX);
        uvh_json_check_deinit(&jc);
    }
    fprintf(stderr, "json_check key budget: a flat object of short keys fits %zu keys\n", lo);
    cr_assert_geq(lo, 100000, "the budget should fit 100,000 short keys");

    t.len = 0;
    text_str(&t, "{");
    short_members(&t, 0, lo);
    text_str(&t, "}");
    cr_assert(check_same(t.p, t.len, 0, NULL));
    t.p[t.len - 1] = ',';
    text_str(&t, "\"\\u0030\":1}"); /* "\u0030" is "0", the first key */
    cr_assert_not(check_same(t.p, t.len, 0, NULL));
    uvh_json_check_init(&jc);
    cr_assert_eq(feed_budget(&jc, t.p, t.len), -1);
    cr_assert_str_eq(uvh_json_check_reason(&jc), "duplicate object key");
    cr_assert_not(uvh_json_check_over_budget(&jc));
    uvh_json_check_deinit(&jc);

    /* three big objects one after another (in an array and as siblings), each under it */
    t.len = 0;
    text_str(&t, "[{");
    short_members(&t, 0, lo * 9 / 10);
    text_str(&t, "},{\"x\":{");
    short_members(&t, 0, lo * 9 / 10);
    text_str(&t, "},\"y\":{");
    short_members(&t, 0, lo * 9 / 10);
    text_str(&t, "}}]");
    cr_assert(check_same(t.p, t.len, 0, NULL));

    /* but keys of objects open at once add up */
    t.len = 0;
    text_str(&t, "{");
    short_members(&t, 0, lo * 6 / 10);
    text_str(&t, ",\"_\":{");
    short_members(&t, 0, lo * 6 / 10);
    text_str(&t, "}}");
    cr_assert(jansson_valid(t.p, t.len));
    uvh_json_check_init(&jc);
    cr_assert_eq(feed_budget(&jc, t.p, t.len), -1);
    cr_assert(uvh_json_check_over_budget(&jc));
    uvh_json_check_deinit(&jc);
    free(t.p);
}

/* The differential test again under small budgets: the verdict is jansson's, or "over the
 * budget" (never a wrong valid/invalid), and the peak never passes the budget. */
Test(json_check, key_budget_differential, .timeout = 120)
{
    static const size_t budgets[] = {0, 64, 200, 512, 1024, 4096, 16384};
    struct text doc = {0};
    size_t exact = 0, over = 0;

    for (int i = 0; i < 600; i++) {
        doc.len = 0;
        if (i % 4 == 3) {
            text_str(&doc, "{");
            short_members(&doc, rndn(100), 1 + rndn(3000));
            if (rndn(2))
                text_fmt(&doc, ",\"%zu\":[]", rndn(10)); /* maybe a duplicate */
            text_str(&doc, "}");
        } else if (i % 4 == 2) {
            random_text(&doc, 0);
        } else {
            json_t *tree = random_tree(0);
            char *s = json_dumps(tree, JSON_ENCODE_ANY | JSON_COMPACT);
            cr_assert_not_null(s);
            text_str(&doc, s);
            free(s);
            json_decref(tree);
        }
        bool want = jansson_valid(doc.p, doc.len);
        for (size_t b = 0; b < sizeof(budgets) / sizeof(budgets[0]); b++) {
            struct uvh_json_check jc;
            uvh_json_check_init(&jc);
            jc.mem_max = budgets[b];
            size_t chunk = 1 + rndn(300);
            int r = 0;
            for (size_t k = 0; k < doc.len && r == 0; k += chunk)
                r = uvh_json_check_feed(&jc, doc.p + k, doc.len - k < chunk ? doc.len - k : chunk);
            if (r == 0)
                r = uvh_json_check_finish(&jc);
            cr_assert_leq(uvh_json_check_mem_peak(&jc), budgets[b]);
            if (uvh_json_check_over_budget(&jc)) {
                cr_assert_eq(r, -1);
                over++;
            } else {
                cr_assert_eq(r == 0, want, "doc %d, budget %zu: jansson says %s", i, budgets[b],
                             want ? "valid" : "invalid");
                exact++;
            }
            uvh_json_check_deinit(&jc);
        }
    }
    fprintf(stderr, "json_check key budget: %zu verdicts equal to jansson's, %zu over budget\n",
            exact, over);
    cr_assert_gt(exact, 1000);
    cr_assert_gt(over, 1000);
    free(doc.p);
}
