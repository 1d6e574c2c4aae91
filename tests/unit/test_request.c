/* test_request.c - request assembly by the llhttp callbacks of request.c: the same bytes fed at
 * once, byte by byte and split at every offset give the same request; target splitting, header
 * handling, limits, pipelining and the parser-error to status mapping. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "request.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_DONE 4

/* One parser run over one contiguous buffer. Slices in `done` point into that buffer. */
struct run {
    llhttp_t p;
    struct uvh_request req;
    llhttp_errno_t err;  /* the result that ended the run (HPE_OK when it ran out of bytes) */
    const char *err_pos; /* llhttp_get_error_pos for an error */
    size_t n_done;       /* messages completed */
    struct uvh_request done[MAX_DONE];
};

static void run_init(struct run *r)
{
    memset(r, 0, sizeof(*r));
    llhttp_init(&r->p, HTTP_REQUEST, &uvh_request_settings);
    r->p.data = &r->req;
}

/* Feeds buf[0..n) in pieces ending at the ascending offsets in cuts (then at n), the way conn.c
 * does: each completed message pauses the parser; it is recorded, the parser resumed, and the
 * rest of the piece fed again. Stops at the first error. */
static llhttp_errno_t feed_cuts(struct run *r, const char *buf, size_t n, const size_t *cuts,
                                size_t n_cuts)
{
    size_t from = 0;
    for (size_t i = 0; i <= n_cuts; i++) {
        size_t to = i < n_cuts ? cuts[i] : n;
        const char *at = buf + from;
        size_t len = to - from;
        /* The parser pauses after each head and each message. After a pause it runs again
         * even on no bytes: a message without a body completes right after its head. */
        bool resumed = false;
        while (len > 0 || resumed) {
            resumed = false;
            r->err = llhttp_execute(&r->p, at, len);
            if (r->err == HPE_PAUSED) {
                if (r->req.complete) {
                    cr_assert_lt(r->n_done, (size_t)MAX_DONE, "too many messages");
                    r->done[r->n_done++] = r->req;
                } else {
                    cr_assert(r->req.headers_done, "paused before the head was complete");
                    resumed = true;
                }
                const char *pos = llhttp_get_error_pos(&r->p);
                cr_assert(pos >= at && pos <= at + len, "pause position outside the piece");
                len -= (size_t)(pos - at);
                at = pos;
                llhttp_resume(&r->p);
                r->err = HPE_OK;
                continue;
            }
            if (r->err != HPE_OK) {
                r->err_pos = llhttp_get_error_pos(&r->p);
                return r->err;
            }
            break;
        }
        from = to;
    }
    return r->err;
}

/* Feeds buf in pieces of `step` bytes (AT_ONCE: all of it in one call). */
#define AT_ONCE SIZE_MAX
static llhttp_errno_t feed_step(struct run *r, const char *buf, size_t n, size_t step)
{
    for (size_t from = 0; from < n;) {
        size_t len = n - from > step ? step : n - from;
        if (feed_cuts(r, buf + from, len, NULL, 0) != HPE_OK)
            return r->err;
        from += len;
    }
    return r->err;
}

static const char *step_name(size_t step)
{
    static char buf[48];
    if (step == AT_ONCE)
        return "fed at once";
    snprintf(buf, sizeof(buf), "fed %zu byte(s) at a time", step);
    return buf;
}

static llhttp_errno_t feed_all(struct run *r, const char *buf, size_t n)
{
    run_init(r);
    return feed_cuts(r, buf, n, NULL, 0);
}

/* Shows a slice for messages. */
static const char *show(struct uvh_slice s)
{
    static char bufs[4][128];
    static int next;
    char *b = bufs[next++ % 4];
    if (!s.ptr)
        return "(absent)";
    size_t o = 0;
    b[o++] = '"';
    for (size_t i = 0; i < s.len && o + 6 < sizeof(bufs[0]); i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        o += (size_t)snprintf(b + o, sizeof(bufs[0]) - o, c >= 0x20 && c < 0x7f ? "%c" : "\\x%02x",
                              c);
    }
    b[o++] = '"';
    b[o] = '\0';
    return b;
}

static const char *const hdr_names[UVH_HDR__COUNT] = {
    [UVH_HDR_HOST] = "Host",
    [UVH_HDR_CONNECTION] = "Connection",
    [UVH_HDR_IF_NONE_MATCH] = "If-None-Match",
    [UVH_HDR_IF_MODIFIED_SINCE] = "If-Modified-Since",
    [UVH_HDR_RANGE] = "Range",
    [UVH_HDR_IF_RANGE] = "If-Range",
    [UVH_HDR_CONTENT_TYPE] = "Content-Type",
    [UVH_HDR_EXPECT] = "Expect",
    [UVH_HDR_TRANSFER_ENCODING] = "Transfer-Encoding",
    [UVH_HDR_REFERER] = "Referer",
    [UVH_HDR_USER_AGENT] = "User-Agent",
};

static bool same_slice(struct uvh_slice a, struct uvh_slice b)
{
    return a.ptr == b.ptr && a.len == b.len;
}

