/* test_response.c - response heads, extra headers, error pages, Content-Disposition and the
 * small helpers of response.h. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "date.h"
#include "request.h"
#include "response.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct uvh_response res;

static void fresh(void)
{
    memset(&res, 0xA5, sizeof(res)); /* reset must clear what it owns */
    uvh_response_reset(&res);
    res.ka_timeout_s = 0;
    res.ka_remaining = 0;
}

/* len bytes of data as a NUL-terminated string in buf, which holds max + 1 bytes. */
static const char *terminated(char *buf, const char *data, size_t len, size_t max)
{
    cr_assert_leq(len, max);
    memcpy(buf, data, len);
    buf[len] = '\0';
    return buf;
}

/* The formatted head as a NUL-terminated string. */
static const char *head(void)
{
    static char buf[UVH_RESPONSE_HEAD_MAX + 1];
    return terminated(buf, res.head, res.head_len, UVH_RESPONSE_HEAD_MAX);
}

/* The extra header lines as a NUL-terminated string. */
static const char *extra(void)
{
    static char buf[UVH_RESPONSE_EXTRA_MAX + 1];
    return terminated(buf, res.extra, res.extra_len, UVH_RESPONSE_EXTRA_MAX);
}

/* Formats the head, which must succeed, and returns it as a string. */
static const char *formatted(void)
{
    int rc = uvh_response_format_head(&res);
    cr_assert_eq(rc, 0, "format_head of a %d response failed: %d", (int)res.status, rc);
    return head();
}

/* True when h holds "\r\n", text and then end, as one run. */
static bool has_after_crlf(const char *h, const char *text, const char *end)
{
    char want[512];
    snprintf(want, sizeof(want), "\r\n%s%s", text, end);
    return strstr(h, want) != NULL;
}

/* True when the head holds exactly this line (CRLF-delimited), not just a substring. */
static bool has_line(const char *h, const char *line)
{
    return has_after_crlf(h, line, "\r\n");
}

static bool has_field(const char *h, const char *name)
{
    return has_after_crlf(h, name, ":");
}

Test(response, reset_clears)
{
    fresh();
    cr_assert_eq(res.status, UVH_STATUS_NONE);
    cr_assert_null(res.content_type);
    cr_assert_eq(res.content_length, 0u);
    cr_assert_not(res.head_only);
    cr_assert_not(res.keep_alive);
    cr_assert_eq(res.extra_len, 0u);
    cr_assert_eq(res.head_len, 0u);
    cr_assert_eq(res.body_len, 0u);
    cr_assert_null(res.served);
    cr_assert_eq(res.bytes_sent, 0u);
}

Test(response, head_200_keep_alive)
{
    fresh();
    res.status = UVH_STATUS_OK;
    res.content_type = "text/html; charset=utf-8";
    res.content_length = 1234;
    res.keep_alive = true;
    res.ka_timeout_s = 30;
    res.ka_remaining = 99;
    const char *h = formatted();

    cr_assert_eq(strlen(h), res.head_len, "head has a NUL inside");
    cr_assert(strncmp(h, "HTTP/1.1 200 OK\r\n", 17) == 0, "status line:\n%s", h);
    static const char *const lines[] = {
        "Content-Type: text/html; charset=utf-8",
        "Content-Length: 1234",
        "Connection: keep-alive",
        "Keep-Alive: timeout=30, max=99",
        "Server: uvhttpd/0.1.0",
        "X-Content-Type-Options: nosniff",
    };
    for (size_t i = 0; i < N(lines); i++)
        cr_assert(has_line(h, lines[i]), "missing \"%s\" in:\n%s", lines[i], h);
    cr_assert(res.head_len >= 4 && strcmp(h + res.head_len - 4, "\r\n\r\n") == 0,
              "head does not end with an empty line:\n%s", h);
    cr_assert_eq(strstr(h, "\r\n\r\n"), h + res.head_len - 4, "an empty line before the end:\n%s",
                 h);

    /* Date: an IMF-fixdate of about now. */
    const char *d = strstr(h, "\r\nDate: ");
    cr_assert_not_null(d, "no Date line in:\n%s", h);
    d += 8;
    cr_assert(strncmp(d + UVH_DATE_LEN, "\r\n", 2) == 0, "Date is not %d characters:\n%s",
              UVH_DATE_LEN, h);
    int64_t t;
    cr_assert_eq(uvh_date_parse((struct uvh_slice){d, UVH_DATE_LEN}, &t), 0,
                 "Date \"%.29s\" is not an HTTP date", d);
    cr_assert(strncmp(d + 3, ", ", 2) == 0 && strncmp(d + 25, " GMT", 4) == 0,
              "Date \"%.29s\" is not an IMF-fixdate", d);
}

