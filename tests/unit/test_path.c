/* test_path.c - uvh_path_resolve (decoding and confinement of request paths) and
 * uvh_path_check_segment (including the Windows-only rules). */
#include <criterion/criterion.h>

#include <string.h>

#include "path.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct path_case {
    const char *raw;
    enum uvh_status status;
    const char *out; /* for UVH_STATUS_OK */
};

static void check_cases(const struct path_case *cases, size_t n, size_t cap)
{
    for (size_t i = 0; i < n; i++) {
        const struct path_case *c = &cases[i];
        char out[256];
        size_t out_len = 9999;
        cr_assert_leq(cap, sizeof(out));
        memset(out, 'Z', sizeof(out));
        enum uvh_status st = uvh_path_resolve(uvh_slice_from(c->raw), out, cap, &out_len);
        cr_assert_eq(st, c->status, "resolve(\"%s\"): expected %d, got %d", c->raw, c->status, st);
        for (size_t k = cap; k < sizeof(out); k++)
            cr_assert_eq(out[k], 'Z', "resolve(\"%s\"): wrote past cap %zu at %zu", c->raw, cap, k);
        if (c->status != UVH_STATUS_OK)
            continue;
        cr_assert_lt(out_len, cap, "resolve(\"%s\"): length %zu >= cap", c->raw, out_len);
        cr_assert_eq(out[out_len], '\0', "resolve(\"%s\"): not NUL-terminated", c->raw);
        cr_assert_str_eq(out, c->out, "resolve(\"%s\"): expected \"%s\", got \"%s\"", c->raw,
                         c->out, out);
        cr_assert_eq(out_len, strlen(c->out), "resolve(\"%s\"): out_len %zu", c->raw, out_len);
    }
}

Test(path, plain_paths)
{
    static const struct path_case cases[] = {
        {"/", UVH_STATUS_OK, ""},
        {"/a", UVH_STATUS_OK, "a"},
        {"/a/b.txt", UVH_STATUS_OK, "a/b.txt"},
        {"/dir/", UVH_STATUS_OK, "dir/"},
        {"/a/b/c/", UVH_STATUS_OK, "a/b/c/"},
        {"/index.html", UVH_STATUS_OK, "index.html"},
        {"/a.b.c", UVH_STATUS_OK, "a.b.c"},
        {"/file.", UVH_STATUS_OK, "file."}, /* a trailing dot is a Windows-only rule */
        {"/a-b_c~d", UVH_STATUS_OK, "a-b_c~d"},
        {"/caf\xc3\xa9.txt", UVH_STATUS_OK, "caf\xc3\xa9.txt"}, /* raw UTF-8 passes */
    };
    check_cases(cases, N(cases), 256);
}

Test(path, percent_decoding)
{
    static const struct path_case cases[] = {
        {"/with%20space.txt", UVH_STATUS_OK, "with space.txt"},
        {"/100%25.txt", UVH_STATUS_OK, "100%.txt"},
        {"/%61%62%63", UVH_STATUS_OK, "abc"},
        {"/%4A%4a", UVH_STATUS_OK, "JJ"}, /* both hex cases */
        {"/caf%C3%A9", UVH_STATUS_OK, "caf\xc3\xa9"},
        {"/a%2Fb", UVH_STATUS_OK, "a/b"},
        {"/%252e", UVH_STATUS_OK, "%2e"}, /* decoded once only */
        {"/%252e%252e", UVH_STATUS_OK, "%2e%2e"},
        {"/%2e%2e", UVH_STATUS_FORBIDDEN, ""}, /* encoded ".." */
        {"/%2E%2E/x", UVH_STATUS_FORBIDDEN, ""},
        {"/a/%2e/b", UVH_STATUS_FORBIDDEN, ""},
        {"/%2ehidden", UVH_STATUS_FORBIDDEN, ""},
        {"/a%2F..%2Fb", UVH_STATUS_FORBIDDEN, ""}, /* encoded slashes around ".." */
    };
    check_cases(cases, N(cases), 256);
}

Test(path, traversal_and_empty_segments)
{
    static const struct path_case cases[] = {
        {"/..", UVH_STATUS_FORBIDDEN, ""},     {"/../x", UVH_STATUS_FORBIDDEN, ""},
        {"/a/../b", UVH_STATUS_FORBIDDEN, ""}, {"/a/..", UVH_STATUS_FORBIDDEN, ""},
        {"/a/../", UVH_STATUS_FORBIDDEN, ""},  {"/.", UVH_STATUS_FORBIDDEN, ""},
        {"/./x", UVH_STATUS_FORBIDDEN, ""},    {"/a/./b", UVH_STATUS_FORBIDDEN, ""},
        {"//", UVH_STATUS_FORBIDDEN, ""},      {"//x", UVH_STATUS_FORBIDDEN, ""},
        {"/a//b", UVH_STATUS_FORBIDDEN, ""},   {"/a/b//", UVH_STATUS_FORBIDDEN, ""},
        {"/...", UVH_STATUS_FORBIDDEN, ""},
    };
    check_cases(cases, N(cases), 256);
}