/* Two runs over the same buffer must yield the very same slices (same pointers) and counts. */
static void assert_same(const struct uvh_request *a, const struct uvh_request *b, const char *how)
{
#define SAME(f)                                                                                    \
    cr_assert(same_slice(a->f, b->f), "%s: " #f " is %s, fed at once it is %s", how, show(b->f),   \
              show(a->f))
    SAME(method);
    SAME(target);
    SAME(authority);
    SAME(path);
    SAME(query);
    SAME(version);
#undef SAME
    for (int h = 0; h < UVH_HDR__COUNT; h++)
        cr_assert(same_slice(a->hdr[h], b->hdr[h]), "%s: %s is %s, fed at once it is %s", how,
                  hdr_names[h], show(b->hdr[h]), show(a->hdr[h]));
    cr_assert_eq(a->n_fields, b->n_fields, "%s: n_fields %u vs %u", how, b->n_fields, a->n_fields);
    cr_assert_eq(a->n_host, b->n_host, "%s: n_host %u vs %u", how, b->n_host, a->n_host);
    cr_assert_eq(a->headers_done, b->headers_done, "%s: headers_done differs", how);
    cr_assert_eq(a->complete, b->complete, "%s: complete differs", how);
    cr_assert_eq(a->body_bytes, b->body_bytes, "%s: body_bytes %llu vs %llu", how,
                 (unsigned long long)b->body_bytes, (unsigned long long)a->body_bytes);
    cr_assert_eq(a->error, b->error, "%s: error %d vs %d", how, b->error, a->error);
}

static void assert_same_run(const struct run *ref, const struct run *r, const char *how)
{
    cr_assert_eq(r->err, ref->err, "%s: result %s, fed at once %s", how, llhttp_errno_name(r->err),
                 llhttp_errno_name(ref->err));
    cr_assert_eq(r->n_done, ref->n_done, "%s: %zu messages, fed at once %zu", how, r->n_done,
                 ref->n_done);
    for (size_t i = 0; i < r->n_done; i++)
        assert_same(&ref->done[i], &r->done[i], how);
    if (r->n_done == 0 || r->err != HPE_OK)
        assert_same(&ref->req, &r->req, how);
}

/* Feeds buf at once, one byte at a time, in a few chunk sizes and split at every offset; every
 * run must match the first. Returns the reference run. */
static void check_every_split(const char *buf, size_t n, struct run *ref)
{
    static struct run r;
    char how[64];
    feed_all(ref, buf, n);

    static const size_t steps[] = {1, 2, 3, 7, 64};
    for (size_t s = 0; s < N(steps); s++) {
        run_init(&r);
        feed_step(&r, buf, n, steps[s]);
        snprintf(how, sizeof(how), "fed %zu byte(s) at a time", steps[s]);
        assert_same_run(ref, &r, how);
    }
    for (size_t k = 1; k < n; k++) {
        run_init(&r);
        feed_cuts(&r, buf, n, &k, 1);
        snprintf(how, sizeof(how), "split at offset %zu of %zu", k, n);
        assert_same_run(ref, &r, how);
    }
}

/* What a test expects of one parsed request; NULL: absent. */
struct expect {
    const char *method, *target, *authority, *path, *query, *version;
    const char *hdr[UVH_HDR__COUNT];
    unsigned n_fields, n_host;
    unsigned long long body_bytes;
};

static void expect_slice(const char *what, struct uvh_slice got, const char *want, const char *raw)
{
    if (!want) {
        cr_assert_null(got.ptr, "%s: expected absent, got %s\nrequest:\n%s", what, show(got), raw);
        return;
    }
    cr_assert_not_null(got.ptr, "%s: expected \"%s\", got absent\nrequest:\n%s", what, want, raw);
    cr_assert(uvh_slice_eq(got, uvh_slice_from(want)), "%s: expected \"%s\", got %s\nrequest:\n%s",
              what, want, show(got), raw);
}

static void expect_request(const struct uvh_request *r, const struct expect *e, const char *raw)
{
    expect_slice("method", r->method, e->method, raw);
    expect_slice("target", r->target, e->target, raw);
    expect_slice("authority", r->authority, e->authority, raw);
    expect_slice("path", r->path, e->path, raw);
    expect_slice("query", r->query, e->query, raw);
    expect_slice("version", r->version, e->version, raw);
    for (int h = 0; h < UVH_HDR__COUNT; h++)
        expect_slice(hdr_names[h], r->hdr[h], e->hdr[h], raw);
    cr_assert_eq(r->n_fields, e->n_fields, "n_fields: expected %u, got %u\nrequest:\n%s",
                 e->n_fields, r->n_fields, raw);
    cr_assert_eq(r->n_host, e->n_host, "n_host: expected %u, got %u\nrequest:\n%s", e->n_host,
                 r->n_host, raw);
    cr_assert_eq(r->body_bytes, e->body_bytes, "body_bytes: expected %llu, got %llu\nrequest:\n%s",
                 e->body_bytes, (unsigned long long)r->body_bytes, raw);
    cr_assert(r->headers_done && r->complete, "request not complete:\n%s", raw);
    cr_assert_eq(r->error, UVH_STATUS_NONE, "error %d:\n%s", r->error, raw);
}

struct req_case {
    const char *raw;
    struct expect e;
};

/* Parses each case all at once and checks it, then checks every split against that. */
static void check_cases(const struct req_case *cases, size_t n)
{
    static struct run ref;
    for (size_t i = 0; i < n; i++) {
        const char *raw = cases[i].raw;
        size_t len = strlen(raw);
        check_every_split(raw, len, &ref);
        cr_assert_eq(ref.err, HPE_OK, "%s (%s) for:\n%s", llhttp_errno_name(ref.err),
                     llhttp_get_error_reason(&ref.p), raw);
        cr_assert_eq(ref.n_done, 1u, "%zu messages in:\n%s", ref.n_done, raw);
        expect_request(&ref.done[0], &cases[i].e, raw);
    }
}

