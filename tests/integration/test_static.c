/* test_static.c - static files over raw sockets: headers, byte-identical bodies, HEAD,
 * directories, conditionals, ranges and path confinement. Works against an external server. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define OCTET "application/octet-stream"
#define HTML "text/html; charset=utf-8"

/* Copies a header that must be present. */
static void need_header(const struct th_response *r, const char *name, char *out, size_t cap)
{
    cr_assert_not_null(th_header(r, name, out, cap), "header %s missing; head:\n%s", name, r->head);
}

static size_t file_size(const struct th_server *ts, const char *rel)
{
    size_t len = 0;
    char *data = th_read_file(ts, rel, &len);
    cr_assert_not_null(data, "cannot read %s", rel);
    free(data);
    return len;
}

/* GET url on a new connection must answer 200 with the bytes of the file rel. */
static void expect_served(const struct th_server *ts, const char *url, const char *rel)
{
    struct th_response r;
    th_get(ts, &r, url, 200);
    th_expect_body_is_file(ts, &r, rel);
    th_response_free(&r);
}

Test(static, index_headers, .timeout = 30)
{
    struct th_server ts;
    struct th_response r;
    char v[256];

    th_start(&ts, NULL);
    th_get(&ts, &r, "/", 200);
    th_expect_body_is_file(&ts, &r, "index.html");
    th_expect_header(&r, "Content-Type", HTML);
    th_expect_no_header(&r, "Content-Disposition");
    snprintf(v, sizeof(v), "%zu", file_size(&ts, "index.html"));
    th_expect_header(&r, "Content-Length", v);
    need_header(&r, "ETag", v, sizeof(v));
    cr_expect(v[0] == '"' && v[strlen(v) - 1] == '"', "ETag is not a quoted strong tag: %s", v);
    need_header(&r, "Last-Modified", v, sizeof(v));
    cr_expect(strlen(v) == 29 && strcmp(v + 25, " GMT") == 0, "Last-Modified: %s", v);
    need_header(&r, "Date", v, sizeof(v));
    cr_expect(strlen(v) == 29 && strcmp(v + 25, " GMT") == 0, "Date: %s", v);
    th_expect_header(&r, "Accept-Ranges", "bytes");
    need_header(&r, "Server", v, sizeof(v));
    cr_expect(strncmp(v, "uvhttpd/", 8) == 0, "Server: %s", v);
    th_expect_header(&r, "X-Content-Type-Options", "nosniff");
    th_expect_header(&r, "Connection", "keep-alive");
    th_expect_header(&r, "Keep-Alive", "timeout=30, max=99");
    cr_expect(strncmp(r.head, "HTTP/1.1 200 OK\r\n", 17) == 0, "status line: %.40s", r.head);
    th_response_free(&r);
    th_stop(&ts);
}

struct sample {
    const char *url;  /* request path, percent-encoded */
    const char *rel;  /* file under the root */
    const char *type; /* Content-Type */
    const char *name; /* Content-Disposition filename, NULL when served inline */
};

static const struct sample samples[] = {
    {"/index.html", "index.html", HTML, NULL},
    {"/about.html", "about.html", HTML, NULL},
    {"/contact.html", "contact.html", HTML, NULL},
    {"/sample.txt", "sample.txt", OCTET, "sample.txt"},
    {"/notes.txt", "notes.txt", OCTET, "notes.txt"},
    {"/logo.png", "logo.png", OCTET, "logo.png"},
    {"/banner.png", "banner.png", OCTET, "banner.png"},
    {"/large_photo1.png", "large_photo1.png", OCTET, "large_photo1.png"},
    {"/photo.jpg", "photo.jpg", OCTET, "photo.jpg"},
    {"/photo1.jpg", "photo1.jpg", OCTET, "photo1.jpg"},
    {"/data.json", "data.json", "application/json", NULL},
    {"/UPPER.HTML", "UPPER.HTML", HTML, NULL},
    {"/nested/page.html", "nested/page.html", HTML, NULL},
    {"/noindex/a.txt", "noindex/a.txt", OCTET, "a.txt"},
    {"/with%20space.txt", "with space.txt", OCTET, "with space.txt"},
    {"/100%25.txt", "100%.txt", OCTET, "100%.txt"},
};

Test(static, every_sample_file_byte_identical, .timeout = 30)
{
    struct th_server ts;
    struct th_response r;
    char v[512];

    th_start(&ts, NULL);
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        const struct sample *s = &samples[i];
        th_get(&ts, &r, s->url, 200);
        th_expect_body_is_file(&ts, &r, s->rel);
        th_expect_header(&r, "Content-Type", s->type);
        snprintf(v, sizeof(v), "%zu", file_size(&ts, s->rel));
        th_expect_header(&r, "Content-Length", v);
        if (s->name) {
            snprintf(v, sizeof(v), "attachment; filename=\"%s\"", s->name);
            th_expect_header(&r, "Content-Disposition", v);
        } else {
            th_expect_no_header(&r, "Content-Disposition");
        }
        th_response_free(&r);
    }
    th_stop(&ts);
}

Test(static, keep_alive_downloads_byte_identical, .timeout = 30)
{
    struct th_server ts;

    th_start(&ts, NULL);
    int fd = th_connect(&ts);
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        th_send_get(&ts, fd, samples[i].url);
        th_expect_file_response(&ts, fd, samples[i].rel, samples[i].url);
    }
    close(fd);
    th_stop(&ts);
}

/* Reads one Content-Length framed response per socket, all sockets at once. */
struct download {
    int fd;
    char *buf;
    size_t len, cap;
    size_t head_len, want; /* want: head + body, known once the head is in */
    bool done;
};