Test(path, dotfiles)
{
    static const struct path_case cases[] = {
        {"/.hidden", UVH_STATUS_FORBIDDEN, ""},       {"/.git/config", UVH_STATUS_FORBIDDEN, ""},
        {"/a/.git/", UVH_STATUS_FORBIDDEN, ""},       {"/a/.env", UVH_STATUS_FORBIDDEN, ""},
        {"/.well-known/x", UVH_STATUS_FORBIDDEN, ""},
    };
    check_cases(cases, N(cases), 256);
}

Test(path, backslash_and_colon)
{
    static const struct path_case cases[] = {
        {"/a\\b", UVH_STATUS_FORBIDDEN, ""},  {"/..\\x", UVH_STATUS_FORBIDDEN, ""},
        {"/a%5cb", UVH_STATUS_FORBIDDEN, ""}, {"/a%5Cb", UVH_STATUS_FORBIDDEN, ""},
        {"/C:", UVH_STATUS_FORBIDDEN, ""},    {"/C:/Windows", UVH_STATUS_FORBIDDEN, ""},
        {"/a/b:c", UVH_STATUS_FORBIDDEN, ""}, {"/file.txt::$DATA", UVH_STATUS_FORBIDDEN, ""},
        {"/C%3a", UVH_STATUS_FORBIDDEN, ""},  {"/C%3A/x", UVH_STATUS_FORBIDDEN, ""},
    };
    check_cases(cases, N(cases), 256);
}

Test(path, bad_encoding_and_control_bytes)
{
    static const struct path_case cases[] = {
        {"/%00", UVH_STATUS_BAD_REQUEST, ""},     {"/a%00.txt", UVH_STATUS_BAD_REQUEST, ""},
        {"/a%0d%0a", UVH_STATUS_BAD_REQUEST, ""}, {"/a%1f", UVH_STATUS_BAD_REQUEST, ""},
        {"/a%7f", UVH_STATUS_BAD_REQUEST, ""},    {"/a\x01", UVH_STATUS_BAD_REQUEST, ""},
        {"/a\tb", UVH_STATUS_BAD_REQUEST, ""},    {"/a\x7f", UVH_STATUS_BAD_REQUEST, ""},
        {"/%zz", UVH_STATUS_BAD_REQUEST, ""},     {"/%g0", UVH_STATUS_BAD_REQUEST, ""},
        {"/%0g", UVH_STATUS_BAD_REQUEST, ""},     {"/%2", UVH_STATUS_BAD_REQUEST, ""},
        {"/%", UVH_STATUS_BAD_REQUEST, ""},       {"/a%", UVH_STATUS_BAD_REQUEST, ""},
        {"/a%2", UVH_STATUS_BAD_REQUEST, ""},     {"/%%41", UVH_STATUS_BAD_REQUEST, ""},
        {"/% 41", UVH_STATUS_BAD_REQUEST, ""},
    };
    check_cases(cases, N(cases), 256);
}

Test(path, must_start_with_slash)
{
    static const struct path_case cases[] = {
        {"", UVH_STATUS_BAD_REQUEST, ""},     {"a", UVH_STATUS_BAD_REQUEST, ""},
        {"a/b", UVH_STATUS_BAD_REQUEST, ""},  {"*", UVH_STATUS_BAD_REQUEST, ""},
        {"%2fa", UVH_STATUS_BAD_REQUEST, ""}, {"http://x/a", UVH_STATUS_BAD_REQUEST, ""},
    };
    check_cases(cases, N(cases), 256);
}

Test(path, too_long)
{
    /* cap counts the NUL: 7 bytes of output need cap 8. A path longer than that names no file
     * the caller can open: 404, not 414 (that is for targets over UVH_REQUEST_LINE_MAX). */
    static const struct path_case fits[] = {
        {"/abcdefg", UVH_STATUS_OK, "abcdefg"},
        {"/%61bcdefg", UVH_STATUS_OK, "abcdefg"}, /* the decoded length counts */
        {"/", UVH_STATUS_OK, ""},
    };
    static const struct path_case too_long[] = {
        {"/abcdefgh", UVH_STATUS_NOT_FOUND, ""},
        {"/abcdefghijklmnopqrstuvwxyz", UVH_STATUS_NOT_FOUND, ""},
        {"/%61%62%63%64%65%66%67%68", UVH_STATUS_NOT_FOUND, ""},
    };
    check_cases(fits, N(fits), 8);
    check_cases(too_long, N(too_long), 8);

    /* A cap of 1 leaves room for "" only. */
    static const struct path_case tiny[] = {
        {"/", UVH_STATUS_OK, ""},
        {"/a", UVH_STATUS_NOT_FOUND, ""},
    };
    check_cases(tiny, N(tiny), 1);
}