Test(response, every_line_ends_with_crlf)
{
    fresh();
    res.status = UVH_STATUS_NOT_FOUND;
    res.content_type = "text/plain";
    cr_assert_eq(uvh_response_add(&res, "X-A", "%d", 1), 0);
    const char *h = formatted();
    for (size_t i = 0; i < res.head_len; i++) {
        if (h[i] == '\n')
            cr_assert(i > 0 && h[i - 1] == '\r', "bare LF at %zu:\n%s", i, h);
        if (h[i] == '\r')
            cr_assert(i + 1 < res.head_len && h[i + 1] == '\n', "bare CR at %zu:\n%s", i, h);
    }
}

Test(response, status_lines)
{
    static const struct {
        enum uvh_status st;
        const char *line;
    } cases[] = {
        {UVH_STATUS_OK, "HTTP/1.1 200 OK\r\n"},
        {UVH_STATUS_NO_CONTENT, "HTTP/1.1 204 No Content\r\n"},
        {UVH_STATUS_PARTIAL_CONTENT, "HTTP/1.1 206 Partial Content\r\n"},
        {UVH_STATUS_NOT_MODIFIED, "HTTP/1.1 304 Not Modified\r\n"},
        {UVH_STATUS_NOT_FOUND, "HTTP/1.1 404 Not Found\r\n"},
        {UVH_STATUS_RANGE_NOT_SATISFIABLE, "HTTP/1.1 416 Range Not Satisfiable\r\n"},
        {UVH_STATUS_HEADER_FIELDS_TOO_LARGE, "HTTP/1.1 431 Request Header Fields Too Large\r\n"},
        {UVH_STATUS_HTTP_VERSION_NOT_SUPPORTED, "HTTP/1.1 505 HTTP Version Not Supported\r\n"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        fresh();
        res.status = cases[i].st;
        const char *h = formatted();
        cr_assert(strncmp(h, cases[i].line, strlen(cases[i].line)) == 0,
                  "status %d: expected %s got:\n%s", cases[i].st, cases[i].line, h);
    }
}

Test(response, bodyless_statuses_have_no_content_length)
{
    static const enum uvh_status bodyless[] = {UVH_STATUS_CONTINUE, UVH_STATUS_NO_CONTENT,
                                               UVH_STATUS_NOT_MODIFIED};
    for (size_t i = 0; i < N(bodyless); i++) {
        fresh();
        res.status = bodyless[i];
        res.content_length = 42;
        res.keep_alive = true;
        const char *h = formatted();
        cr_assert_not(has_field(h, "Content-Length"), "%d has Content-Length:\n%s", bodyless[i], h);
    }

    /* A body-carrying status with length 0 still says so. */
    fresh();
    res.status = UVH_STATUS_OK;
    cr_assert_eq(uvh_response_format_head(&res), 0);
    cr_assert(has_line(head(), "Content-Length: 0"), "200 without body:\n%s", head());

    /* HEAD keeps the GET length. */
    fresh();
    res.status = UVH_STATUS_OK;
    res.head_only = true;
    res.content_length = 5000;
    cr_assert_eq(uvh_response_format_head(&res), 0);
    cr_assert(has_line(head(), "Content-Length: 5000"), "HEAD:\n%s", head());
}

Test(response, close)
{
    fresh();
    res.status = UVH_STATUS_OK;
    res.content_length = 1;
    res.keep_alive = false;
    res.ka_timeout_s = 30;
    res.ka_remaining = 5;
    const char *h = formatted();
    cr_assert(has_line(h, "Connection: close"), "missing Connection: close in:\n%s", h);
    cr_assert_not(has_field(h, "Keep-Alive"), "Keep-Alive with close:\n%s", h);
    cr_assert_null(strstr(h, "keep-alive"), "keep-alive with close:\n%s", h);
}

Test(response, no_content_type_when_unset)
{
    fresh();
    res.status = UVH_STATUS_OK;
    cr_assert_eq(uvh_response_format_head(&res), 0);
    cr_assert_not(has_field(head(), "Content-Type"), "unexpected Content-Type:\n%s", head());
}

Test(response, extra_headers)
{
    fresh();
    res.status = UVH_STATUS_PARTIAL_CONTENT;
    res.content_length = 10;
    cr_assert_eq(uvh_response_add(&res, "Content-Range", "bytes %d-%d/%d", 0, 9, 100), 0);
    cr_assert_eq(uvh_response_add(&res, "ETag", "%s", "\"abc\""), 0);
    cr_assert_eq(uvh_response_add(&res, "Accept-Ranges", "bytes"), 0);
    const char want_extra[] = "Content-Range: bytes 0-9/100\r\nETag: \"abc\"\r\n"
                              "Accept-Ranges: bytes\r\n";
    cr_assert_eq(res.extra_len, sizeof(want_extra) - 1, "extra_len %zu", res.extra_len);
    cr_assert_eq(memcmp(res.extra, want_extra, res.extra_len), 0, "extra: %.*s", (int)res.extra_len,
                 res.extra);

    const char *h = formatted();
    cr_assert(has_line(h, "Content-Range: bytes 0-9/100"), "in:\n%s", h);
    cr_assert(has_line(h, "ETag: \"abc\""), "in:\n%s", h);
    cr_assert(has_line(h, "Accept-Ranges: bytes"), "in:\n%s", h);
    cr_assert(has_line(h, "Content-Length: 10"), "in:\n%s", h);
}

Test(response, extra_headers_overflow)
{
    fresh();
    char value[100];
    memset(value, 'v', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    int added = 0;
    /* Fill to just below the edge. */
    while (res.extra_len + 109 < sizeof(res.extra)) {
        cr_assert_eq(uvh_response_add(&res, "X-Fill", "%s", value), 0, "line %d", added);
        added++;
    }
    /* Each line is 8 + 99 + 2 = 109 bytes. */
    cr_assert_eq(added, (int)(UVH_RESPONSE_EXTRA_MAX / 109), "added %d lines", added);
    cr_assert_eq(res.extra_len, (size_t)added * 109);

    /* The line that does not fit is not cut or skipped: the response is lost, and stays so. */
    cr_assert_eq(uvh_response_add(&res, "X-Big", "%s", value), -1);
    cr_assert_eq(res.extra_len, (size_t)UVH_RESPONSE_EXTRA_LOST);
    cr_assert_eq(uvh_response_add(&res, "X-Small", "s"), -1);
    cr_assert_eq(uvh_response_add_disposition(&res, UVH_SLICE_LIT("a.txt")), -1);
    res.status = UVH_STATUS_OK;
    cr_assert_eq(uvh_response_format_head(&res), -1, "a head without X-Big was formatted");

    /* A single value larger than the whole buffer, and a name longer than it. */
    fresh();
    char huge[UVH_RESPONSE_EXTRA_MAX + 10];
    memset(huge, 'h', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    cr_assert_eq(uvh_response_add(&res, "X-Huge", "%s", huge), -1);
    cr_assert_eq(res.extra_len, (size_t)UVH_RESPONSE_EXTRA_LOST);
    fresh();
    char long_name[UVH_RESPONSE_EXTRA_MAX + 10];
    memset(long_name, 'n', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    cr_assert_eq(uvh_response_add(&res, long_name, "x"), -1);
    cr_assert_eq(res.extra_len, (size_t)UVH_RESPONSE_EXTRA_LOST);
    fresh();
    cr_assert_eq(uvh_response_add_disposition(&res, uvh_slice_from(long_name)), -1);
    cr_assert_eq(res.extra_len, (size_t)UVH_RESPONSE_EXTRA_LOST);
}

Test(response, head_overflow)
{
    static char type[UVH_RESPONSE_HEAD_MAX + 100];
    memset(type, 't', sizeof(type) - 1);
    type[sizeof(type) - 1] = '\0';
    fresh();
    res.status = UVH_STATUS_OK;
    res.content_type = type;
    cr_assert_eq(uvh_response_format_head(&res), -1, "an oversized head was formatted");

    /* A full extra buffer plus a long content type. */
    fresh();
    res.status = UVH_STATUS_OK;
    while (uvh_response_add(&res, "X-Fill", "%s", "0123456789012345678901234567890123456789") == 0)
        ;
    type[UVH_RESPONSE_HEAD_MAX - 1000] = '\0';
    res.content_type = type;
    res.keep_alive = true;
    res.ka_timeout_s = 4000000000u;
    res.ka_remaining = 4000000000u;
    int rc = uvh_response_format_head(&res);
    if (rc == 0)
        cr_assert_leq(res.head_len, (size_t)UVH_RESPONSE_HEAD_MAX);
    else
        cr_assert_eq(rc, -1);
}

Test(response, error_pages)
{
    static const enum uvh_status statuses[] = {
        UVH_STATUS_BAD_REQUEST,
        UVH_STATUS_FORBIDDEN,
        UVH_STATUS_NOT_FOUND,
        UVH_STATUS_METHOD_NOT_ALLOWED,
        UVH_STATUS_REQUEST_TIMEOUT,
        UVH_STATUS_LENGTH_REQUIRED,
        UVH_STATUS_CONTENT_TOO_LARGE,
        UVH_STATUS_URI_TOO_LONG,
        UVH_STATUS_UNSUPPORTED_MEDIA_TYPE,
        UVH_STATUS_RANGE_NOT_SATISFIABLE,
        UVH_STATUS_EXPECTATION_FAILED,
        UVH_STATUS_HEADER_FIELDS_TOO_LARGE,
        UVH_STATUS_INTERNAL_SERVER_ERROR,
        UVH_STATUS_NOT_IMPLEMENTED,
        UVH_STATUS_SERVICE_UNAVAILABLE,
        UVH_STATUS_HTTP_VERSION_NOT_SUPPORTED,
    };
    for (size_t i = 0; i < N(statuses); i++) {
        enum uvh_status st = statuses[i];
        fresh();
        uvh_response_set_error(&res, st);
        cr_assert_eq(res.status, st);
        cr_assert_gt(res.body_len, 0u, "%d: empty error page", st);
        cr_assert_lt(res.body_len, sizeof(res.body), "%d: page fills the buffer", st);
        cr_assert_eq(res.content_length, (uint64_t)res.body_len, "%d: content_length %llu != %zu",
                     st, (unsigned long long)res.content_length, res.body_len);
        cr_assert_not_null(res.content_type);
        cr_assert_str_eq(res.content_type, "text/html; charset=utf-8");

        char body[UVH_RESPONSE_BODY_MAX + 1], want[160];
        memcpy(body, res.body, res.body_len);
        body[res.body_len] = '\0';
        cr_assert_eq(strlen(body), res.body_len, "%d: NUL inside the page", st);
        snprintf(want, sizeof(want), "<title>%d %s</title>", (int)st, uvh_status_reason(st));
        cr_assert_not_null(strstr(body, want), "%d: no %s in:\n%s", st, want, body);
        snprintf(want, sizeof(want), "<h1>%d %s</h1>", (int)st, uvh_status_reason(st));
        cr_assert_not_null(strstr(body, want), "%d: no %s in:\n%s", st, want, body);
        cr_assert_not_null(strstr(body, uvh_status_sentence(st)), "%d: no sentence in:\n%s", st,
                           body);
        cr_assert_not_null(strstr(body, "uvhttpd"), "%d: no server name in:\n%s", st, body);
        cr_assert(strncmp(body, "<!DOCTYPE html>", 15) == 0, "%d: not HTML:\n%s", st, body);

        cr_assert_eq(uvh_response_format_head(&res), 0);
        char cl[64];
        snprintf(cl, sizeof(cl), "Content-Length: %zu", res.body_len);
        cr_assert(has_line(head(), cl), "%d: head lacks %s:\n%s", st, cl, head());
    }
}

Test(response, error_page_404_text)
{
    fresh();
    uvh_response_set_error(&res, UVH_STATUS_NOT_FOUND);
    char body[UVH_RESPONSE_BODY_MAX + 1];
    memcpy(body, res.body, res.body_len);
    body[res.body_len] = '\0';
    cr_assert_not_null(strstr(body, "<title>404 Not Found</title>"), "%s", body);
    cr_assert_not_null(strstr(body, "<h1>404 Not Found</h1>"), "%s", body);
    cr_assert_not_null(strstr(body, "uvhttpd/0.1.0"), "%s", body);
}

Test(response, error_keeps_extra_headers)
{
    fresh();
    cr_assert_eq(uvh_response_add(&res, "Allow", "GET, HEAD"), 0);
    uvh_response_set_error(&res, UVH_STATUS_METHOD_NOT_ALLOWED);
    cr_assert_eq(uvh_response_format_head(&res), 0);
    cr_assert(has_line(head(), "Allow: GET, HEAD"), "%s", head());
    cr_assert(strncmp(head(), "HTTP/1.1 405 Method Not Allowed\r\n", 33) == 0, "%s", head());
}

struct disp_case {
    struct uvh_slice name;
    const char *header; /* the whole expected line without CRLF */
};

#define DCASE(name, header)                                                                        \
    {                                                                                              \
        UVH_SLICE_INIT(name), header                                                               \
    }

Test(response, disposition)
{
    static const struct disp_case cases[] = {
        DCASE("logo.png", "Content-Disposition: attachment; filename=\"logo.png\""),
        DCASE("my file (1).txt", "Content-Disposition: attachment; filename=\"my file (1).txt\""),
        DCASE("a\"b.txt", "Content-Disposition: attachment; filename=\"a_b.txt\""),
        DCASE("a\\b.txt", "Content-Disposition: attachment; filename=\"a_b.txt\""),
        DCASE("q\"\\\".txt", "Content-Disposition: attachment; filename=\"q___.txt\""),
        DCASE("caf\xc3\xa9.txt", "Content-Disposition: attachment; filename=\"caf__.txt\"; "
                                 "filename*=UTF-8''caf%C3%A9.txt"),
        DCASE("\xe6\x97\xa5\xe6\x9c\xac.png", "Content-Disposition: attachment; "
                                              "filename=\"______.png\"; "
                                              "filename*=UTF-8''%E6%97%A5%E6%9C%AC.png"),
        DCASE("\xc3\xa9 \"x\".txt", "Content-Disposition: attachment; filename=\"__ _x_.txt\"; "
                                    "filename*=UTF-8''%C3%A9%20%22x%22.txt"),
    };
    for (size_t i = 0; i < N(cases); i++) {
        fresh();
        cr_assert_eq(uvh_response_add_disposition(&res, cases[i].name), 0, "case %zu failed", i);
        char want[512];
        snprintf(want, sizeof(want), "%s\r\n", cases[i].header);
        cr_assert_eq(res.extra_len, strlen(want), "case %zu: got %.*s expected %s", i,
                     (int)res.extra_len, res.extra, want);
        cr_assert_eq(memcmp(res.extra, want, res.extra_len), 0, "case %zu: got %.*s expected %s", i,
                     (int)res.extra_len, res.extra, want);
    }
}

Test(response, disposition_control_bytes)
{
    /* Control bytes never reach the head: in the quoted form they become '_', and CR/LF cannot
     * start a new header line. */
    static const struct uvh_slice names[] = {
        UVH_SLICE_INIT("a\r\nSet-Cookie: x=1.txt"),
        UVH_SLICE_INIT("tab\there.txt"),
        UVH_SLICE_INIT("nul\0byte.txt"),
        UVH_SLICE_INIT("del\x7f.txt"),
    };
    for (size_t i = 0; i < N(names); i++) {
        fresh();
        cr_assert_eq(uvh_response_add_disposition(&res, names[i]), 0, "case %zu failed", i);
        cr_assert(res.extra_len >= 2 && memcmp(res.extra + res.extra_len - 2, "\r\n", 2) == 0);
        for (size_t k = 0; k + 2 < res.extra_len; k++) {
            unsigned char c = (unsigned char)res.extra[k];
            cr_assert(c >= 0x20 && c < 0x7f, "case %zu: byte 0x%02x at %zu in %.*s", i, c, k,
                      (int)res.extra_len, res.extra);
        }
        /* The quoted form holds the name with every unsafe byte replaced by '_'. */
        char quoted[64];
        size_t q = 0;
        for (size_t k = 0; k < names[i].len; k++) {
            unsigned char c = (unsigned char)names[i].ptr[k];
            quoted[q++] = c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? (char)c : '_';
        }
        quoted[q] = '\0';
        char want[96];
        snprintf(want, sizeof(want), "attachment; filename=\"%s\"", quoted);
        cr_assert_not_null(strstr(extra(), want), "case %zu: no %s in %s", i, want, extra());
    }
}

Test(response, disposition_long_name)
{
    char name[600];
    memset(name, 'n', sizeof(name));
    fresh();
    int rc = uvh_response_add_disposition(&res, (struct uvh_slice){name, sizeof(name)});
    cr_assert_eq(rc, 0, "a 600-byte name failed");
    cr_assert_leq(res.extra_len, sizeof(res.extra));
    cr_assert(memcmp(res.extra + res.extra_len - 3, "\"\r\n", 3) == 0, "%.*s", (int)res.extra_len,
              res.extra);
}

/* Issue 10, item 6: a header that did not fit was silently dropped, so a 301 could go out
 * without Location. A lost header now fails the head; clearing the extra headers (what the
 * connection does before its 500 fallback) makes the head formattable again. */
Test(response, regress_10_6_lost_header_fails_the_head)
{
    static char huge[UVH_RESPONSE_EXTRA_MAX + 10];
    memset(huge, 'h', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';

    fresh();
    res.status = UVH_STATUS_MOVED_PERMANENTLY;
    cr_assert_eq(uvh_response_add(&res, "Location", "%s", huge), -1);
    cr_assert_eq(uvh_response_format_head(&res), -1,
                 "a head whose Location was lost was formatted:\n%s", head());

    /* A loss after headers that did fit, and adds after a loss, fail too. */
    fresh();
    res.status = UVH_STATUS_OK;
    cr_assert_eq(uvh_response_add(&res, "ETag", "\"x\""), 0);
    cr_assert_eq(uvh_response_add(&res, "X-Huge", "%s", huge), -1);
    cr_assert_eq(uvh_response_add(&res, "Accept-Ranges", "bytes"), -1, "added after a loss");
    cr_assert_eq(uvh_response_format_head(&res), -1, "formatted after a loss:\n%s", head());

    /* The connection's fallback: drop the extra headers, answer 500. */
    res.extra_len = 0;
    uvh_response_set_error(&res, UVH_STATUS_INTERNAL_SERVER_ERROR);
    cr_assert_eq(uvh_response_format_head(&res), 0);
    cr_assert(strncmp(head(), "HTTP/1.1 500 ", 13) == 0, "%s", head());
    cr_assert_not(has_field(head(), "ETag"), "%s", head());

    /* A new response starts clean. */
    fresh();
    res.status = UVH_STATUS_OK;
    cr_assert_eq(uvh_response_add(&res, "ETag", "\"x\""), 0);
    cr_assert_eq(uvh_response_format_head(&res), 0);
}

/* The longest Location the server sends: a whole target (a directory named by an 8 KiB target
 * gets its slash) fits, with keep-alive and every fixed header. */
Test(response, regress_10_6_longest_location_fits)
{
    static char target[UVH_REQUEST_LINE_MAX + 2], line[UVH_REQUEST_LINE_MAX + 32];
    memset(target, 'p', UVH_REQUEST_LINE_MAX + 1);
    target[0] = '/';
    target[UVH_REQUEST_LINE_MAX] = '/';
    target[UVH_REQUEST_LINE_MAX + 1] = '\0';

    fresh();
    res.status = UVH_STATUS_MOVED_PERMANENTLY;
    res.content_type = "text/html; charset=utf-8";
    res.content_length = UVH_RESPONSE_BODY_MAX;
    res.keep_alive = true;
    res.ka_timeout_s = 4000000000u;
    res.ka_remaining = 4000000000u;
    cr_assert_eq(uvh_response_add(&res, "Location", "%s", target), 0,
                 "a %zu-byte Location did not fit", strlen(target));
    cr_assert_eq(uvh_response_format_head(&res), 0);
    snprintf(line, sizeof(line), "Location: %s", target);
    cr_assert(strstr(head(), line) != NULL, "Location missing or cut");
}

/* Content-Disposition carries the whole name, never a truncated one: a 600-byte ASCII name,
 * 120 x U+00E9 (244 bytes), and 255 x U+65E5 (765 bytes: NTFS's longest name in UTF-8) next to
 * the other headers of a 200. */
Test(response, regress_10_6_disposition_long_names_whole)
{
    static char name[800], want[4000];
    size_t n = 0, w = 0;

    fresh();
    memset(name, 'n', 600);
    cr_assert_eq(uvh_response_add_disposition(&res, (struct uvh_slice){name, 600}), 0);
    w = (size_t)snprintf(want, sizeof(want), "Content-Disposition: attachment; filename=\"");
    memcpy(want + w, name, 600);
    memcpy(want + w + 600, "\"\r\n", 4);
    cr_assert_str_eq(extra(), want);

    fresh();
    for (int i = 0; i < 120; i++)
        n += (size_t)sprintf(name + n, "\xc3\xa9");
    n += (size_t)sprintf(name + n, ".txt");
    cr_assert_eq(uvh_response_add(&res, "ETag", "\"%s\"", "6b116fe8.1c0430f5-a"), 0);
    cr_assert_eq(uvh_response_add_disposition(&res, (struct uvh_slice){name, n}), 0,
                 "a 244-byte name did not fit");
    w = (size_t)snprintf(want, sizeof(want), "Content-Disposition: attachment; filename=\"");
    memset(want + w, '_', 240);
    w += 240;
    w += (size_t)snprintf(want + w, sizeof(want) - w, ".txt\"; filename*=UTF-8''");
    for (int i = 0; i < 120; i++)
        w += (size_t)snprintf(want + w, sizeof(want) - w, "%%C3%%A9");
    snprintf(want + w, sizeof(want) - w, ".txt\r\n");
    cr_assert(strstr(extra(), want) != NULL, "got %s", extra());

    fresh();
    n = 0;
    for (int i = 0; i < 255; i++)
        n += (size_t)sprintf(name + n, "\xe6\x97\xa5");
    res.status = UVH_STATUS_PARTIAL_CONTENT;
    res.content_type = "application/octet-stream";
    res.keep_alive = true;
    cr_assert_eq(uvh_response_add(&res, "ETag", "\"%s\"", "ffffffffffffffff.ffffffff-ffffffff"), 0);
    cr_assert_eq(uvh_response_add(&res, "Last-Modified", "%s", "Thu, 03 Dec 2026 13:34:32 GMT"), 0);
    cr_assert_eq(uvh_response_add(&res, "Accept-Ranges", "bytes"), 0);
    cr_assert_eq(uvh_response_add_disposition(&res, (struct uvh_slice){name, n}), 0,
                 "a 765-byte name did not fit");
    cr_assert_eq(uvh_response_add(&res, "Content-Range", "bytes %llu-%llu/%llu",
                                  18446744073709551614ull, 18446744073709551614ull,
                                  18446744073709551615ull),
                 0);
    cr_assert_eq(uvh_response_format_head(&res), 0);
    cr_assert(strstr(head(), "%E6%97%A5%E6%97%A5\r\n") != NULL, "%s", head());
}

Test(response, bodyless)
{
    static const struct {
        enum uvh_status st;
        bool bodyless;
    } cases[] = {
        {UVH_STATUS_CONTINUE, true},
        {UVH_STATUS_NO_CONTENT, true},
        {UVH_STATUS_NOT_MODIFIED, true},
        {UVH_STATUS_OK, false},
        {UVH_STATUS_CREATED, false},
        {UVH_STATUS_PARTIAL_CONTENT, false},
        {UVH_STATUS_MOVED_PERMANENTLY, false},
        {UVH_STATUS_NOT_FOUND, false},
        {UVH_STATUS_RANGE_NOT_SATISFIABLE, false},
        {UVH_STATUS_INTERNAL_SERVER_ERROR, false},
    };
    for (size_t i = 0; i < N(cases); i++)
        cr_assert_eq(uvh_response_bodyless(cases[i].st), cases[i].bodyless,
                     "bodyless(%d): expected %d", cases[i].st, cases[i].bodyless);
}

Test(response, date_now)
{
    const char *d = uvh_response_date_now();
    cr_assert_not_null(d);
    cr_assert_eq(strlen(d), (size_t)UVH_DATE_LEN, "\"%s\"", d);
    cr_assert_str_eq(d + UVH_DATE_LEN - 4, " GMT", "\"%s\"", d);
    int64_t t;
    cr_assert_eq(uvh_date_parse(uvh_slice_from(d), &t), 0, "\"%s\" does not parse", d);
    int64_t now = (int64_t)time(NULL);
    cr_assert(t <= now && t >= now - 2, "date_now %s is %lld, now is %lld", d, (long long)t,
              (long long)now);
    /* Cached: the same string while the second has not changed. */
    cr_assert_eq(uvh_response_date_now(), d);
}