Test(request, assembly_is_independent_of_splitting)
{
    static const struct req_case cases[] = {
        {"GET /a/b.txt?x=1&y=2 HTTP/1.1\r\n"
         "Host: example.com:8080\r\n"
         "User-Agent: test/1.0\r\n"
         "Referer: http://example.com/from?q=1\r\n"
         "Accept: */*\r\n"
         "Range: bytes=0-9\r\n"
         "If-None-Match: \"abc\", W/\"def\"\r\n"
         "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
         "If-Range: \"abc\"\r\n"
         "Connection: keep-alive\r\n"
         "\r\n",
         {.method = "GET",
          .target = "/a/b.txt?x=1&y=2",
          .path = "/a/b.txt",
          .query = "x=1&y=2",
          .version = "1.1",
          .hdr = {[UVH_HDR_HOST] = "example.com:8080",
                  [UVH_HDR_RANGE] = "bytes=0-9",
                  [UVH_HDR_IF_NONE_MATCH] = "\"abc\", W/\"def\"",
                  [UVH_HDR_IF_MODIFIED_SINCE] = "Sun, 06 Nov 1994 08:49:37 GMT",
                  [UVH_HDR_IF_RANGE] = "\"abc\"",
                  [UVH_HDR_CONNECTION] = "keep-alive",
                  [UVH_HDR_USER_AGENT] = "test/1.0",
                  [UVH_HDR_REFERER] = "http://example.com/from?q=1"},
          .n_fields = 9,
          .n_host = 1}},
        {"POST /api/upload HTTP/1.1\r\n"
         "Host: localhost\r\n"
         "Content-Type: application/json\r\n"
         "Content-Length: 13\r\n"
         "Expect: 100-continue\r\n"
         "\r\n"
         "{\"a\": [1, 2]}",
         {.method = "POST",
          .target = "/api/upload",
          .path = "/api/upload",
          .version = "1.1",
          .hdr = {[UVH_HDR_HOST] = "localhost",
                  [UVH_HDR_CONTENT_TYPE] = "application/json",
                  [UVH_HDR_EXPECT] = "100-continue"},
          .n_fields = 4,
          .n_host = 1,
          .body_bytes = 13}},
        {"PUT /u HTTP/1.1\r\n"
         "Host: x\r\n"
         "Transfer-Encoding: chunked\r\n"
         "\r\n"
         "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
         {.method = "PUT",
          .target = "/u",
          .path = "/u",
          .version = "1.1",
          .hdr = {[UVH_HDR_HOST] = "x", [UVH_HDR_TRANSFER_ENCODING] = "chunked"},
          .n_fields = 2,
          .n_host = 1,
          .body_bytes = 11}},
        {"GET / HTTP/1.0\r\n\r\n", {.method = "GET", .target = "/", .path = "/", .version = "1.0"}},
        {"HEAD /index.html HTTP/1.1\r\nHost: h\r\n\r\n",
         {.method = "HEAD",
          .target = "/index.html",
          .path = "/index.html",
          .version = "1.1",
          .hdr = {[UVH_HDR_HOST] = "h"},
          .n_fields = 1,
          .n_host = 1}},
    };
    check_cases(cases, N(cases));
}

Test(request, targets)
{
    static const struct req_case cases[] = {
        {"GET http://example.com:8080/a?b=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
         {.method = "GET",
          .target = "http://example.com:8080/a?b=1",
          .authority = "example.com:8080",
          .path = "/a",
          .query = "b=1",
          .version = "1.1",
          .hdr = {[UVH_HDR_HOST] = "example.com:8080"},
          .n_fields = 1,
          .n_host = 1}},
        {"GET HTTPS://Example.COM/p/q.txt HTTP/1.1\r\nHost: x\r\n\r\n",
         {.method = "GET",
          .target = "HTTPS://Example.COM/p/q.txt",
          .authority = "Example.COM",
          .path = "/p/q.txt",
          .version = "1.1",
          .hdr = {[UVH_HDR_HOST] = "x"},
          .n_fields = 1,
          .n_host = 1}},
        {"GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n",
         {.method = "GET",
          .target = "http://example.com",
          .authority = "example.com",
          .path = "/",
          .version = "1.1",
          .hdr = {[UVH_HDR_HOST] = "example.com"},
          .n_fields = 1,
          .n_host = 1}},
        {"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
         {.method = "OPTIONS",
          .target = "*",
          .path = "*",
          .version = "1.1",
          .hdr = {[UVH_HDR_HOST] = "x"},
          .n_fields = 1,
          .n_host = 1}},
        {"GET /a? HTTP/1.1\r\nHost: x\r\n\r\n", /* an empty query is present */
         {.method = "GET",
          .target = "/a?",
          .path = "/a",
          .query = "",
          .version = "1.1",
          .hdr = {[UVH_HDR_HOST] = "x"},
          .n_fields = 1,
          .n_host = 1}},
        {"GET /a?x?y=/z HTTP/1.1\r\nHost: x\r\n\r\n", /* the first '?' starts the query */
         {.method = "GET",
          .target = "/a?x?y=/z",
          .path = "/a",
          .query = "x?y=/z",
          .version = "1.1",
          .hdr = {[UVH_HDR_HOST] = "x"},
          .n_fields = 1,
          .n_host = 1}},
        {"GET /with%20space/%2e%2e HTTP/1.1\r\nHost: x\r\n\r\n", /* left encoded */
         {.method = "GET",
          .target = "/with%20space/%2e%2e",
          .path = "/with%20space/%2e%2e",
          .version = "1.1",
          .hdr = {[UVH_HDR_HOST] = "x"},
          .n_fields = 1,
          .n_host = 1}},
    };
    check_cases(cases, N(cases));
}