Test(static, parallel_large_downloads, .timeout = 30)
{
    enum { N = 5 };
    struct th_server ts;
    struct download d[N];
    size_t size = 0;

    th_start(&ts, NULL);
    char *file = th_read_file(&ts, "large_photo1.png", &size);
    cr_assert_not_null(file);
    for (int i = 0; i < N; i++) {
        d[i] = (struct download){th_connect(&ts), NULL, 0, size + 8192, 0, 0, false};
        d[i].buf = malloc(d[i].cap);
        cr_assert_not_null(d[i].buf);
        th_send_get(&ts, d[i].fd, "/large_photo1.png");
    }
    for (int left = N; left > 0;) {
        struct pollfd p[N];
        for (int i = 0; i < N; i++)
            p[i] = (struct pollfd){d[i].done ? -1 : d[i].fd, POLLIN, 0};
        cr_assert_gt(poll(p, N, 5000), 0, "downloads stalled");
        for (int i = 0; i < N; i++) {
            if (d[i].done || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = recv(d[i].fd, d[i].buf + d[i].len, d[i].cap - d[i].len, 0);
            cr_assert_gt(n, 0, "download %d: connection ended after %zu bytes", i, d[i].len);
            d[i].len += (size_t)n;
            if (!d[i].head_len) {
                char *end = memmem(d[i].buf, d[i].len, "\r\n\r\n", 4);
                if (!end)
                    continue;
                d[i].head_len = (size_t)(end - d[i].buf) + 4;
                cr_assert(strncmp(d[i].buf, "HTTP/1.1 200 ", 13) == 0, "download %d: %.40s", i,
                          d[i].buf);
                char cl[64];
                snprintf(cl, sizeof(cl), "\r\nContent-Length: %zu\r\n", size);
                cr_assert_not_null(memmem(d[i].buf, d[i].head_len, cl, strlen(cl)),
                                   "download %d: no Content-Length %zu", i, size);
                d[i].want = d[i].head_len + size;
            }
            if (d[i].len >= d[i].want) {
                cr_expect_eq(d[i].len, d[i].want, "download %d: extra bytes", i);
                cr_expect(memcmp(d[i].buf + d[i].head_len, file, size) == 0,
                          "download %d: body differs from the file", i);
                d[i].done = true;
                left--;
            }
        }
    }
    for (int i = 0; i < N; i++) {
        close(d[i].fd);
        free(d[i].buf);
    }
    free(file);
    th_stop(&ts);
}

/* HEAD answers with GET's headers and no body: the next response on the connection parses. */
static void check_head_like_get(const struct th_server *ts, const char *path, const char *rel)
{
    static const char *const same[] = {"Content-Type",  "Content-Length",      "ETag",
                                       "Last-Modified", "Content-Disposition", "Accept-Ranges",
                                       "Connection"};
    struct th_response g, h;
    char gv[512], hv[512], what[128];

    th_get(ts, &g, path, 200);
    int fd = th_connect(ts);
    th_sendf(ts, fd, "HEAD %s HTTP/1.1\r\nHost: {HOST}\r\n\r\n", path);
    snprintf(what, sizeof(what), "HEAD %s", path);
    th_read_status(fd, &h, true, 200, what);
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        const char *a = th_header(&g, same[i], gv, sizeof(gv));
        const char *b = th_header(&h, same[i], hv, sizeof(hv));
        cr_expect((a == NULL) == (b == NULL), "HEAD %s: %s present in only one of GET/HEAD", path,
                  same[i]);
        if (a && b)
            cr_expect_str_eq(a, b, "HEAD %s: %s differs (GET %s, HEAD %s)", path, same[i], a, b);
    }
    snprintf(gv, sizeof(gv), "%zu", file_size(ts, rel));
    th_expect_header(&h, "Content-Length", gv);
    th_response_free(&h);
    th_response_free(&g);

    /* Any body bytes after the HEAD head would be read as the start of this response. */
    snprintf(what, sizeof(what), "HEAD %s sent body bytes?", path);
    th_expect_usable(ts, fd, "sample.txt", what);
    close(fd);
}

Test(static, head_same_headers_no_body, .timeout = 30)
{
    struct th_server ts;
    th_start(&ts, NULL);
    check_head_like_get(&ts, "/index.html", "index.html");
    check_head_like_get(&ts, "/sample.txt", "sample.txt");
    check_head_like_get(&ts, "/large_photo1.png", "large_photo1.png");
    th_stop(&ts);
}

Test(static, head_no_body_peek, .timeout = 30)
{
    struct th_server ts;
    struct th_response r;
    char c;

    th_start(&ts, NULL);
    int fd = th_connect(&ts);
    th_sendf(&ts, fd, "HEAD /logo.png HTTP/1.1\r\nHost: {HOST}\r\n\r\n");
    th_read_status(fd, &r, true, 200, "HEAD /logo.png");
    th_response_free(&r);
    /* Nothing else may arrive. */
    struct pollfd p = {fd, POLLIN, 0};
    int n = poll(&p, 1, 300);
    cr_expect(n == 0 || recv(fd, &c, 1, MSG_DONTWAIT) <= 0, "HEAD response carried body bytes");
    close(fd);
    th_stop(&ts);
}

Test(static, directory_index, .timeout = 30)
{
    struct th_server ts;
    struct th_response r;

    th_start(&ts, NULL);
    th_get(&ts, &r, "/nested/", 200);
    th_expect_body_is_file(&ts, &r, "nested/index.html");
    th_expect_header(&r, "Content-Type", HTML);
    th_response_free(&r);
    th_stop(&ts);
}

