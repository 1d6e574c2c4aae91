/* test_host.c - uvh_host_parse (authority syntax, RFC 3986 section 3.2) and the allow-list:
 * uvh_host_add and uvh_host_match. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "host.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct parse_case {
    const char *authority;
    const char *name;
    unsigned port;
};

Test(host, parse_valid)
{
    static const struct parse_case cases[] = {
        {"127.0.0.1:8080", "127.0.0.1", 8080},
        {"127.0.0.1", "127.0.0.1", 0},
        {"localhost", "localhost", 0},
        {"localhost:80", "localhost", 80},
        {"[::1]:8080", "[::1]", 8080},
        {"[::1]", "[::1]", 0},
        {"[2001:db8::a:B:c]:443", "[2001:db8::a:B:c]", 443},
        {"[::ffff:127.0.0.1]:1", "[::ffff:127.0.0.1]", 1},
        {"Example.COM.", "Example.COM", 0}, /* trailing dot dropped, case kept */
        {"example.com.:8080", "example.com", 8080},
        {"a", "a", 0},
        {"a.", "a", 0},
        {"my-host_1~x", "my-host_1~x", 0},
        {"host:65535", "host", 65535},
        {"host:1", "host", 1},
        {"host:00080", "host", 80},
    };
    for (size_t i = 0; i < N(cases); i++) {
        struct uvh_slice name = {NULL, 0};
        unsigned port = 12345;
        int rc = uvh_host_parse(uvh_slice_from(cases[i].authority), &name, &port);
        cr_assert_eq(rc, 0, "parse(\"%s\") rejected it", cases[i].authority);
        cr_assert(uvh_slice_eq(name, uvh_slice_from(cases[i].name)),
                  "parse(\"%s\"): expected name \"%s\", got \"%.*s\"", cases[i].authority,
                  cases[i].name, (int)name.len, name.ptr);
        cr_assert_eq(port, cases[i].port, "parse(\"%s\"): expected port %u, got %u",
                     cases[i].authority, cases[i].port, port);
    }
}

Test(host, parse_invalid)
{
    static const char *const bad[] = {
        "",
        "a b",
        "user@host",
        "user:pw@host",
        "host/path",
        "host?q",
        "host#f",
        "host%41",
        "host:",
        "host:0",
        "host:65536",
        "host:99999",
        "host:123456",
        "host:12a",
        "host:-1",
        "host:+80",
        "host: 80",
        "host:80:80",
        "[::1",
        "[::1]x",
        "[::1]:",
        "[::1]:0",
        "[zz::1]",
        "[1]",
        "[]",
        "::1",
        ":80",
        ".",
        "..",
        ".example.com",
        "exa mple.com",
        "host\r\n",
    };
    for (size_t i = 0; i < N(bad); i++) {
        struct uvh_slice name;
        unsigned port;
        int rc = uvh_host_parse(uvh_slice_from(bad[i]), &name, &port);
        cr_assert_eq(rc, -1, "parse(\"%s\") accepted it", bad[i]);
    }
    /* An embedded NUL inside the slice is invalid too. */
    struct uvh_slice name;
    unsigned port;
    cr_assert_eq(uvh_host_parse((struct uvh_slice){"ho\0st", 5}, &name, &port), -1,
                 "an embedded NUL was accepted");
}

Test(host, parse_too_long)
{
    char buf[UVH_HOST_NAME_MAX + 8];
    memset(buf, 'a', sizeof(buf));
    struct uvh_slice name;
    unsigned port;
    cr_assert_eq(uvh_host_parse((struct uvh_slice){buf, UVH_HOST_NAME_MAX - 1}, &name, &port), 0,
                 "a name of %d bytes was rejected", UVH_HOST_NAME_MAX - 1);
    cr_assert_eq(uvh_host_parse((struct uvh_slice){buf, UVH_HOST_NAME_MAX}, &name, &port), -1,
                 "a name of %d bytes was accepted", UVH_HOST_NAME_MAX);
}

Test(host, parse_respects_slice_length)
{
    const char buf[] = "example.com:8080/path";
    struct uvh_slice name;
    unsigned port;
    cr_assert_eq(uvh_host_parse((struct uvh_slice){buf, 16}, &name, &port), 0);
    cr_assert(uvh_slice_eq(name, UVH_SLICE_LIT("example.com")));
    cr_assert_eq(port, 8080u);
}

struct match_case {
    const char *name;
    unsigned port;
    bool match;
};