/* Issue 10, item 7: a fragment is not part of the request target (RFC 9110 section 7.1, RFC 3986
 * section 3.5). Clients must not send one; when one comes, the path and query end before '#'
 * (nginx does the same) while target keeps the bytes as sent, for the log. llhttp itself
 * refuses "http://host#f", a fragment right after the authority (400). */
Test(request, regress_10_7_fragment_is_not_part_of_path_or_query)
{
    static const struct req_case cases[] = {
        {"GET /index.html#top HTTP/1.1\r\nHost: x\r\n\r\n",
         {.method = "GET",
          .target = "/index.html#top",
          .path = "/index.html",
          .version = "1.1",
          .hdr = {[UVH_HDR_HOST] = "x"},
          .n_fields = 1,
          .n_host = 1}},
        {"GET /# HTTP/1.1\r\nHost: x\r\n\r\n",
         {.method = "GET",
          .target = "/#",
          .path = "/",
          .version = "1.1",
          .hdr = {[UVH_HDR_HOST] = "x"},
          .n_fields = 1,
          .n_host = 1}},
        {"GET /a?x=1#f HTTP/1.1\r\nHost: x\r\n\r\n",
         {.method = "GET",
          .target = "/a?x=1#f",
          .path = "/a",
          .query = "x=1",
          .version = "1.1",
          .hdr = {[UVH_HDR_HOST] = "x"},
          .n_fields = 1,
          .n_host = 1}},
        {"GET /a?#f HTTP/1.1\r\nHost: x\r\n\r\n",
         {.method = "GET",
          .target = "/a?#f",
          .path = "/a",
          .query = "",
          .version = "1.1",
          .hdr = {[UVH_HDR_HOST] = "x"},
          .n_fields = 1,
          .n_host = 1}},
        {"GET /a#f?x=1 HTTP/1.1\r\nHost: x\r\n\r\n",
         {.method = "GET",
          .target = "/a#f?x=1",
          .path = "/a",
          .version = "1.1",
          .hdr = {[UVH_HDR_HOST] = "x"},
          .n_fields = 1,
          .n_host = 1}},
        {"GET /a#f#g HTTP/1.1\r\nHost: x\r\n\r\n",
         {.method = "GET",
          .target = "/a#f#g",
          .path = "/a",
          .version = "1.1",
          .hdr = {[UVH_HDR_HOST] = "x"},
          .n_fields = 1,
          .n_host = 1}},
        {"GET http://example.com/p#f HTTP/1.1\r\nHost: x\r\n\r\n",
         {.method = "GET",
          .target = "http://example.com/p#f",
          .authority = "example.com",
          .path = "/p",
          .version = "1.1",
          .hdr = {[UVH_HDR_HOST] = "x"},
          .n_fields = 1,
          .n_host = 1}},
        {"GET http://example.com?q#f HTTP/1.1\r\nHost: x\r\n\r\n",
         {.method = "GET",
          .target = "http://example.com?q#f",
          .authority = "example.com",
          .path = "/",
          .query = "q",
          .version = "1.1",
          .hdr = {[UVH_HDR_HOST] = "x"},
          .n_fields = 1,
          .n_host = 1}},
    };
    check_cases(cases, N(cases));
}

Test(request, absolute_form_with_empty_path_keeps_query)
{
    /* RFC 3986: "http://host?q" has an empty path and the query "q"; the path becomes "/". */
    static const struct req_case cases[] = {
        {"GET http://example.com?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n",
         {.method = "GET",
          .target = "http://example.com?x=1",
          .authority = "example.com",
          .path = "/",
          .query = "x=1",
          .version = "1.1",
          .hdr = {[UVH_HDR_HOST] = "example.com"},
          .n_fields = 1,
          .n_host = 1}},
    };
    check_cases(cases, N(cases));
}

Test(request, header_names_are_case_insensitive)
{
    static const struct req_case cases[] = {
        {"GET / HTTP/1.1\r\n"
         "hOsT: h\r\n"
         "RANGE: bytes=1-2\r\n"
         "if-none-match: \"a\"\r\n"
         "IF-MODIFIED-SINCE: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
         "if-RANGE: \"a\"\r\n"
         "connection: close\r\n"
         "CONTENT-type: text/plain\r\n"
         "eXpEcT: 100-continue\r\n"
         "\r\n",
         {.method = "GET",
          .target = "/",
          .path = "/",
          .version = "1.1",
          .hdr = {[UVH_HDR_HOST] = "h",
                  [UVH_HDR_RANGE] = "bytes=1-2",
                  [UVH_HDR_IF_NONE_MATCH] = "\"a\"",
                  [UVH_HDR_IF_MODIFIED_SINCE] = "Sun, 06 Nov 1994 08:49:37 GMT",
                  [UVH_HDR_IF_RANGE] = "\"a\"",
                  [UVH_HDR_CONNECTION] = "close",
                  [UVH_HDR_CONTENT_TYPE] = "text/plain",
                  [UVH_HDR_EXPECT] = "100-continue"},
          .n_fields = 8,
          .n_host = 1}},
        /* Names that only start like a known one are just counted. */
        {"GET / HTTP/1.1\r\nHost: h\r\nHosts: x\r\nRanges: y\r\nX-Range: z\r\n\r\n",
         {.method = "GET",
          .target = "/",
          .path = "/",
          .version = "1.1",
          .hdr = {[UVH_HDR_HOST] = "h"},
          .n_fields = 4,
          .n_host = 1}},
    };
    check_cases(cases, N(cases));
}