Test(static, directory_without_slash_redirects, .timeout = 30)
{
    struct th_server ts;
    struct th_response r;

    th_start(&ts, NULL);
    th_get(&ts, &r, "/nested", 301);
    th_expect_header(&r, "Location", "/nested/");
    th_expect_header(&r, "Connection", "keep-alive");
    th_response_free(&r);
    th_get(&ts, &r, "/nested?x=1", 301);
    th_expect_header(&r, "Location", "/nested/?x=1");
    th_response_free(&r);
    th_stop(&ts);
}

Test(static, directory_without_index_404, .timeout = 30)
{
    struct th_server ts;
    struct th_response r;

    th_start(&ts, NULL);
    th_get(&ts, &r, "/noindex/", 404);
    th_response_free(&r);
    th_stop(&ts);
}

Test(static, missing_file_404_page, .timeout = 30)
{
    struct th_server ts;
    struct th_response r;
    char v[64];

    th_start(&ts, NULL);
    th_get(&ts, &r, "/does-not-exist.html", 404);
    th_expect_header(&r, "Content-Type", HTML);
    snprintf(v, sizeof(v), "%zu", r.body_len);
    th_expect_header(&r, "Content-Length", v);
    cr_expect_not_null(strstr(r.body, "404 Not Found"), "body: %s", r.body);
    th_expect_no_header(&r, "ETag");
    th_expect_header(&r, "Connection", "keep-alive");
    th_response_free(&r);
    th_get(&ts, &r, "/missing.css", 404);
    th_response_free(&r);
    th_get(&ts, &r, "/nested/missing/deeper.txt", 404);
    th_response_free(&r);
    th_stop(&ts);
}

Test(static, unknown_type_415, .timeout = 30)
{
    struct th_server ts;
    struct th_response r;

    th_start(&ts, NULL);
    th_get(&ts, &r, "/style.css", 415);
    cr_expect_not_null(strstr(r.body, "415"), "body: %s", r.body);
    th_response_free(&r);
    th_stop(&ts);
}

Test(static, query_string_ignored, .timeout = 30)
{
    struct th_server ts;
    struct th_response r;

    th_start(&ts, NULL);
    th_get(&ts, &r, "/sample.txt?x=1", 200);
    th_expect_body_is_file(&ts, &r, "sample.txt");
    th_expect_header(&r, "Content-Disposition", "attachment; filename=\"sample.txt\"");
    th_response_free(&r);
    expect_served(&ts, "/?a=b&c", "index.html");
    th_stop(&ts);
}

Test(static, percent_encoded_names, .timeout = 30)
{
    struct th_server ts;

    th_start(&ts, NULL);
    expect_served(&ts, "/with%20space.txt", "with space.txt");
    expect_served(&ts, "/100%25.txt", "100%.txt");
    expect_served(&ts, "/%73ample.txt", "sample.txt"); /* %73 = 's' */
    th_stop(&ts);
}