Test(path, raw_is_not_read_past_its_length)
{
    const char buf[] = "/a/b.txt/../../etc/passwd";
    char out[64];
    size_t out_len = 0;
    enum uvh_status st = uvh_path_resolve((struct uvh_slice){buf, 8}, out, sizeof(out), &out_len);
    cr_assert_eq(st, UVH_STATUS_OK, "resolve of the prefix \"/a/b.txt\": got %d", st);
    cr_assert_str_eq(out, "a/b.txt");
    cr_assert_eq(out_len, 7);
}

struct seg_case {
    const char *seg;
    bool windows;
    enum uvh_status status;
};

Test(path, check_segment)
{
    static const struct seg_case cases[] = {
        {"a", false, UVH_STATUS_OK},
        {"index.html", false, UVH_STATUS_OK},
        {"", false, UVH_STATUS_FORBIDDEN},
        {".", false, UVH_STATUS_FORBIDDEN},
        {"..", false, UVH_STATUS_FORBIDDEN},
        {".hidden", false, UVH_STATUS_FORBIDDEN},
        {"a\\b", false, UVH_STATUS_FORBIDDEN},
        {"a:b", false, UVH_STATUS_FORBIDDEN},
        {"a:b", true, UVH_STATUS_FORBIDDEN},
        {"..", true, UVH_STATUS_FORBIDDEN},
        /* Windows-only rules do not apply elsewhere. */
        {"CON", false, UVH_STATUS_OK},
        {"nul.txt", false, UVH_STATUS_OK},
        {"name.", false, UVH_STATUS_OK},
        {"name ", false, UVH_STATUS_OK},
    };
    for (size_t i = 0; i < N(cases); i++) {
        enum uvh_status st = uvh_path_check_segment(uvh_slice_from(cases[i].seg), cases[i].windows);
        cr_assert_eq(st, cases[i].status, "check_segment(\"%s\", windows=%d): expected %d, got %d",
                     cases[i].seg, cases[i].windows, cases[i].status, st);
    }
}

Test(path, check_segment_windows)
{
    static const struct seg_case cases[] = {
        {"CON", true, UVH_STATUS_FORBIDDEN},     {"con", true, UVH_STATUS_FORBIDDEN},
        {"Prn", true, UVH_STATUS_FORBIDDEN},     {"AUX", true, UVH_STATUS_FORBIDDEN},
        {"nul.txt", true, UVH_STATUS_FORBIDDEN}, {"NUL.tar.gz", true, UVH_STATUS_FORBIDDEN},
        {"COM1", true, UVH_STATUS_FORBIDDEN},    {"com9", true, UVH_STATUS_FORBIDDEN},
        {"LPT1", true, UVH_STATUS_FORBIDDEN},    {"lpt9.log", true, UVH_STATUS_FORBIDDEN},
        {"name.", true, UVH_STATUS_FORBIDDEN},   {"name ", true, UVH_STATUS_FORBIDDEN},
        {"a.txt.", true, UVH_STATUS_FORBIDDEN},  {"console", true, UVH_STATUS_OK},
        {"icon", true, UVH_STATUS_OK},           {"COM0", true, UVH_STATUS_OK},
        {"com10", true, UVH_STATUS_OK},          {"LPT", true, UVH_STATUS_OK},
        {"lpt0.log", true, UVH_STATUS_OK},       {"nully.txt", true, UVH_STATUS_OK},
        {"a.con", true, UVH_STATUS_OK},          {"index.html", true, UVH_STATUS_OK},
    };
    for (size_t i = 0; i < N(cases); i++) {
        enum uvh_status st = uvh_path_check_segment(uvh_slice_from(cases[i].seg), cases[i].windows);
        cr_assert_eq(st, cases[i].status, "check_segment(\"%s\", windows=%d): expected %d, got %d",
                     cases[i].seg, cases[i].windows, cases[i].status, st);
    }
}

Test(path, check_segment_respects_slice_length)
{
    /* "CON" as the first three bytes of "CONSOLE". */
    const char buf[] = "CONSOLE";
    cr_assert_eq(uvh_path_check_segment((struct uvh_slice){buf, 3}, true), UVH_STATUS_FORBIDDEN);
    cr_assert_eq(uvh_path_check_segment((struct uvh_slice){buf, 7}, true), UVH_STATUS_OK);
    /* "ab" before a colon that lies outside the slice. */
    const char buf2[] = "ab:c";
    cr_assert_eq(uvh_path_check_segment((struct uvh_slice){buf2, 2}, false), UVH_STATUS_OK);
}
