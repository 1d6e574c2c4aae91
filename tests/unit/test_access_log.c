/* test_access_log.c - access log lines (Combined, Common, JSON: fields, escaping, time zone)
 * and the file side: batches written through a real loop, a reopen after a rename, lines
 * dropped (and counted) when the buffers are full, never split. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access_log.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void set_tz(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

static struct uvh_access_entry entry(void)
{
    struct uvh_access_entry e = {
        .peer = "203.0.113.7:51234",
        .method = UVH_SLICE_LIT("GET"),
        .target = UVH_SLICE_LIT("/index.html?q=1"),
        .version = UVH_SLICE_LIT("1.1"),
        .raw_line = UVH_SLICE_LIT("GET /index.html?q=1 HTTP/1.1"),
        .referer = UVH_SLICE_LIT("http://example.com/"),
        .user_agent = UVH_SLICE_LIT("curl/7.88.1"),
        .host = UVH_SLICE_LIT("example.com"),
        .status = 200,
        .body_bytes = 2168,
        .ms = 1.5,
        .when = 1700000000, /* 2023-11-14 22:13:20 UTC */
    };
    return e;
}

static const char *line(enum uvh_access_format f, const struct uvh_access_entry *e)
{
    static char buf[UVH_ACCESS_LINE_MAX + 1];
    size_t n = uvh_access_log_format_line(f, e, buf);
    cr_assert(n > 0 && n <= UVH_ACCESS_LINE_MAX, "length %zu", n);
    cr_assert_eq(buf[n - 1], '\n', "line does not end in a newline");
    cr_assert_null(memchr(buf, '\n', n - 1), "newline inside the line: %.*s", (int)n, buf);
    buf[n] = '\0';
    return buf;
}

Test(access_log, combined_and_common)
{
    struct uvh_access_entry e = entry();
    set_tz("UTC0");
    cr_assert_str_eq(
        line(UVH_ACCESS_COMBINED, &e),
        "203.0.113.7 - - [14/Nov/2023:22:13:20 +0000] \"GET /index.html?q=1 HTTP/1.1\" "
        "200 2168 \"http://example.com/\" \"curl/7.88.1\"\n");
    cr_assert_str_eq(
        line(UVH_ACCESS_COMMON, &e),
        "203.0.113.7 - - [14/Nov/2023:22:13:20 +0000] \"GET /index.html?q=1 HTTP/1.1\" "
        "200 2168\n");
}

Test(access_log, time_zone_offset)
{
    struct uvh_access_entry e = entry();
    set_tz("IST-5:30"); /* UTC+05:30: the next day already */
    e.when = 1700000001;
    cr_assert(strstr(line(UVH_ACCESS_COMMON, &e), "[15/Nov/2023:03:43:21 +0530]"), "%s",
              line(UVH_ACCESS_COMMON, &e));
    cr_assert(strstr(line(UVH_ACCESS_JSON, &e), "\"time\":\"2023-11-15T03:43:21+05:30\""), "%s",
              line(UVH_ACCESS_JSON, &e));
    set_tz("EST5"); /* UTC-05:00 */
    e.when = 1700000002;
    cr_assert(strstr(line(UVH_ACCESS_COMMON, &e), "[14/Nov/2023:17:13:22 -0500]"), "%s",
              line(UVH_ACCESS_COMMON, &e));
}

Test(access_log, absent_fields_and_peers)
{
    struct uvh_access_entry e = entry();
    set_tz("UTC0");
    e.method = e.target = e.version = e.referer = e.user_agent = e.host = e.raw_line =
        (struct uvh_slice){NULL, 0};
    e.status = 400;
    e.body_bytes = 0;
    e.peer = "[2001:db8::1]:443";
    cr_assert_str_eq(line(UVH_ACCESS_COMBINED, &e),
                     "2001:db8::1 - - [14/Nov/2023:22:13:20 +0000] \"-\" 400 - \"-\" \"-\"\n");
    e.peer = "pipe";
    cr_assert_str_eq(line(UVH_ACCESS_COMMON, &e),
                     "pipe - - [14/Nov/2023:22:13:20 +0000] \"-\" 400 -\n");
}