Test(static, utf8_name_disposition, .timeout = 30)
{
    struct th_server ts;
    struct th_response r;
    char v[512];

    th_start(&ts, NULL);
    th_get(&ts, &r, "/caf%C3%A9.txt", 200);
    th_expect_body_is_file(&ts, &r, "caf\xc3\xa9.txt");
    th_expect_header(&r, "Content-Type", OCTET);
    need_header(&r, "Content-Disposition", v, sizeof(v));
    cr_expect_not_null(strstr(v, "filename*=UTF-8''caf%C3%A9.txt"), "Content-Disposition: %s", v);
    cr_expect(strncmp(v, "attachment;", 11) == 0, "Content-Disposition: %s", v);
    for (const char *p = v; *p; p++)
        cr_expect((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f,
                  "non-ASCII byte in Content-Disposition: %s", v);
    th_response_free(&r);
    th_stop(&ts);
}

Test(static, empty_file, .timeout = 30)
{
    struct th_server ts;
    struct th_response r;

    th_start(&ts, NULL);
    int fd = th_connect(&ts);
    th_send_get(&ts, fd, "/empty.txt");
    th_read_status(fd, &r, false, 200, "GET /empty.txt");
    th_expect_header(&r, "Content-Length", "0");
    cr_expect_eq(r.body_len, 0);
    th_response_free(&r);
    /* Still usable: no stray bytes were sent for the empty body. */
    th_expect_usable(&ts, fd, "notes.txt", "after the empty body");
    close(fd);
    th_stop(&ts);
}

/* ---- conditional requests ---- */

/* The validators the server sends for /sample.txt. */
static void validators(const struct th_server *ts, char *etag, char *lm)
{
    struct th_response r;
    th_get(ts, &r, "/sample.txt", 200);
    need_header(&r, "ETag", etag, 128);
    need_header(&r, "Last-Modified", lm, 64);
    th_response_free(&r);
}

/* Sends GET /sample.txt with one extra header line; returns the response on r. */
static void cond_get(const struct th_server *ts, struct th_response *r, bool head,
                     const char *extra)
{
    cr_assert_eq(th_request(ts, r, head, "%s /sample.txt HTTP/1.1\r\nHost: {HOST}\r\n%s\r\n\r\n",
                            head ? "HEAD" : "GET", extra),
                 0, "no response with %s", extra);
}

static void expect_304(const struct th_server *ts, const char *extra, const char *etag)
{
    struct th_response r;
    cond_get(ts, &r, false, extra);
    cr_expect_eq(r.status, 304, "%s: status %d, want 304", extra, r.status);
    if (r.status == 304) {
        th_expect_no_header(&r, "Content-Length");
        th_expect_header(&r, "ETag", etag);
    }
    th_response_free(&r);
}

static void expect_full_200(const struct th_server *ts, const char *extra)
{
    struct th_response r;
    cond_get(ts, &r, false, extra);
    cr_expect_eq(r.status, 200, "%s: status %d, want 200", extra, r.status);
    if (r.status == 200)
        th_expect_body_is_file(ts, &r, "sample.txt");
    th_response_free(&r);
}

Test(static, if_none_match_304, .timeout = 30)
{
    struct th_server ts;
    struct th_response r;
    char etag[128], lm[64], h[512];

    th_start(&ts, NULL);
    validators(&ts, etag, lm);
    /* The 304 must carry no body: a second request on the connection must parse. */
    int fd = th_connect(&ts);
    th_sendf(&ts, fd, "GET /sample.txt HTTP/1.1\r\nHost: {HOST}\r\nIf-None-Match: %s\r\n\r\n",
             etag);
    th_read_status(fd, &r, false, 304, "If-None-Match");
    th_expect_no_header(&r, "Content-Length");
    th_expect_header(&r, "ETag", etag);
    th_expect_header(&r, "Last-Modified", lm);
    cr_expect_eq(r.body_len, 0);
    th_response_free(&r);
    th_expect_usable(&ts, fd, "notes.txt", "after 304");
    close(fd);

    snprintf(h, sizeof(h), "If-None-Match: \"x\", %s", etag);
    expect_304(&ts, h, etag);
    expect_304(&ts, "If-None-Match: *", etag);
    snprintf(h, sizeof(h), "If-None-Match: W/%s", etag);
    expect_304(&ts, h, etag);
    th_stop(&ts);
}

Test(static, if_none_match_miss_200, .timeout = 30)
{
    struct th_server ts;
    char etag[128], lm[64], h[512];

    th_start(&ts, NULL);
    validators(&ts, etag, lm);
    expect_full_200(&ts, "If-None-Match: \"nope\"");
    expect_full_200(&ts, "If-None-Match: \"a\", \"b\"");
    /* If-None-Match wins over a matching If-Modified-Since (RFC 9110 section 13.1.3). */
    snprintf(h, sizeof(h), "If-None-Match: \"nope\"\r\nIf-Modified-Since: %s", lm);
    expect_full_200(&ts, h);
    th_stop(&ts);
}

Test(static, if_modified_since, .timeout = 30)
{
    struct th_server ts;
    char etag[128], lm[64], h[512];

    th_start(&ts, NULL);
    validators(&ts, etag, lm);
    snprintf(h, sizeof(h), "If-Modified-Since: %s", lm);
    expect_304(&ts, h, etag);
    expect_full_200(&ts, "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT");
    expect_full_200(&ts, "If-Modified-Since: not a date");
    th_stop(&ts);
}

/* ---- ranges ---- */

static void expect_206(const struct th_server *ts, const char *extra, size_t first, size_t last)
{
    struct th_response r;
    size_t size = 0;
    char *file = th_read_file(ts, "sample.txt", &size);
    char cr[128], cl[32];

    cond_get(ts, &r, false, extra);
    cr_expect_eq(r.status, 206, "%s: status %d, want 206", extra, r.status);
    if (r.status == 206) {
        snprintf(cr, sizeof(cr), "bytes %zu-%zu/%zu", first, last, size);
        th_expect_header(&r, "Content-Range", cr);
        snprintf(cl, sizeof(cl), "%zu", last - first + 1);
        th_expect_header(&r, "Content-Length", cl);
        th_expect_header(&r, "Content-Type", OCTET);
        cr_expect(r.body_len == last - first + 1 && memcmp(r.body, file + first, r.body_len) == 0,
                  "%s: body is not bytes %zu-%zu", extra, first, last);
    }
    th_response_free(&r);
    free(file);
}

Test(static, range_single, .timeout = 30)
{
    struct th_server ts;
    th_start(&ts, NULL);
    size_t size = file_size(&ts, "sample.txt");
    cr_assert_gt(size, 20);
    expect_206(&ts, "Range: bytes=0-9", 0, 9);
    expect_206(&ts, "Range: bytes=-5", size - 5, size - 1);
    expect_206(&ts, "Range: bytes=10-", 10, size - 1);
    expect_206(&ts, "Range: bytes=5-5", 5, 5);
    expect_206(&ts, "Range: bytes=0-999999", 0, size - 1); /* last clamped to the size */
    th_stop(&ts);
}

Test(static, range_unsatisfiable_416, .timeout = 30)
{
    struct th_server ts;
    struct th_response r;
    char h[64], v[64];

    th_start(&ts, NULL);
    size_t size = file_size(&ts, "sample.txt");
    snprintf(h, sizeof(h), "Range: bytes=%zu-", size);
    int fd = th_connect(&ts);
    th_sendf(&ts, fd, "GET /sample.txt HTTP/1.1\r\nHost: {HOST}\r\n%s\r\n\r\n", h);
    th_read_status(fd, &r, false, 416, h);
    snprintf(v, sizeof(v), "bytes */%zu", size);
    th_expect_header(&r, "Content-Range", v);
    th_response_free(&r);
    /* The connection stays usable. */
    th_send_get(&ts, fd, "/sample.txt");
    cr_assert_eq(th_read_response(fd, &r, false), 0);
    cr_expect_eq(r.status, 200);
    th_response_free(&r);
    close(fd);
    th_stop(&ts);
}

Test(static, range_multi_and_invalid_serve_full, .timeout = 30)
{
    struct th_server ts;
    th_start(&ts, NULL);
    /* more than UVH_RANGE_MAX (8) separate ranges: the documented fallback */
    expect_full_200(&ts, "Range: bytes=0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,16-16");
    expect_full_200(&ts, "Range: bytes=0-1,x");
    expect_full_200(&ts, "Range: bytes=9-3");
    expect_full_200(&ts, "Range: lines=1-2");
    th_stop(&ts);
}

Test(static, if_range, .timeout = 30)
{
    struct th_server ts;
    char etag[128], lm[64], h[512];

    th_start(&ts, NULL);
    validators(&ts, etag, lm);
    snprintf(h, sizeof(h), "Range: bytes=0-9\r\nIf-Range: %s", etag);
    expect_206(&ts, h, 0, 9);
    expect_full_200(&ts, "Range: bytes=0-9\r\nIf-Range: \"other\"");
    snprintf(h, sizeof(h), "Range: bytes=0-9\r\nIf-Range: W/%s", etag); /* weak never matches */
    expect_full_200(&ts, h);
    snprintf(h, sizeof(h), "Range: bytes=0-9\r\nIf-Range: %s", lm);
    expect_206(&ts, h, 0, 9);
    expect_full_200(&ts, "Range: bytes=0-9\r\nIf-Range: Thu, 01 Jan 1970 00:00:00 GMT");
    th_stop(&ts);
}

Test(static, head_with_range_is_200, .timeout = 30)
{
    struct th_server ts;
    struct th_response r;
    char v[32];

    th_start(&ts, NULL);
    cond_get(&ts, &r, true, "Range: bytes=0-9");
    cr_expect_eq(r.status, 200, "HEAD with Range: %d", r.status);
    snprintf(v, sizeof(v), "%zu", file_size(&ts, "sample.txt"));
    th_expect_header(&r, "Content-Length", v);
    th_expect_no_header(&r, "Content-Range");
    th_response_free(&r);
    th_stop(&ts);
}

Test(static, range_large_file_middle, .timeout = 30)
{
    struct th_server ts;
    struct th_response r;
    size_t size = 0;
    char v[128];

    th_start(&ts, NULL);
    char *file = th_read_file(&ts, "large_photo1.png", &size);
    cr_assert_not_null(file);
    cr_assert_gt(size, 300000);
    cr_assert_eq(th_request(&ts, &r, false,
                            "GET /large_photo1.png HTTP/1.1\r\nHost: {HOST}\r\n"
                            "Range: bytes=100000-299999\r\n\r\n"),
                 0);
    cr_assert_eq(r.status, 206, "head:\n%s", r.head);
    snprintf(v, sizeof(v), "bytes 100000-299999/%zu", size);
    th_expect_header(&r, "Content-Range", v);
    th_expect_header(&r, "Content-Length", "200000");
    cr_expect(r.body_len == 200000 && memcmp(r.body, file + 100000, 200000) == 0,
              "body is not bytes 100000-299999 of the file");
    th_response_free(&r);
    free(file);
    th_stop(&ts);
}

/* ---- issue 10: several ranges as multipart/byteranges (RFC 9110 section 14.6) ---- */

/* One range of a multipart answer, first and last byte. */
struct th_part {
    size_t first, last;
};

/* Finds "\r\n" at or after at; returns its offset or -1. */
static long crlf_at(const struct th_response *r, size_t at)
{
    const char *p = at < r->body_len ? memmem(r->body + at, r->body_len - at, "\r\n", 2) : NULL;
    return p ? (long)(p - r->body) : -1;
}

/* Sends GET rel with `range` on fd and expects a 206 multipart/byteranges holding exactly the
 * parts `want` of the file, in order, each typed `type`, with an exact Content-Length. */
static void expect_multipart(const struct th_server *ts, int fd, const char *rel, const char *type,
                             const char *range, const struct th_part *want, size_t n)
{
    struct th_response r;
    size_t size = 0;
    char *file = th_read_file(ts, rel, &size);
    char ct[256], line[512], what[256];
    static const char prefix[] = "multipart/byteranges; boundary=";

    cr_assert_not_null(file, "cannot read %s", rel);
    snprintf(what, sizeof(what), "GET /%s with Range: %s", rel, range);
    th_sendf(ts, fd, "GET /%s HTTP/1.1\r\nHost: {HOST}\r\nRange: %s\r\n\r\n", rel, range);
    th_read_status(fd, &r, false, 206, what);
    th_expect_no_header(&r, "Content-Range");
    need_header(&r, "Content-Type", ct, sizeof(ct));
    cr_assert(strncmp(ct, prefix, sizeof(prefix) - 1) == 0, "%s: Content-Type %s", what, ct);
    const char *boundary = ct + sizeof(prefix) - 1;
    size_t blen = strlen(boundary);
    cr_assert(blen > 0 && blen <= 70, "%s: boundary \"%s\"", what, boundary);

    /* Walk the body: for each part "--B" CRLF, headers, CRLF, bytes, CRLF; then "--B--" CRLF. */
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        snprintf(line, sizeof(line), "--%s", boundary);
        long eol = crlf_at(&r, at);
        cr_assert(eol >= 0 && (size_t)eol - at == strlen(line) &&
                      memcmp(r.body + at, line, strlen(line)) == 0,
                  "%s: part %zu does not start with the delimiter at offset %zu", what, i, at);
        at = (size_t)eol + 2;
        bool have_type = false, have_range = false;
        for (;;) {
            eol = crlf_at(&r, at);
            cr_assert(eol >= 0, "%s: part %zu: headers not terminated", what, i);
            size_t len = (size_t)eol - at;
            at = (size_t)eol + 2;
            if (len == 0)
                break;
            cr_assert_lt(len, sizeof(line), "%s: part %zu: header too long", what, i);
            memcpy(line, r.body + (size_t)eol - len, len);
            line[len] = '\0';
            char exp[256];
            if (strncasecmp(line, "Content-Type:", 13) == 0) {
                snprintf(exp, sizeof(exp), "Content-Type: %s", type);
                cr_expect_str_eq(line, exp, "%s: part %zu", what, i);
                have_type = true;
            } else if (strncasecmp(line, "Content-Range:", 14) == 0) {
                snprintf(exp, sizeof(exp), "Content-Range: bytes %zu-%zu/%zu", want[i].first,
                         want[i].last, size);
                cr_assert_str_eq(line, exp, "%s: part %zu", what, i);
                have_range = true;
            }
        }
        cr_expect(have_type, "%s: part %zu has no Content-Type", what, i);
        cr_assert(have_range, "%s: part %zu has no Content-Range", what, i);
        size_t plen = want[i].last - want[i].first + 1;
        cr_assert(at + plen + 2 <= r.body_len, "%s: part %zu is cut short", what, i);
        cr_assert(memcmp(r.body + at, file + want[i].first, plen) == 0,
                  "%s: part %zu is not bytes %zu-%zu of the file", what, i, want[i].first,
                  want[i].last);
        at += plen;
        cr_assert(memcmp(r.body + at, "\r\n", 2) == 0, "%s: part %zu: no CRLF after the bytes",
                  what, i);
        at += 2;
    }
    snprintf(line, sizeof(line), "--%s--\r\n", boundary);
    cr_assert(r.body_len - at == strlen(line) && memcmp(r.body + at, line, strlen(line)) == 0,
              "%s: the body does not end with exactly the close delimiter (%zu bytes left)", what,
              r.body_len - at);
    th_response_free(&r);
    free(file);
}