Test(request, values_are_trimmed)
{
    static const struct req_case cases[] = {
        {"GET / HTTP/1.1\r\n"
         "Host: \t example.com \t \r\n"
         "Range:bytes=0-0\r\n"
         "Connection:   keep-alive\r\n"
         "If-None-Match: \"a b\"  \r\n"
         "\r\n",
         {.method = "GET",
          .target = "/",
          .path = "/",
          .version = "1.1",
          .hdr = {[UVH_HDR_HOST] = "example.com",
                  [UVH_HDR_RANGE] = "bytes=0-0",
                  [UVH_HDR_CONNECTION] = "keep-alive",
                  [UVH_HDR_IF_NONE_MATCH] = "\"a b\""},
          .n_fields = 4,
          .n_host = 1}},
        /* An empty value is present but empty. */
        {"GET / HTTP/1.1\r\nHost: h\r\nX-Empty:\r\nRange:\r\nIf-Range:   \r\n\r\n",
         {.method = "GET",
          .target = "/",
          .path = "/",
          .version = "1.1",
          .hdr = {[UVH_HDR_HOST] = "h", [UVH_HDR_RANGE] = "", [UVH_HDR_IF_RANGE] = ""},
          .n_fields = 4,
          .n_host = 1}},
    };
    check_cases(cases, N(cases));
}

Test(request, duplicate_host_keeps_the_first)
{
    static const struct req_case cases[] = {
        {"GET / HTTP/1.1\r\nHost: first\r\nHost: second\r\n\r\n",
         {.method = "GET",
          .target = "/",
          .path = "/",
          .version = "1.1",
          .hdr = {[UVH_HDR_HOST] = "first"},
          .n_fields = 2,
          .n_host = 2}},
        {"GET / HTTP/1.1\r\nHOST: a\r\nX: 1\r\nhost: b\r\nHost: c\r\n\r\n",
         {.method = "GET",
          .target = "/",
          .path = "/",
          .version = "1.1",
          .hdr = {[UVH_HDR_HOST] = "a"},
          .n_fields = 4,
          .n_host = 3}},
        /* A later duplicate of another known header replaces the earlier one. */
        {"GET / HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1\r\nRange: bytes=2-3\r\n\r\n",
         {.method = "GET",
          .target = "/",
          .path = "/",
          .version = "1.1",
          .hdr = {[UVH_HDR_HOST] = "h", [UVH_HDR_RANGE] = "bytes=2-3"},
          .n_fields = 3,
          .n_host = 1}},
    };
    check_cases(cases, N(cases));
}

Test(request, headers_done_before_body)
{
    const char buf[] = "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody";
    size_t head = strlen(buf) - 4;
    static struct run r;
    run_init(&r);
    cr_assert_eq(feed_cuts(&r, buf, head, NULL, 0), HPE_OK);
    cr_assert(r.req.headers_done, "headers_done not set after the head");
    cr_assert_not(r.req.complete, "complete set before the body");
    cr_assert(uvh_slice_eq(r.req.path, UVH_SLICE_LIT("/p")), "path %s", show(r.req.path));
    cr_assert_eq(r.req.body_bytes, 0u);

    cr_assert_eq(feed_cuts(&r, buf + head, 2, NULL, 0), HPE_OK);
    cr_assert_eq(r.req.body_bytes, 2u);
    cr_assert_not(r.req.complete);
    cr_assert_eq(feed_cuts(&r, buf + head + 2, 2, NULL, 0), HPE_OK);
    cr_assert_eq(r.n_done, 1u, "the message did not complete");
    cr_assert(r.done[0].complete);
    cr_assert_eq(r.done[0].body_bytes, 4u);
}