Test(access_log, client_bytes_are_escaped)
{
    static const char target[] = "/a\"b\\c\x01\x1b[31m\xff\r\nX";
    static const char agent[] = "ua\" \"forged";
    struct uvh_access_entry e = entry();
    set_tz("UTC0");
    e.target = (struct uvh_slice){target, sizeof(target) - 1};
    e.user_agent = (struct uvh_slice){agent, sizeof(agent) - 1};
    cr_assert_str_eq(line(UVH_ACCESS_COMBINED, &e),
                     "203.0.113.7 - - [14/Nov/2023:22:13:20 +0000] "
                     "\"GET /a\\x22b\\x5cc\\x01\\x1b[31m\\xff\\x0d\\x0aX HTTP/1.1\" 200 2168 "
                     "\"http://example.com/\" \"ua\\x22 \\x22forged\"\n");

    /* JSON: a valid document whatever the bytes, each one kept (as U+00NN). */
    json_error_t err;
    json_t *j = json_loads(line(UVH_ACCESS_JSON, &e), 0, &err);
    cr_assert_not_null(j, "invalid JSON (%s): %s", err.text, line(UVH_ACCESS_JSON, &e));
    const char *t = json_string_value(json_object_get(j, "target"));
    cr_assert_not_null(t);
    cr_assert_str_eq(t, "/a\"b\\c\x01\x1b[31m\xc3\xbf\r\nX");
    cr_assert_str_eq(json_string_value(json_object_get(j, "user_agent")), agent);
    json_decref(j);
}

Test(access_log, json_fields)
{
    struct uvh_access_entry e = entry();
    set_tz("UTC0");
    json_error_t err;
    json_t *j = json_loads(line(UVH_ACCESS_JSON, &e), 0, &err);
    cr_assert_not_null(j, "%s", err.text);
    cr_assert_str_eq(json_string_value(json_object_get(j, "time")), "2023-11-14T22:13:20+00:00");
    cr_assert_str_eq(json_string_value(json_object_get(j, "client")), "203.0.113.7");
    cr_assert_str_eq(json_string_value(json_object_get(j, "request")),
                     "GET /index.html?q=1 HTTP/1.1");
    cr_assert_str_eq(json_string_value(json_object_get(j, "method")), "GET");
    cr_assert_str_eq(json_string_value(json_object_get(j, "target")), "/index.html?q=1");
    cr_assert_str_eq(json_string_value(json_object_get(j, "protocol")), "HTTP/1.1");
    cr_assert_eq(json_integer_value(json_object_get(j, "status")), 200);
    cr_assert_eq(json_integer_value(json_object_get(j, "bytes")), 2168);
    cr_assert_str_eq(json_string_value(json_object_get(j, "host")), "example.com");
    cr_assert_str_eq(json_string_value(json_object_get(j, "referer")), "http://example.com/");
    cr_assert_str_eq(json_string_value(json_object_get(j, "user_agent")), "curl/7.88.1");
    cr_assert_float_eq(json_real_value(json_object_get(j, "duration_ms")), 1.5, 1e-9);
    json_decref(j);

    e.method = e.target = e.version = e.referer = e.raw_line = (struct uvh_slice){NULL, 0};
    j = json_loads(line(UVH_ACCESS_JSON, &e), 0, &err);
    cr_assert_not_null(j, "%s", err.text);
    cr_assert(json_is_null(json_object_get(j, "request")));
    cr_assert(json_is_null(json_object_get(j, "method")));
    cr_assert(json_is_null(json_object_get(j, "target")));
    cr_assert(json_is_null(json_object_get(j, "protocol")));
    cr_assert(json_is_null(json_object_get(j, "referer")));
    json_decref(j);
}

Test(access_log, long_fields_are_shortened_to_one_line)
{
    static char big[20000];
    memset(big, '\x01', sizeof(big)); /* 4 bytes each once escaped */
    struct uvh_access_entry e = entry();
    e.target = e.referer = e.user_agent = e.host = e.raw_line =
        (struct uvh_slice){big, sizeof(big)};
    e.method = (struct uvh_slice){big, 64};
    for (int f = 0; f < 3; f++) {
        const char *l = line((enum uvh_access_format)f, &e);
        cr_assert(strstr(l, "..."), "format %d: not shortened", f);
    }
    json_error_t err;
    json_t *j = json_loads(line(UVH_ACCESS_JSON, &e), 0, &err);
    cr_assert_not_null(j, "shortened JSON is invalid: %s", err.text);
    json_decref(j);
}