/* HEAD with a multi-range header: Range applies to GET only (RFC 9110 section 14.2), so the head
 * is the plain 200 one, without a body; the connection stays in step. */
static void expect_head_ignores_ranges(const struct th_server *ts, int fd, const char *rel,
                                       const char *range, char *type, size_t cap)
{
    struct th_response r;
    char v[64], what[256];
    snprintf(what, sizeof(what), "HEAD /%s with Range: %s", rel, range);
    th_sendf(ts, fd, "HEAD /%s HTTP/1.1\r\nHost: {HOST}\r\nRange: %s\r\n\r\n", rel, range);
    th_read_status(fd, &r, true, 200, what);
    snprintf(v, sizeof(v), "%zu", file_size(ts, rel));
    th_expect_header_for(&r, "Content-Length", v, what);
    th_expect_no_header(&r, "Content-Range");
    need_header(&r, "Content-Type", type, cap);
    th_response_free(&r);
}

Test(static, regress_10_multirange, .timeout = 30)
{
    struct th_server ts;
    char type[128];

    th_start(&ts, NULL);
    int fd = th_connect(&ts);

    /* A small file (sent from memory). */
    size_t size = file_size(&ts, "sample.txt");
    cr_assert_gt(size, 300);
    expect_head_ignores_ranges(&ts, fd, "sample.txt", "bytes=0-0,-1", type, sizeof(type));
    expect_multipart(&ts, fd, "sample.txt", type, "bytes=0-0,-1",
                     (const struct th_part[]){{0, 0}, {size - 1, size - 1}}, 2);
    expect_multipart(&ts, fd, "sample.txt", type, "bytes=10-19, 100-149,-7",
                     (const struct th_part[]){{10, 19}, {100, 149}, {size - 7, size - 1}}, 3);
    /* out of order and overlapping: sorted and coalesced */
    expect_multipart(&ts, fd, "sample.txt", type, "bytes=200-209,0-4,3-9,300-",
                     (const struct th_part[]){{0, 9}, {200, 209}, {300, size - 1}}, 3);

    /* A file larger than the in-memory limit and than one read chunk (streamed). */
    size = file_size(&ts, "large_photo1.png");
    cr_assert_gt(size, 800000);
    expect_head_ignores_ranges(&ts, fd, "large_photo1.png", "bytes=0-0,-1", type, sizeof(type));
    expect_multipart(&ts, fd, "large_photo1.png", type, "bytes=0-0,-1",
                     (const struct th_part[]){{0, 0}, {size - 1, size - 1}}, 2);
    expect_multipart(
        &ts, fd, "large_photo1.png", type, "bytes=1000-1999,300000-700000,-70000",
        (const struct th_part[]){{1000, 1999}, {300000, 700000}, {size - 70000, size - 1}}, 3);

    /* The connection is still usable: the framing was exact. */
    th_expect_usable(&ts, fd, "sample.txt", "after multipart responses");
    close(fd);
    th_stop(&ts);
}