Test(request, pipelined)
{
    const char buf[] = "GET /a HTTP/1.1\r\nHost: one\r\n\r\n"
                       "POST /b?q HTTP/1.1\r\nHost: two\r\nContent-Length: 3\r\n\r\nxyz"
                       "GET /c HTTP/1.1\r\nHost: three\r\n\r\n";
    const size_t n = sizeof(buf) - 1;
    const size_t first_len = strlen("GET /a HTTP/1.1\r\nHost: one\r\n\r\n");

    /* By hand, as conn.c does it: the parser pauses after each head (the body not yet read)
     * and after each message; after a pause it runs on from the pause position. */
    llhttp_t p;
    struct uvh_request req;
    memset(&req, 0, sizeof(req));
    llhttp_init(&p, HTTP_REQUEST, &uvh_request_settings);
    p.data = &req;
    const char *pos = buf;
    llhttp_errno_t err;
#define STEP(expect_complete)                                                                      \
    do {                                                                                           \
        err = llhttp_execute(&p, pos, n - (size_t)(pos - buf));                                    \
        cr_assert_eq(err, HPE_PAUSED, "execute at %td: %s", pos - buf, llhttp_errno_name(err));    \
        cr_assert_eq(req.complete, (expect_complete), "complete at %td", pos - buf);               \
        pos = llhttp_get_error_pos(&p);                                                            \
        llhttp_resume(&p);                                                                         \
    } while (0)

    STEP(false);
    cr_assert(req.headers_done);
    cr_assert_eq(pos, buf + first_len, "the first head ends at %td, not %zu", pos - buf, first_len);
    STEP(true);
    cr_assert(uvh_slice_eq(req.path, UVH_SLICE_LIT("/a")), "first path %s", show(req.path));
    cr_assert(uvh_slice_eq(req.hdr[UVH_HDR_HOST], UVH_SLICE_LIT("one")));
    cr_assert_eq(pos, buf + first_len, "paused at offset %td, the second request starts at %zu",
                 pos - buf, first_len);

    STEP(false);
    cr_assert_eq(req.body_bytes, 0u, "body read before the head was looked at");
    STEP(true);
    cr_assert(uvh_slice_eq(req.method, UVH_SLICE_LIT("POST")), "method %s", show(req.method));
    cr_assert(uvh_slice_eq(req.path, UVH_SLICE_LIT("/b")), "second path %s", show(req.path));
    cr_assert(uvh_slice_eq(req.query, UVH_SLICE_LIT("q")), "second query %s", show(req.query));
    cr_assert(uvh_slice_eq(req.hdr[UVH_HDR_HOST], UVH_SLICE_LIT("two")));
    cr_assert_eq(req.body_bytes, 3u);
    cr_assert_eq(req.n_fields, 2u, "fields of the first request leaked into the second");

    STEP(false);
    STEP(true);
    cr_assert(uvh_slice_eq(req.path, UVH_SLICE_LIT("/c")), "third path %s", show(req.path));
    cr_assert(uvh_slice_eq(req.hdr[UVH_HDR_HOST], UVH_SLICE_LIT("three")));
    cr_assert_eq(pos, buf + n, "the third request does not end the buffer");
#undef STEP

    /* The same three requests, however the bytes are split. */
    static struct run ref;
    check_every_split(buf, n, &ref);
    cr_assert_eq(ref.n_done, 3u, "%zu requests", ref.n_done);
    cr_assert(uvh_slice_eq(ref.done[0].path, UVH_SLICE_LIT("/a")));
    cr_assert(uvh_slice_eq(ref.done[1].path, UVH_SLICE_LIT("/b")));
    cr_assert(uvh_slice_eq(ref.done[2].path, UVH_SLICE_LIT("/c")));
    cr_assert_null(ref.done[0].query.ptr);
    cr_assert_null(ref.done[2].hdr[UVH_HDR_CONTENT_TYPE].ptr);
}

/* Builds "GET /<target_len - 1 bytes> HTTP/1.1\r\nHost: x\r\n\r\n"; caller frees. */
static char *long_target_request(size_t target_len, size_t *n)
{
    size_t cap = target_len + 64;
    char *buf = malloc(cap);
    cr_assert_not_null(buf);
    memcpy(buf, "GET /", 5);
    memset(buf + 5, 'a', target_len - 1);
    *n = 4 + target_len;
    *n += (size_t)snprintf(buf + *n, cap - *n, " HTTP/1.1\r\nHost: x\r\n\r\n");
    return buf;
}

/* Runs buf at once, byte by byte and at a few splits; a callback must stop the parser with
 * req.error == st, and uvh_request_error_status must answer st. */
static void expect_limit_error(const char *buf, size_t n, enum uvh_status st, const char *what)
{
    static struct run r;
    static const size_t steps[] = {AT_ONCE, 1, 1000, 4096};
    for (size_t s = 0; s < N(steps); s++) {
        run_init(&r);
        llhttp_errno_t err = feed_step(&r, buf, n, steps[s]);
        cr_assert(err != HPE_OK && err != HPE_PAUSED, "%s (%s): parsed without error", what,
                  step_name(steps[s]));
        cr_assert_eq(r.n_done, 0u, "%s: a request completed", what);
        cr_assert_eq(r.req.error, st, "%s (%s): expected req.error %d, got %d (%s)", what,
                     step_name(steps[s]), st, r.req.error, llhttp_errno_name(err));
        enum uvh_status got = uvh_request_error_status(&r.p, &r.req, buf, n);
        cr_assert_eq(got, st, "%s (%s): uvh_request_error_status gave %d, expected %d (%s)", what,
                     step_name(steps[s]), got, st, llhttp_errno_name(err));
    }
}

/* The same, for limits enforced in data callbacks, which stop the parser with HPE_USER. */
static void expect_user_error(const char *buf, size_t n, enum uvh_status st, const char *what)
{
    static struct run r;
    run_init(&r);
    llhttp_errno_t err = feed_cuts(&r, buf, n, NULL, 0);
    /* llhttp reports a data callback's error as HPE_USER, a *_complete one's as HPE_CB_*. */
    cr_assert(err == HPE_USER || err == HPE_CB_HEADERS_COMPLETE ||
                  err == HPE_CB_HEADER_VALUE_COMPLETE,
              "%s: expected a callback error, got %s", what, llhttp_errno_name(err));
    expect_limit_error(buf, n, st, what);
}