Test(access_log, parse_format)
{
    enum uvh_access_format f;
    cr_assert_eq(uvh_access_log_parse_format("combined", &f), 0);
    cr_assert_eq(f, UVH_ACCESS_COMBINED);
    cr_assert_eq(uvh_access_log_parse_format("common", &f), 0);
    cr_assert_eq(f, UVH_ACCESS_COMMON);
    cr_assert_eq(uvh_access_log_parse_format("json", &f), 0);
    cr_assert_eq(f, UVH_ACCESS_JSON);
    cr_assert_eq(uvh_access_log_parse_format("JSON", &f), UV_EINVAL);
    cr_assert_eq(uvh_access_log_parse_format("", &f), UV_EINVAL);
}

/* ---- the file, through a real loop ---- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    static char buf[4 * UVH_ACCESS_BUF];
    *len = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[*len] = '\0';
    return buf;
}

static size_t count_lines(const char *s, size_t len, const char *prefix)
{
    size_t n = 0;
    for (const char *p = s, *end = s + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        cr_assert_not_null(nl, "last line not terminated");
        cr_assert_eq(strncmp(p, prefix, strlen(prefix)), 0, "line: %.*s", (int)(nl - p), p);
        n++;
        p = nl + 1;
    }
    return n;
}

static bool reopened;
static void on_reopened(void *arg)
{
    (void)arg;
    reopened = true;
}

Test(access_log, batches_reopen_and_drops)
{
    char dir[] = "/tmp/uvh-access-XXXXXX", path[64], rotated[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/access.log", dir);
    snprintf(rotated, sizeof(rotated), "%s/access.log.1", dir);
    uv_loop_t loop;
    struct uvh_access_log l;
    struct uvh_access_entry e = entry();
    uv_loop_init(&loop);
    cr_assert_eq(uvh_access_log_open(&l, &loop, path, UVH_ACCESS_COMMON), 0);

    for (int i = 0; i < 3; i++)
        uvh_access_log_add(&l, &e);
    uvh_access_log_flush(&l);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(rename(path, rotated), 0);
    /* Lines added while the reopen is pending go to the new file, whole. */
    uvh_access_log_reopen(&l, on_reopened, NULL);
    uvh_access_log_add(&l, &e);
    uvh_access_log_add(&l, &e);
    while (!reopened || l.len[l.fill] > 0 || l.writing) {
        uvh_access_log_flush(&l);
        uv_run(&loop, UV_RUN_ONCE);
    }
    size_t len;
    char *s = slurp(rotated, &len);
    cr_assert_eq(count_lines(s, len, "203.0.113.7 - - ["), 3u);
    s = slurp(path, &len);
    cr_assert_eq(count_lines(s, len, "203.0.113.7 - - ["), 2u);

    /* A burst larger than both buffers within one iteration: one buffer goes to the disk, the
     * other fills, the rest is dropped and counted; what is written is whole lines. */
    size_t one = uvh_access_log_format_line(UVH_ACCESS_COMMON, &e, (char[UVH_ACCESS_LINE_MAX]){0});
    size_t burst = 3 * UVH_ACCESS_BUF / one;
    for (size_t i = 0; i < burst; i++)
        uvh_access_log_add(&l, &e);
    cr_assert(l.dropped > 0, "nothing dropped");
    uint64_t dropped = l.dropped;
    uvh_access_log_flush(&l);
    uv_run(&loop, UV_RUN_DEFAULT);
    uvh_access_log_close(&l);
    cr_assert_eq(uv_loop_close(&loop), 0);
    s = slurp(path, &len);
    cr_assert_eq(count_lines(s, len, "203.0.113.7 - - ["), 2 + burst - dropped);
    cr_assert(2 + burst - dropped >= 2 * (UVH_ACCESS_BUF / one), "too few kept");
    remove(path);
    remove(rotated);
    remove(dir);
}