/* ---- path confinement ---- */

Test(static, traversal_forbidden_connection_stays, .timeout = 30)
{
    static const char *const paths[] = {
        "/../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
        "/.hidden",       "/nested/../index.html",
        "/a%5cb",         "//etc/passwd",
        "/%2E%2E/",
    };
    struct th_server ts;
    struct th_response r;

    th_start(&ts, NULL);
    int fd = th_connect(&ts);
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        th_send_get(&ts, fd, paths[i]);
        cr_assert_eq(th_read_response(fd, &r, false), 0, "%s: no response (connection closed?)",
                     paths[i]);
        cr_expect_eq(r.status, 403, "%s: status %d, want 403", paths[i], r.status);
        cr_expect_null(strstr(r.body, "root:"), "%s leaked a file", paths[i]);
        th_response_free(&r);
    }
    /* Still the same connection, still serving. */
    th_expect_usable(&ts, fd, "sample.txt", "after the forbidden paths");
    close(fd);
    th_stop(&ts);
}

Test(static, nul_byte_400, .timeout = 30)
{
    struct th_server ts;
    struct th_response r;

    th_start(&ts, NULL);
    int fd = th_connect(&ts);
    th_send_get(&ts, fd, "/%00");
    cr_assert_eq(th_read_response(fd, &r, false), 0);
    cr_expect_eq(r.status, 400, "status %d", r.status);
    th_expect_closing(fd, &r, "GET /%00");
    th_stop(&ts);
}