static void expect_complete(const char *buf, size_t n, const char *what)
{
    static struct run r;
    static const size_t steps[] = {AT_ONCE, 1, 4096};
    for (size_t s = 0; s < N(steps); s++) {
        run_init(&r);
        llhttp_errno_t err = feed_step(&r, buf, n, steps[s]);
        cr_assert_eq(err, HPE_OK, "%s (%s): %s (%s)", what, step_name(steps[s]),
                     llhttp_errno_name(err), llhttp_get_error_reason(&r.p));
        cr_assert_eq(r.n_done, 1u, "%s (%s): not complete", what, step_name(steps[s]));
    }
}

Test(request, target_too_long)
{
    size_t n;
    char *ok = long_target_request(UVH_REQUEST_LINE_MAX, &n);
    expect_complete(ok, n, "a target of exactly UVH_REQUEST_LINE_MAX bytes");
    free(ok);

    char *bad = long_target_request(UVH_REQUEST_LINE_MAX + 1, &n);
    expect_user_error(bad, n, UVH_STATUS_URI_TOO_LONG, "a target one byte too long");
    free(bad);

    bad = long_target_request(3 * UVH_REQUEST_LINE_MAX, &n);
    expect_user_error(bad, n, UVH_STATUS_URI_TOO_LONG, "a target three times too long");
    free(bad);
}

/* "GET / HTTP/1.1\r\n" + n_fields lines "X-<i>: <value_len bytes>\r\n" + "\r\n". */
static char *many_fields_request(size_t n_fields, size_t value_len, size_t *n)
{
    size_t cap = 64 + n_fields * (value_len + 32);
    char *buf = malloc(cap);
    cr_assert_not_null(buf);
    size_t o = (size_t)snprintf(buf, cap, "GET / HTTP/1.1\r\n");
    for (size_t i = 0; i < n_fields; i++) {
        o += (size_t)snprintf(buf + o, cap - o, "X-%zu: ", i);
        memset(buf + o, 'v', value_len);
        o += value_len;
        memcpy(buf + o, "\r\n", 2);
        o += 2;
    }
    memcpy(buf + o, "\r\n", 2);
    *n = o + 2;
    return buf;
}

Test(request, header_section_too_large)
{
    size_t n;
    /* One field just over the limit. */
    char *bad = many_fields_request(1, UVH_REQUEST_HEADERS_MAX + 1, &n);
    expect_user_error(bad, n, UVH_STATUS_HEADER_FIELDS_TOO_LARGE, "one huge field");
    free(bad);

    /* 50 fields of 200 bytes: under the field count, over the size. */
    bad = many_fields_request(50, 200, &n);
    expect_user_error(bad, n, UVH_STATUS_HEADER_FIELDS_TOO_LARGE, "50 fields of 200 bytes");
    free(bad);

    /* 40 fields of 180 bytes (about 7.5 KiB) fit. */
    char *ok = many_fields_request(40, 180, &n);
    expect_complete(ok, n, "40 fields of 180 bytes");
    free(ok);
}

Test(request, too_many_fields)
{
    size_t n;
    char *ok = many_fields_request(UVH_REQUEST_FIELDS_MAX, 1, &n);
    expect_complete(ok, n, "UVH_REQUEST_FIELDS_MAX fields");
    free(ok);

    char *bad = many_fields_request(UVH_REQUEST_FIELDS_MAX + 1, 1, &n);
    expect_limit_error(bad, n, UVH_STATUS_HEADER_FIELDS_TOO_LARGE, "one field too many");
    free(bad);
}

/* A POST with a Content-Length body of `len` bytes; caller frees. */
static char *body_request(size_t len, size_t *n)
{
    char *buf = malloc(len + 128);
    cr_assert_not_null(buf);
    size_t o = (size_t)snprintf(buf, 128,
                                "POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: %zu\r\n\r\n", len);
    memset(buf + o, 'b', len);
    *n = o + len;
    return buf;
}

Test(request, body_too_large)
{
    size_t n;
    char *ok = body_request(UVH_REQUEST_BODY_MAX, &n);
    static struct run r;
    run_init(&r);
    cr_assert_eq(feed_cuts(&r, ok, n, NULL, 0), HPE_OK, "a body of exactly the limit: %s",
                 llhttp_get_error_reason(&r.p));
    cr_assert_eq(r.n_done, 1u);
    cr_assert_eq(r.done[0].body_bytes, (uint64_t)UVH_REQUEST_BODY_MAX);
    free(ok);

    /* (Refusing it from Content-Length alone, before any body byte, is the connection's job
     * at the head pause: see integration malformed::content_length_over_cap_413_before_body.) */
    char *bad = body_request(UVH_REQUEST_BODY_MAX + 1, &n);
    expect_user_error(bad, n, UVH_STATUS_CONTENT_TOO_LARGE, "a body one byte over the limit");
    free(bad);
}

Test(request, chunked_body_too_large)
{
    /* 17 chunks of 64 KiB: one chunk more than the limit. */
    const size_t chunk = 64 * 1024, count = UVH_REQUEST_BODY_MAX / (64 * 1024) + 1;
    size_t cap = 128 + count * (chunk + 16);
    char *buf = malloc(cap);
    cr_assert_not_null(buf);
    size_t o = (size_t)snprintf(
        buf, cap, "POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (size_t i = 0; i < count; i++) {
        o += (size_t)snprintf(buf + o, cap - o, "%zx\r\n", chunk);
        memset(buf + o, 'c', chunk);
        o += chunk;
        memcpy(buf + o, "\r\n", 2);
        o += 2;
    }
    o += (size_t)snprintf(buf + o, cap - o, "0\r\n\r\n");
    expect_user_error(buf, o, UVH_STATUS_CONTENT_TOO_LARGE, "a chunked body over the limit");
    free(buf);
}