Test(host, match)
{
    struct uvh_host_list list = {0};
    cr_assert_eq(uvh_host_add(&list, "LocalHost", 8080, true), 0);
    cr_assert_eq(uvh_host_add(&list, "127.0.0.1", 8080, false), 0);
    cr_assert_eq(uvh_host_add(&list, "[::1]", 8080, false), 0);
    cr_assert_eq(uvh_host_add(&list, "Example.COM", 80, true), 0);
    cr_assert_eq(list.n, 4u);
    cr_assert_str_eq(list.rules[0].name, "localhost", "names are stored lowercase");
    cr_assert_str_eq(list.rules[3].name, "example.com", "names are stored lowercase");

    static const struct match_case cases[] = {
        {"localhost", 8080, true},
        {"LOCALHOST", 8080, true},
        {"LocalHost", 0, true}, /* bare_ok */
        {"localhost", 80, false},
        {"localhost", 8081, false},
        {"127.0.0.1", 8080, true},
        {"127.0.0.1", 0, false}, /* no bare_ok */
        {"127.0.0.1", 80, false},
        {"[::1]", 8080, true},
        {"[::1]", 0, false},
        {"example.com", 80, true},
        {"EXAMPLE.com", 0, true},
        {"example.com", 8080, false},
        {"example.org", 80, false},
        {"localhost.", 8080, false}, /* the trailing dot is dropped by parse, not match */
        {"localhos", 8080, false},
        {"localhostx", 8080, false},
        {"", 8080, false},
    };
    for (size_t i = 0; i < N(cases); i++) {
        bool got = uvh_host_match(&list, uvh_slice_from(cases[i].name), cases[i].port);
        cr_assert_eq(got, cases[i].match, "match(\"%s\", %u): expected %d, got %d", cases[i].name,
                     cases[i].port, cases[i].match, got);
    }
}

Test(host, parse_then_match)
{
    struct uvh_host_list list = {0};
    cr_assert_eq(uvh_host_add(&list, "localhost", 8080, false), 0);
    static const struct match_case cases[] = {
        {"localhost:8080", 0, true},
        {"LOCALHOST.:8080", 0, true},
        {"localhost", 0, false},
        {"localhost:80", 0, false},
    };
    for (size_t i = 0; i < N(cases); i++) {
        struct uvh_slice name;
        unsigned port;
        cr_assert_eq(uvh_host_parse(uvh_slice_from(cases[i].name), &name, &port), 0, "parse(%s)",
                     cases[i].name);
        bool got = uvh_host_match(&list, name, port);
        cr_assert_eq(got, cases[i].match, "Host %s: expected %d, got %d", cases[i].name,
                     cases[i].match, got);
    }
}

Test(host, empty_list_matches_nothing)
{
    struct uvh_host_list list = {0};
    cr_assert_not(uvh_host_match(&list, UVH_SLICE_LIT("localhost"), 0));
    cr_assert_not(uvh_host_match(&list, UVH_SLICE_LIT("localhost"), 8080));
}

Test(host, add_limits)
{
    struct uvh_host_list list = {0};
    char name[32];
    for (int i = 0; i < UVH_HOST_RULES_MAX; i++) {
        snprintf(name, sizeof(name), "h%d", i);
        cr_assert_eq(uvh_host_add(&list, name, 80, false), 0, "add #%d failed", i);
    }
    cr_assert_eq(list.n, (size_t)UVH_HOST_RULES_MAX);
    cr_assert_eq(uvh_host_add(&list, "extra", 80, false), -1, "a full list accepted one more");
    cr_assert_eq(list.n, (size_t)UVH_HOST_RULES_MAX, "a failed add changed the count");
    cr_assert_not(uvh_host_match(&list, UVH_SLICE_LIT("extra"), 80));
    cr_assert(uvh_host_match(&list, UVH_SLICE_LIT("h15"), 80));

    struct uvh_host_list other = {0};
    cr_assert_eq(uvh_host_add(&other, "", 80, true), -1, "an empty name was accepted");
    char long_name[UVH_HOST_NAME_MAX + 1];
    memset(long_name, 'a', sizeof(long_name));
    long_name[UVH_HOST_NAME_MAX] = '\0';
    cr_assert_eq(uvh_host_add(&other, long_name, 80, true), -1, "a %d-byte name was accepted",
                 UVH_HOST_NAME_MAX);
    long_name[UVH_HOST_NAME_MAX - 1] = '\0';
    cr_assert_eq(uvh_host_add(&other, long_name, 80, true), 0, "a %d-byte name was rejected",
                 UVH_HOST_NAME_MAX - 1);
    cr_assert_eq(other.n, 1u);
}