Test(static, double_encoded_is_literal, .timeout = 30)
{
    struct th_server ts;
    struct th_response r;

    th_start(&ts, NULL);
    th_get(&ts, &r, "/%252e%252e/x", 404);
    th_response_free(&r);
    th_stop(&ts);
}

Test(static, head_error_no_body, .timeout = 30)
{
    struct th_server ts;
    struct th_response r;
    char v[32];

    th_start(&ts, NULL);
    int fd = th_connect(&ts);
    th_sendf(&ts, fd, "HEAD /missing.html HTTP/1.1\r\nHost: {HOST}\r\n\r\n");
    cr_assert_eq(th_read_response(fd, &r, true), 0);
    cr_expect_eq(r.status, 404);
    cr_expect_not_null(th_header(&r, "Content-Length", v, sizeof(v)), "HEAD 404: no length");
    th_response_free(&r);
    th_sendf(&ts, fd, "HEAD /style.css HTTP/1.1\r\nHost: {HOST}\r\n\r\n");
    cr_assert_eq(th_read_response(fd, &r, true), 0, "no response after HEAD 404");
    cr_expect_eq(r.status, 415, "HEAD 404 sent a body? next: %.40s", r.head);
    th_response_free(&r);
    th_expect_usable(&ts, fd, "sample.txt", "HEAD 415 sent a body?");
    close(fd);
    th_stop(&ts);
}

Test(static, range_on_empty_file_416, .timeout = 30)
{
    struct th_server ts;
    struct th_response r;

    th_start(&ts, NULL);
    cr_assert_eq(th_request(&ts, &r, false,
                            "GET /empty.txt HTTP/1.1\r\nHost: {HOST}\r\nRange: bytes=0-\r\n\r\n"),
                 0);
    cr_expect_eq(r.status, 416, "head:\n%s", r.head);
    th_expect_header(&r, "Content-Range", "bytes */0");
    th_response_free(&r);
    th_stop(&ts);
}

/* ---- issue 10: a document root of the test's own (fixtures the shared root cannot hold) ---- */

static char own_root[512];
static unsigned own_threads;

static void make_own_root(const char *why)
{
    const char *tmp = getenv("TMPDIR");
    th_skip_if_external(why);
    snprintf(own_root, sizeof(own_root), "%s/uvhttpd-static-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(own_root), "mkdtemp: %s", strerror(errno));
    th_write_file(own_root, "index.html", "<p>own root</p>\n");
    th_write_file(own_root, "sample.txt", "a sample\n");
}

static void own_root_cleanup(void)
{
    if (own_root[0])
        th_remove_tree(own_root);
}

static void serve_own_root(struct uvh_config *cfg)
{
    cfg->root = own_root;
    if (own_threads)
        cfg->threads = own_threads;
}

static void start_own(struct th_server *ts)
{
    th_start(ts, serve_own_root);
    snprintf(ts->root, sizeof(ts->root), "%s", own_root); /* helpers read the same tree */
}

/* A unix-domain socket bound at dir/name (left in place when the descriptor closes). */
static void make_socket_file(const char *dir, const char *name)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir, name);
    cr_assert(n > 0 && (size_t)n < sizeof(sa.sun_path), "socket path too long");
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "bind %s: %s", sa.sun_path,
                 strerror(errno));
    close(fd);
}

/* Issue 10, item 5: opening a FIFO without O_NONBLOCK waits for a writer, so a request for one
 * held a threadpool thread forever. It must be a quick 404 (nginx's is_file), and with a pool of
 * one thread the next file must still be served. Sockets are not regular files either. */