struct status_case {
    const char *raw;
    enum uvh_status status;
};

Test(request, error_status)
{
    static const struct status_case cases[] = {
        {"FOO / HTTP/1.1\r\nHost: x\r\n\r\n", UVH_STATUS_NOT_IMPLEMENTED},
        {"get / HTTP/1.1\r\nHost: x\r\n\r\n", UVH_STATUS_NOT_IMPLEMENTED}, /* case-sensitive */
        {"GE / HTTP/1.1\r\nHost: x\r\n\r\n", UVH_STATUS_NOT_IMPLEMENTED},
        {"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n", UVH_STATUS_NOT_IMPLEMENTED},
        {"\x01\x02 / HTTP/1.1\r\n\r\n", UVH_STATUS_BAD_REQUEST},
        {"G@T / HTTP/1.1\r\n\r\n", UVH_STATUS_BAD_REQUEST},
        {"FOO\r\n\r\n", UVH_STATUS_BAD_REQUEST},
        {" GET / HTTP/1.1\r\n\r\n", UVH_STATUS_BAD_REQUEST},
        {"GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
         UVH_STATUS_BAD_REQUEST},
        {"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
         UVH_STATUS_BAD_REQUEST},
        {"GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", UVH_STATUS_BAD_REQUEST},
        {"GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", UVH_STATUS_BAD_REQUEST},
        {"GET / HTTP/1.1\r\nHo\x01st: x\r\n\r\n", UVH_STATUS_BAD_REQUEST},
        {"GET / HTTP/1.1\r\nHost: a\x01z\r\n\r\n", UVH_STATUS_BAD_REQUEST},
        {"GET /\x7f HTTP/1.1\r\n\r\n", UVH_STATUS_BAD_REQUEST},
        {"GET / HTTP/1.x\r\n\r\n", UVH_STATUS_BAD_REQUEST},
        {"GET / XTTP/1.1\r\n\r\n", UVH_STATUS_BAD_REQUEST},
        {"GET / HTTP/1.2\r\n\r\n", UVH_STATUS_HTTP_VERSION_NOT_SUPPORTED},
        {"GET / HTTP/9.9\r\n\r\n", UVH_STATUS_HTTP_VERSION_NOT_SUPPORTED},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", UVH_STATUS_BAD_REQUEST},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
         UVH_STATUS_NOT_IMPLEMENTED},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
         UVH_STATUS_NOT_IMPLEMENTED},
    };
    for (size_t i = 0; i < N(cases); i++) {
        static struct run r;
        const char *raw = cases[i].raw;
        size_t n = strlen(raw);
        llhttp_errno_t err = feed_all(&r, raw, n);
        cr_assert(err != HPE_OK && err != HPE_PAUSED, "parsed without error:\n%s", raw);
        enum uvh_status st = uvh_request_error_status(&r.p, &r.req, raw, n);
        cr_assert_eq(st, cases[i].status, "expected %d, got %d (%s: %s) for:\n%s", cases[i].status,
                     st, llhttp_errno_name(err), llhttp_get_error_reason(&r.p), raw);
    }
}

Test(request, whitespace_before_colon_is_rejected)
{
    /* RFC 9112 section 5.1: a server MUST reject a request with whitespace between a field name
     * and the colon (400). Otherwise "Host : evil" slips past the Host checks. */
    static const char *const raws[] = {
        "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: good\r\nHost : evil\r\n\r\n",
    };
    for (size_t i = 0; i < N(raws); i++) {
        static struct run r;
        size_t n = strlen(raws[i]);
        llhttp_errno_t err = feed_all(&r, raws[i], n);
        cr_assert(err != HPE_OK && err != HPE_PAUSED && r.n_done == 0,
                  "accepted (host %s, n_host %u):\n%s", show(r.done[0].hdr[UVH_HDR_HOST]),
                  r.done[0].n_host, raws[i]);
        enum uvh_status st = uvh_request_error_status(&r.p, &r.req, raws[i], n);
        cr_assert_eq(st, UVH_STATUS_BAD_REQUEST, "expected 400, got %d for:\n%s", st, raws[i]);
    }
}

Test(request, obs_fold_is_rejected_or_replaced)
{
    /* RFC 9112 section 5.2: obs-fold is rejected (400) or each fold is replaced by spaces; a
     * value must never carry the raw CRLF. */
    const char raw[] = "GET / HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"a\",\r\n \"b\"\r\n\r\n";
    static struct run r;
    llhttp_errno_t err = feed_all(&r, raw, sizeof(raw) - 1);
    if (err != HPE_OK || r.n_done == 0) {
        cr_assert_eq(uvh_request_error_status(&r.p, &r.req, raw, sizeof(raw) - 1),
                     UVH_STATUS_BAD_REQUEST);
        return;
    }
    struct uvh_slice v = r.done[0].hdr[UVH_HDR_IF_NONE_MATCH];
    cr_assert_not_null(v.ptr, "If-None-Match lost");
    cr_assert(memchr(v.ptr, '\r', v.len) == NULL && memchr(v.ptr, '\n', v.len) == NULL,
              "If-None-Match value %s keeps the folded line's CRLF", show(v));
}