Test(static, regress_10_5_fifo_is_404_and_pool_not_blocked, .timeout = 30, .fini = own_root_cleanup)
{
    struct th_server ts;
    struct th_response r;
    char path[600];

    make_own_root("a FIFO in a document root of its own");
    snprintf(path, sizeof(path), "%s/pipe.txt", own_root);
    cr_assert_eq(mkfifo(path, 0644), 0, "mkfifo: %s", strerror(errno));
    snprintf(path, sizeof(path), "%s/fifodir", own_root);
    cr_assert_eq(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/fifodir/index.html", own_root);
    cr_assert_eq(mkfifo(path, 0644), 0, "mkfifo: %s", strerror(errno));
    make_socket_file(own_root, "sock.txt");
    own_threads = 1;
    start_own(&ts);

    static const char *const specials[] = {"/pipe.txt", "/fifodir/", "/sock.txt", "/pipe.txt"};
    int fd = th_connect(&ts);
    for (size_t i = 0; i < sizeof(specials) / sizeof(specials[0]); i++) {
        double t0 = th_now_ms();
        th_send_get(&ts, fd, specials[i]);
        cr_assert_eq(th_read_response(fd, &r, false), 0,
                     "GET %s: no response (a pool thread blocked in open?)", specials[i]);
        cr_expect_eq(r.status, 404, "GET %s: status %d, want 404; head:\n%s", specials[i], r.status,
                     r.head);
        cr_expect_lt(th_now_ms() - t0, 2000.0, "GET %s took %.0f ms", specials[i],
                     th_now_ms() - t0);
        th_expect_header_for(&r, "Connection", "keep-alive", specials[i]);
        th_response_free(&r);
    }
    th_expect_usable(&ts, fd, "sample.txt", "after the special files (one pool thread)");
    close(fd);
    expect_served(&ts, "/sample.txt", "sample.txt"); /* a new connection too */
    th_stop(&ts);
}

/* Issue 10, item 6: a header that did not fit the head was silently dropped, so a 301 went out
 * without Location. A redirect carries the whole target: here with a 7000-byte query. */
Test(static, regress_10_6_redirect_long_query_keeps_location, .timeout = 30)
{
    struct th_server ts;
    struct th_response r;
    static char url[7100], want[7100], got[7100];

    th_start(&ts, NULL);
    size_t o = (size_t)snprintf(url, sizeof(url), "/nested?");
    memset(url + o, 'q', 7000);
    url[o + 7000] = '\0';
    snprintf(want, sizeof(want), "/nested/?%s", url + o);
    th_get(&ts, &r, url, 0);
    cr_assert(r.status == 301 || r.status == 500, "status %d; head:\n%.300s", r.status, r.head);
    if (r.status == 301) {
        need_header(&r, "Location", got, sizeof(got));
        cr_expect_str_eq(got, want, "Location is %zu bytes, want %zu", strlen(got), strlen(want));
    }
    th_response_free(&r);
    th_stop(&ts);
}

/* The same for a redirect whose path is long: five nested directories of 250 characters. */
Test(static, regress_10_6_redirect_long_path_keeps_location, .timeout = 30,
     .fini = own_root_cleanup)
{
    struct th_server ts;
    struct th_response r;
    char path[2000], url[1400], got[1400];

    make_own_root("nested directories with long names");
    size_t o = (size_t)snprintf(path, sizeof(path), "%s", own_root);
    size_t u = 0;
    for (char d = 'a'; d <= 'e'; d++) {
        path[o++] = '/';
        url[u++] = '/';
        memset(path + o, d, 250);
        memset(url + u, d, 250);
        o += 250;
        u += 250;
        path[o] = '\0';
        url[u] = '\0';
        cr_assert_eq(mkdir(path, 0755), 0, "mkdir: %s", strerror(errno));
    }
    start_own(&ts);
    th_get(&ts, &r, url, 301);
    need_header(&r, "Location", got, sizeof(got));
    cr_expect_eq(strlen(got), u + 1, "Location is %zu bytes, want %zu", strlen(got), u + 1);
    cr_expect(strncmp(got, url, u) == 0 && got[u] == '/' && got[u + 1] == '\0',
              "Location: %.60s...", got);
    th_response_free(&r);
    th_stop(&ts);
}

/* Issue 10, item 6: Content-Disposition for a long non-ASCII file name (120 x U+00E9, 244 bytes
 * in UTF-8, within NAME_MAX) went missing. It must be there in full (RFC 6266, RFC 8187). */
Test(static, regress_10_6_long_utf8_name_keeps_disposition, .timeout = 30, .fini = own_root_cleanup)
{
    struct th_server ts;
    struct th_response r;
    char name[300], url[1000], want[1400], got[1400];
    size_t n = 0, u = 0;

    make_own_root("a file with a long non-ASCII name");
    u += (size_t)sprintf(url, "/");
    for (int i = 0; i < 120; i++) {
        n += (size_t)sprintf(name + n, "\xc3\xa9");
        u += (size_t)sprintf(url + u, "%%C3%%A9");
    }
    sprintf(name + n, ".txt");
    sprintf(url + u, ".txt");
    th_write_file(own_root, name, "long name\n");

    size_t w = (size_t)sprintf(want, "attachment; filename=\"");
    memset(want + w, '_', 240);
    w += 240;
    w += (size_t)sprintf(want + w, ".txt\"; filename*=UTF-8''%s", url + 1);

    start_own(&ts);
    th_get(&ts, &r, url, 200);
    th_expect_body_is_file(&ts, &r, name);
    need_header(&r, "Content-Disposition", got, sizeof(got));
    cr_expect_str_eq(got, want);
    th_response_free(&r);
    th_stop(&ts);
}

/* Issue 10, item 7: a fragment is not part of the target (RFC 9110 section 7.1, RFC 3986
 * section 3.5); clients must not send one, and when one comes it is ignored, as nginx does. */
Test(static, regress_10_7_fragment_is_stripped, .timeout = 30)
{
    struct th_server ts;
    struct th_response r;

    th_start(&ts, NULL);
    expect_served(&ts, "/index.html#top", "index.html");
    expect_served(&ts, "/#top", "index.html");
    expect_served(&ts, "/sample.txt?x=1#frag", "sample.txt");
    expect_served(&ts, "/sample.txt#frag?x=1", "sample.txt");
    th_get(&ts, &r, "/nested?x=1#frag", 301);
    th_expect_header(&r, "Location", "/nested/?x=1");
    th_response_free(&r);
    th_get(&ts, &r, "/nested#frag", 301);
    th_expect_header(&r, "Location", "/nested/");
    th_response_free(&r);
    th_stop(&ts);
}
