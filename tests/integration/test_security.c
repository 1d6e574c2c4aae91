/* test_security.c - hostile requests over raw sockets: path traversal, Host forms, framing and
 * smuggling, oversized heads, versions and methods, one table row per request; plus symlink
 * escapes and a slow-header client. No response may carry a byte of a file outside the root,
 * and no error page may echo what the client sent. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "harness.h"

/* Written next to the served root, never inside it; no response may contain it. */
#define OUTSIDE_NAME "outside-secret.txt"
#define OUTSIDE_MARKER "UVH-OUTSIDE-SECRET-7f3a"

/* Bytes of well-known files outside any root: /etc/passwd and win.ini. */
static const char *const leak_markers[] = {OUTSIDE_MARKER, "root:x:0:0", "[fonts]",
                                           "for 16-bit app support"};

/* ---- small helpers ---- */

static bool contains(const char *hay, size_t len, const char *needle)
{
    return hay && memmem(hay, len, needle, strlen(needle)) != NULL;
}

/* Copies tmpl, replacing {HOST} (host:port), {PORT} and {NUL} (a zero byte); malloc'd. */
static char *expand(const struct th_server *ts, const char *tmpl, size_t *len)
{
    char hostport[96], port[16];
    snprintf(hostport, sizeof(hostport), "%s:%d", ts->host, ts->port);
    snprintf(port, sizeof(port), "%d", ts->port);
    size_t n = 0;
    for (const char *p = tmpl; (p = strstr(p, "{")); p++)
        n++;
    char *out = malloc(strlen(tmpl) + n * sizeof(hostport) + 1);
    cr_assert_not_null(out);
    size_t o = 0;
    for (const char *p = tmpl; *p;) {
        if (strncmp(p, "{HOST}", 6) == 0) {
            memcpy(out + o, hostport, strlen(hostport));
            o += strlen(hostport);
            p += 6;
        } else if (strncmp(p, "{PORT}", 6) == 0) {
            memcpy(out + o, port, strlen(port));
            o += strlen(port);
            p += 6;
        } else if (strncmp(p, "{NUL}", 5) == 0) {
            out[o++] = '\0';
            p += 5;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    *len = o;
    return out;
}

/* Sends everything it can: the server may answer and close before an oversized request is
 * all sent, and that is not a failure of the test. */
static void send_tolerant(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

/* dirname(UVHTTPD_TEST_ROOT): a directory outside the served root. */
static void outside_dir(char *out, size_t cap)
{
    const char *root = getenv("UVHTTPD_TEST_ROOT");
    cr_assert(root && *root, "UVHTTPD_TEST_ROOT must name the served directory");
    snprintf(out, cap, "%s", root);
    size_t n = strlen(out);
    while (n > 1 && out[n - 1] == '/')
        out[--n] = '\0';
    char *slash = strrchr(out, '/');
    cr_assert_not_null(slash, "UVHTTPD_TEST_ROOT has no parent: %s", root);
    if (slash == out)
        slash[1] = '\0';
    else
        *slash = '\0';
}

/* Creates (atomically: tests run in parallel) the sentinel file outside the root. */
static void make_sentinel(char *path, size_t cap)
{
    char dir[4096], tmp[4200];
    outside_dir(dir, sizeof(dir));
    snprintf(path, cap, "%s/" OUTSIDE_NAME, dir);
    snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    cr_assert_not_null(f, "cannot create %s: %s", tmp, strerror(errno));
    fputs("This file lives outside the served root: " OUTSIDE_MARKER "\n", f);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(rename(tmp, path), 0, "rename %s: %s", tmp, strerror(errno));
}

/* No byte of a file outside the root, and no client token, anywhere in the response. */
static void expect_clean(const struct th_response *r, const char *no_echo, const char *what)
{
    for (size_t i = 0; i < sizeof(leak_markers) / sizeof(leak_markers[0]); i++) {
        cr_expect(!contains(r->head, strlen(r->head), leak_markers[i]) &&
                      !contains(r->body, r->body_len, leak_markers[i]),
                  "%s: response %d carries \"%s\" from a file outside the root", what, r->status,
                  leak_markers[i]);
    }
    if (no_echo)
        cr_expect(!contains(r->head, strlen(r->head), no_echo) &&
                      !contains(r->body, r->body_len, no_echo),
                  "%s: response %d echoes the client's \"%s\":\n%s%s", what, r->status, no_echo,
                  r->head, r->body);
}

/* ---- the table ---- */

enum after { OPEN, CLOSED };

struct row {
    const char *name;
    const char *req;     /* {HOST}, {PORT} and {NUL} are expanded */
    char *(*gen)(void);  /* builds the request (malloc'd, expanded too) when req is NULL */
    int status[3];       /* the responses the framing implies, in order; 0 ends the list */
    int alt;             /* also accepted for the first response (a platform difference) */
    enum after after;    /* open: GET /sample.txt on the same socket gets 200 */
    const char *no_echo; /* client input that must not come back */
    bool head;           /* a HEAD request: the responses have no body */
};

#define ROW(n, rq, aft, ...)                                                                       \
    {                                                                                              \
        .name = n, .req = rq, .after = aft, .status = { __VA_ARGS__ }                              \
    }
#define ROW_ALT(n, rq, aft, st, alt_)                                                              \
    {                                                                                              \
        .name = n, .req = rq, .after = aft, .status = {st}, .alt = alt_                            \
    }
#define ROW_ECHO(n, rq, aft, token, st)                                                            \
    {                                                                                              \
        .name = n, .req = rq, .after = aft, .status = {st}, .no_echo = token                       \
    }
#define ROW_GEN(n, fn, aft, st)                                                                    \
    {                                                                                              \
        .name = n, .gen = fn, .after = aft, .status = { st }                                       \
    }

#define GET(target) "GET " target " HTTP/1.1\r\nHost: {HOST}\r\n\r\n"
#define WITH_HOST(host) "GET /sample.txt HTTP/1.1\r\nHost: " host "\r\n\r\n"
#define FIELDS(fields) "GET /sample.txt HTTP/1.1\r\nHost: {HOST}\r\n" fields "\r\n"
#define VERSION(v) "GET /sample.txt " v "\r\nHost: {HOST}\r\n\r\n"
/* A complete request, 34 bytes, that must never be seen as one when it is a body. */
#define HIDDEN "GET /.hidden HTTP/1.1\r\nHost: x\r\n\r\n"

static char *gen_long_target(void)
{
    char *s = malloc(8300);
    cr_assert_not_null(s);
    memcpy(s, "GET /", 5);
    memset(s + 5, 'a', 8200);
    strcpy(s + 8205, " HTTP/1.1\r\nHost: {HOST}\r\n\r\n");
    return s;
}

/* n fields "X-<i>: vvv...\r\n" (value_len bytes of 'v') in a request. */
static char *gen_fields(int n, size_t value_len)
{
    char *value = malloc(value_len + 1), *s = NULL;
    cr_assert_not_null(value);
    memset(value, 'v', value_len);
    value[value_len] = '\0';
    char *fields = th_many_fields(n, value);
    cr_assert(asprintf(&s, "GET /sample.txt HTTP/1.1\r\nHost: {HOST}\r\n%s\r\n", fields) >= 0);
    free(fields);
    free(value);
    return s;
}

static char *gen_big_section(void)
{
    return gen_fields(45, 200); /* about 9.5 KiB of fields, none of them large */
}

static char *gen_101_fields(void)
{
    return gen_fields(100, 1); /* with Host: 101 */
}

static char *gen_big_value(void)
{
    return gen_fields(1, 9000);
}

static const struct row rows[] = {
    /* Traversal: dot segments are refused, never collapsed; decoding happens once. */
    ROW("traversal /../etc/passwd", GET("/../etc/passwd"), OPEN, 403),
    ROW("traversal /./././../config", GET("/./././../config"), OPEN, 403),
    ROW("traversal //etc/hosts", GET("//etc/hosts"), OPEN, 403),
    ROW("traversal /%2e%2e%2fetc%2fpasswd", GET("/%2e%2e%2fetc%2fpasswd"), OPEN, 403),
    ROW("traversal /%2e%2e/etc/passwd", GET("/%2e%2e/etc/passwd"), OPEN, 403),
    ROW("traversal /%2E%2E/%2E%2E/etc/passwd", GET("/%2E%2E/%2E%2E/etc/passwd"), OPEN, 403),
    ROW("traversal /..%2fetc%2fpasswd", GET("/..%2fetc%2fpasswd"), OPEN, 403),
    ROW("traversal /..%5c..%5cwindows%5cwin.ini", GET("/..%5c..%5cwindows%5cwin.ini"), OPEN, 403),
    ROW("traversal double-encoded is a name", GET("/%252e%252e/etc/passwd"), OPEN, 404),
    ROW("traversal raw backslashes", GET("/\\..\\etc\\passwd"), OPEN, 403),
    ROW("traversal /%00", GET("/%00"), CLOSED, 400),
    ROW("traversal /index.html%00.txt", GET("/index.html%00.txt"), CLOSED, 400),
    ROW("traversal overlong UTF-8 dots are a name", GET("/%c0%ae%c0%ae/etc/passwd"), OPEN, 404),
    ROW("traversal fullwidth dots are a name", GET("/%ef%bc%8e%ef%bc%8e/etc/passwd"), OPEN, 404),
    ROW("traversal %u escapes are malformed", GET("/%u002e%u002e/etc/passwd"), CLOSED, 400),
    ROW("traversal absolute path is under the root", GET("/etc/passwd"), OPEN, 404),
    ROW("traversal /proc/self/environ is under the root", GET("/proc/self/environ"), OPEN, 404),
    ROW("traversal /nested/../index.html", GET("/nested/../index.html"), OPEN, 403),
    ROW("traversal /nested/..", GET("/nested/.."), OPEN, 403),
    ROW("traversal /.", GET("/."), OPEN, 403),
    ROW("traversal /.hidden", GET("/.hidden"), OPEN, 403),
    ROW("traversal /%2ehidden", GET("/%2ehidden"), OPEN, 403),
    ROW("traversal /.git/config", GET("/.git/config"), OPEN, 403),
    ROW("traversal /nested/.%2e/index.html", GET("/nested/.%2e/index.html"), OPEN, 403),
    ROW("traversal /.%2e/.%2e/etc/passwd", GET("/.%2e/.%2e/etc/passwd"), OPEN, 403),
    ROW("traversal /nested/%2e%2e/%2e%2e/etc/passwd", GET("/nested/%2e%2e/%2e%2e/etc/passwd"), OPEN,
        403),
    ROW("traversal ten levels up", GET("/../../../../../../../../../../etc/passwd"), OPEN, 403),
    ROW("traversal /..;/etc/passwd", GET("/..;/etc/passwd"), OPEN, 403),
    ROW("traversal to the sentinel", GET("/../" OUTSIDE_NAME), OPEN, 403),
    ROW("traversal /C:/Windows/win.ini", GET("/C:/Windows/win.ini"), OPEN, 403),
    ROW("traversal /file::$DATA", GET("/file::$DATA"), OPEN, 403),
    ROW("traversal /%2fetc/passwd", GET("/%2fetc/passwd"), OPEN, 403),
    ROW("traversal in absolute-form",
        "GET http://{HOST}/../etc/passwd HTTP/1.1\r\nHost: {HOST}\r\n\r\n", OPEN, 403),
    ROW("traversal in the query is ignored", GET("/sample.txt?../../etc/passwd"), OPEN, 200),
    {.name = "traversal HEAD /../etc/passwd",
     .req = "HEAD /../etc/passwd HTTP/1.1\r\nHost: {HOST}\r\n\r\n",
     .after = OPEN,
     .status = {403},
     .head = true},
    /* Names Windows would alias to another file or a device: 404 here, 403 there. */
    ROW_ALT("windows trailing dot", GET("/sample.txt."), OPEN, 404, 403),
    ROW_ALT("windows trailing space", GET("/sample.txt%20"), OPEN, 404, 403),
    ROW_ALT("windows device name", GET("/NUL.txt"), OPEN, 404, 403),
    ROW("percent escape not hex", GET("/%zz"), CLOSED, 400),
    ROW("percent escape cut short", GET("/abc%"), CLOSED, 400),

    /* Error pages never echo the client's input. */
    ROW_ECHO("echo raw <script> in the target", GET("/<script>alert(1)</script>"), OPEN, "alert(1)",
             404),
    ROW_ECHO("echo encoded <script> in the target", GET("/%3Cscript%3Ealert(1)%3C/script%3E"), OPEN,
             "alert(1)", 404),
    ROW_ECHO("echo token in a dotfile target", GET("/.zzXSS<b>zz"), OPEN, "zzXSS", 403),
    ROW_ECHO("echo token in the query", GET("/missing.html?q=<script>zzQzz</script>"), OPEN,
             "zzQzz", 404),
    ROW_ECHO("echo token in User-Agent",
             "GET /missing.html HTTP/1.1\r\nHost: {HOST}\r\nUser-Agent: <i>zzUAzz</i>\r\n\r\n",
             OPEN, "zzUAzz", 404),
    ROW_ECHO("echo token in a foreign Host", WITH_HOST("zzHOSTzz.example"), OPEN, "zzHOSTzz", 403),
    ROW_ECHO("echo CRLF injection in the target", GET("/a%0d%0aSet-Cookie:%20zzSPLITzz"), CLOSED,
             "zzSPLITzz", 400),

    /* Host (RFC 9112 section 3.2; DNS rebinding). */
    ROW("host missing in HTTP/1.1", "GET /sample.txt HTTP/1.1\r\n\r\n", CLOSED, 400),
    ROW("host duplicate", FIELDS("Host: {HOST}\r\n"), CLOSED, 400),
    ROW("host duplicate, other case and value", FIELDS("host: evil.com\r\n"), CLOSED, 400),
    ROW("host empty", "GET /sample.txt HTTP/1.1\r\nHost:\r\n\r\n", CLOSED, 400),
    ROW("host evil.com", WITH_HOST("evil.com"), OPEN, 403),
    ROW("host wrong port", WITH_HOST("127.0.0.1:1"), OPEN, 403),
    ROW("host userinfo", WITH_HOST("user@{HOST}"), CLOSED, 400),
    ROW("host [::1]:PORT", WITH_HOST("[::1]:{PORT}"), OPEN, 200),
    ROW("host LOCALHOST:PORT", WITH_HOST("LOCALHOST:{PORT}"), OPEN, 200),
    ROW("host localhost:PORT", WITH_HOST("localhost:{PORT}"), OPEN, 200),
    ROW("host without port", WITH_HOST("127.0.0.1"), OPEN, 403),
    ROW("host trailing junk after the port", WITH_HOST("{HOST}."), CLOSED, 400),
    ROW("host with a path", WITH_HOST("{HOST}/x"), CLOSED, 400),
    ROW("host list", WITH_HOST("{HOST}, evil.com"), CLOSED, 400),
    ROW("host suffix of ours", WITH_HOST("localhost.evil.com:{PORT}"), OPEN, 403),
    ROW("host decimal IPv4", WITH_HOST("2130706433:{PORT}"), OPEN, 403),
    ROW("host IPv4-mapped IPv6", WITH_HOST("[::ffff:127.0.0.1]:{PORT}"), OPEN, 403),
    ROW("host absolute-form foreign authority",
        "GET http://evil.com/ HTTP/1.1\r\nHost: {HOST}\r\n\r\n", OPEN, 403),
    ROW("host absolute-form own authority wins",
        "GET http://{HOST}/sample.txt HTTP/1.1\r\nHost: evil.com\r\n\r\n", OPEN, 200),
    ROW("host absolute-form userinfo",
        "GET http://evil.com@{HOST}/sample.txt HTTP/1.1\r\nHost: {HOST}\r\n\r\n", CLOSED, 400),
    ROW("host HTTP/1.0 without Host", "GET /sample.txt HTTP/1.0\r\n\r\n", CLOSED, 200),
    ROW("host HTTP/1.0 foreign Host",
        "GET /sample.txt HTTP/1.0\r\nHost: evil.com\r\nConnection: keep-alive\r\n\r\n", OPEN, 403),

    /* Framing (RFC 9112 section 6): anything ambiguous is refused and the connection closed. */
    ROW("framing CL then TE",
        "POST /sample.txt HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 6\r\n"
        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nG",
        CLOSED, 400),
    ROW("framing TE then CL",
        "POST /sample.txt HTTP/1.1\r\nHost: {HOST}\r\n"
        "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n",
        CLOSED, 400),
    ROW("framing two different CL", FIELDS("Content-Length: 1\r\nContent-Length: 2\r\n") "ab",
        CLOSED, 400),
    ROW("framing two equal CL", FIELDS("Content-Length: 1\r\nContent-Length: 1\r\n") "a", CLOSED,
        400),
    ROW("framing CL list", FIELDS("Content-Length: 1, 1\r\n") "a", CLOSED, 400),
    ROW("framing CL -1", FIELDS("Content-Length: -1\r\n"), CLOSED, 400),
    ROW("framing CL 1 2", FIELDS("Content-Length: 1 2\r\n") "ab", CLOSED, 400),
    ROW("framing CL 0x10", FIELDS("Content-Length: 0x10\r\n"), CLOSED, 400),
    ROW("framing CL +5", FIELDS("Content-Length: +5\r\n") "hello", CLOSED, 400),
    ROW("framing CL 5x", FIELDS("Content-Length: 5x\r\n") "hello", CLOSED, 400),
    ROW("framing CL empty", FIELDS("Content-Length:\r\n"), CLOSED, 400),
    ROW("framing CL 2^64", FIELDS("Content-Length: 18446744073709551616\r\n"), CLOSED, 400),
    ROW("framing CL leading zeros", FIELDS("Content-Length: 005\r\n") "hello", OPEN, 200),
    ROW("framing TE xchunked", FIELDS("Transfer-Encoding: xchunked\r\n"), CLOSED, 501),
    ROW("framing TE gzip", FIELDS("Transfer-Encoding: gzip\r\n"), CLOSED, 501),
    ROW("framing TE identity", FIELDS("Transfer-Encoding: identity\r\n"), CLOSED, 501),
    ROW("framing TE gzip, chunked", FIELDS("Transfer-Encoding: gzip, chunked\r\n") "0\r\n\r\n",
        CLOSED, 501),
    ROW("framing TE chunked, chunked",
        FIELDS("Transfer-Encoding: chunked, chunked\r\n") "0\r\n\r\n", CLOSED, 501),
    ROW("framing TE in two fields",
        FIELDS("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n") "0\r\n\r\n", CLOSED,
        501),
    ROW("framing TE Chunked (case)", FIELDS("Transfer-Encoding: Chunked\r\n") "0\r\n\r\n", OPEN,
        200),
    ROW("framing TE with space before colon", FIELDS("Transfer-Encoding : chunked\r\n") "0\r\n\r\n",
        CLOSED, 400),
    ROW("framing TE value after VT", FIELDS("Transfer-Encoding:\013chunked\r\n") "0\r\n\r\n",
        CLOSED, 400),
    ROW("framing TE line starting with SP", FIELDS(" Transfer-Encoding: chunked\r\n") "0\r\n\r\n",
        CLOSED, 400),
    /* RFC 9112 section 6.1: Transfer-Encoding in HTTP/1.0 is faulty framing; close after. */
    ROW_ALT("framing TE in HTTP/1.0 keep-alive",
            "GET /sample.txt HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n"
            "\r\n0\r\n\r\n",
            CLOSED, 400, 200),
    ROW("framing chunk size overflow",
        FIELDS("Transfer-Encoding: chunked\r\n") "ffffffffffffffffff\r\n", CLOSED, 400),
    ROW("framing chunk size negative",
        FIELDS("Transfer-Encoding: chunked\r\n") "-5\r\nhello\r\n0\r\n\r\n", CLOSED, 400),
    ROW("framing chunk size 0x5",
        FIELDS("Transfer-Encoding: chunked\r\n") "0x5\r\nhello\r\n0\r\n\r\n", CLOSED, 400),
    ROW("framing chunk size with trailing SP",
        FIELDS("Transfer-Encoding: chunked\r\n") "5 \r\nhello\r\n0\r\n\r\n", CLOSED, 400),
    ROW("framing chunk ext unterminated quote",
        FIELDS("Transfer-Encoding: chunked\r\n") "5;a=\"b\r\nhello\r\n0\r\n\r\n", CLOSED, 400),
    ROW("framing chunk ext quoted",
        FIELDS("Transfer-Encoding: chunked\r\n") "5;a=\"b\"\r\nhello\r\n0\r\n\r\n", OPEN, 200),
    ROW("framing chunk data without CRLF",
        FIELDS("Transfer-Encoding: chunked\r\n") "5\r\nhelloX0\r\n\r\n", CLOSED, 400),
    ROW("framing chunk data ends in bare LF",
        FIELDS("Transfer-Encoding: chunked\r\n") "5\r\nhello\n0\r\n\r\n", CLOSED, 400),

    /* Head syntax (RFC 9112 sections 2.2 and 5). */
    ROW("syntax obs-fold", FIELDS("X-A: b\r\n folded\r\n"), CLOSED, 400),
    ROW("syntax space before colon", FIELDS("X-A : b\r\n"), CLOSED, 400),
    ROW("syntax space inside a field name", FIELDS("X A: b\r\n"), CLOSED, 400),
    ROW("syntax empty field name", FIELDS(": b\r\n"), CLOSED, 400),
    ROW("syntax bare LF line endings", "GET /sample.txt HTTP/1.1\nHost: {HOST}\nX-A: b\n\n", CLOSED,
        400),
    ROW("syntax bare LF after the request line", "GET /sample.txt HTTP/1.1\nHost: {HOST}\r\n\r\n",
        CLOSED, 400),
    ROW("syntax bare LF after a field", "GET /sample.txt HTTP/1.1\r\nHost: {HOST}\nX-A: b\r\n\r\n",
        CLOSED, 400),
    ROW("syntax bare LF ending the head", "GET /sample.txt HTTP/1.1\r\nHost: {HOST}\r\n\n", CLOSED,
        400),
    ROW("syntax bare CR line endings", "GET /sample.txt HTTP/1.1\rHost: {HOST}\r\r", CLOSED, 400),
    ROW("syntax CR then junk ending the head", "GET /sample.txt HTTP/1.1\r\nHost: {HOST}\r\n\rX",
        CLOSED, 400),
    ROW("syntax bare CR in a value", FIELDS("X-A: a\rb\r\n"), CLOSED, 400),
    ROW("syntax NUL in a value", FIELDS("X-A: a{NUL}b\r\n"), CLOSED, 400),
    ROW("syntax DEL in a value", FIELDS("X-A: a\177b\r\n"), CLOSED, 400),
    ROW("syntax control byte in a field name", FIELDS("X\001A: b\r\n"), CLOSED, 400),
    ROW("syntax space in the target", GET("/a b"), CLOSED, 400),
    ROW("syntax control byte in the target", GET("/a\001b"), CLOSED, 400),
    ROW("syntax tabs in the request line", "GET\t/sample.txt\tHTTP/1.1\r\nHost: {HOST}\r\n\r\n",
        CLOSED, 400),
    ROW("syntax target without a slash", GET("sample.txt"), CLOSED, 400),
    ROW("syntax asterisk target for GET", GET("*"), CLOSED, 400),
    ROW("syntax TLS ClientHello", "\026\003\001{NUL}\245\001{NUL}{NUL}\241\003\003", CLOSED, 400),

    /* Smuggling: a request hidden in a body is body, exactly as the framing says; bytes after
     * a body are the next request. A smuggled request would show up as an extra response. */
    ROW("smuggle request inside a CL body", FIELDS("Content-Length: 34\r\n") HIDDEN, OPEN, 200),
    ROW("smuggle CL shorter than the hidden request",
        FIELDS("Content-Length: 5\r\n") GET("/.hidden"), CLOSED, 200, 501),
    ROW("smuggle request inside a chunk",
        FIELDS("Transfer-Encoding: chunked\r\n") "22\r\n" HIDDEN "\r\n0\r\n\r\n", OPEN, 200),
    ROW("smuggle request after the last chunk",
        FIELDS("Transfer-Encoding: chunked\r\n") "0\r\n\r\n" GET("/.hidden"), OPEN, 200, 403),
    ROW("smuggle Transfer_Encoding is not Transfer-Encoding",
        FIELDS("Transfer_Encoding: chunked\r\n") "0\r\n\r\n", CLOSED, 200, 400),
    ROW("smuggle body of a 405",
        "POST /sample.txt HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 34\r\n\r\n" HIDDEN, OPEN,
        405),
    ROW("smuggle HTTP/1.0 keep-alive CL body",
        "GET /sample.txt HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 34\r\n\r\n" HIDDEN,
        OPEN, 200),
    ROW("smuggle Upgrade: websocket is not switched",
        FIELDS("Connection: Upgrade\r\nUpgrade: websocket\r\n"), CLOSED, 200),
    ROW("smuggle Upgrade: h2c is not switched",
        FIELDS("Connection: Upgrade, HTTP2-Settings\r\n"
               "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n"),
        CLOSED, 200),
    ROW_ALT("smuggle HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", CLOSED, 400, 505),

    /* Oversized heads. */
    ROW_GEN("oversize request line over 8 KiB", gen_long_target, CLOSED, 414),
    ROW_GEN("oversize header section over 8 KiB", gen_big_section, CLOSED, 431),
    ROW_GEN("oversize 101 fields", gen_101_fields, CLOSED, 431),
    ROW_GEN("oversize one 9000-byte value", gen_big_value, CLOSED, 431),

    /* Versions: 1.0 and 1.1 only (RFC 9112 section 2.3). */
    ROW("version HTTP/2.0", VERSION("HTTP/2.0"), CLOSED, 505),
    ROW("version HTTP/3.0", VERSION("HTTP/3.0"), CLOSED, 505),
    ROW("version HTTP/1.2", VERSION("HTTP/1.2"), CLOSED, 505),
    ROW("version HTTP/x.y", VERSION("HTTP/x.y"), CLOSED, 400),
    ROW("version http/1.1", VERSION("http/1.1"), CLOSED, 400),
    ROW("version HTTP/01.1", VERSION("HTTP/01.1"), CLOSED, 400),
    ROW("version HTTP/1.10", VERSION("HTTP/1.10"), CLOSED, 400),
    ROW("version followed by SP", VERSION("HTTP/1.1 "), CLOSED, 400),
    /* llhttp takes "GET /\r\n" for HTTP/0.9 and waits for a header section, so the blank line
     * is sent too; without Host it fails the Host check (400), with one the version (505). */
    ROW_ALT("version HTTP/0.9 style", "GET /\r\n\r\n", CLOSED, 400, 505),
    ROW("version HTTP/0.9 style with Host", "GET /sample.txt\r\nHost: {HOST}\r\n\r\n", CLOSED, 505),

    /* Methods: nothing but GET, HEAD and OPTIONS; never tunnel, never echo. */
    ROW("method BREW", "BREW /sample.txt HTTP/1.1\r\nHost: {HOST}\r\n\r\n", CLOSED, 501),
    ROW("method lower-case get", "get /sample.txt HTTP/1.1\r\nHost: {HOST}\r\n\r\n", CLOSED, 501),
    ROW("method long unknown token", "GETGETGETGETGETGETGET / HTTP/1.1\r\nHost: {HOST}\r\n\r\n",
        CLOSED, 501),
    /* The authority-form target is not a path: 400, and the connection closes (no tunnel). */
    ROW("method CONNECT does not tunnel",
        "CONNECT 127.0.0.1:{PORT} HTTP/1.1\r\nHost: {HOST}\r\n\r\n", CLOSED, 400),
    ROW_ECHO("method TRACE does not echo",
             "TRACE /sample.txt HTTP/1.1\r\nHost: {HOST}\r\nX-Trace: zzTRACEzz\r\n\r\n", OPEN,
             "zzTRACEzz", 405),
    ROW("method DELETE", "DELETE /sample.txt HTTP/1.1\r\nHost: {HOST}\r\n\r\n", OPEN, 405),
    ROW("method PUT with a body",
        "PUT /sample.txt HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 3\r\n\r\nabc", OPEN, 405),
};

#define N_ROWS (sizeof(rows) / sizeof(rows[0]))

/* The parameter is a row index: criterion copies parameters into the test process, where the
 * table's pointers would not be valid (a re-executed, address-randomised binary). */
ParameterizedTestParameters(security, hostile)
{
    static size_t index[N_ROWS];
    for (size_t i = 0; i < N_ROWS; i++)
        index[i] = i;
    return cr_make_param_array(size_t, index, N_ROWS);
}

/* One row: send the bytes, read exactly the responses the row names, check each for leaks,
 * then check the connection state. */
ParameterizedTest(size_t *index, security, hostile, .timeout = 30)
{
    const struct row *row = &rows[*index];
    struct th_server ts;
    struct th_response r;
    char sentinel[4200], req_shown[400], conn[64];
    size_t len;

    make_sentinel(sentinel, sizeof(sentinel));
    th_start(&ts, NULL);
    char *tmpl = row->req ? NULL : row->gen();
    char *req = expand(&ts, row->req ? row->req : tmpl, &len);
    free(tmpl);
    th_shown(req, len, req_shown, sizeof(req_shown));

    int fd = th_connect(&ts);
    send_tolerant(fd, req, len);
    free(req);
    for (int i = 0; i < 3 && row->status[i]; i++) {
        int want = row->status[i];
        cr_assert_eq(th_read_response(fd, &r, row->head), 0,
                     "[%s] response %d of the expected statuses missing (want %d); request \"%s\"",
                     row->name, i + 1, want, req_shown);
        bool ok = r.status == want || (i == 0 && row->alt && r.status == row->alt);
        cr_expect(ok, "[%s] response %d: status %d, want %d%s; request \"%s\"; head:\n%s",
                  row->name, i + 1, r.status, want,
                  i == 0 && row->alt ? " (or the alternative)" : "", req_shown, r.head);
        char what[256];
        snprintf(what, sizeof(what), "[%s] response %d", row->name, i + 1);
        expect_clean(&r, row->no_echo, what);
        bool last = i == 2 || !row->status[i + 1];
        if (ok && last && row->after == CLOSED)
            cr_expect(!th_header(&r, "Connection", conn, sizeof(conn)) ||
                          strcasecmp(conn, "keep-alive") != 0,
                      "[%s] the last response promises keep-alive; head:\n%s", row->name, r.head);
        th_response_free(&r);
    }

    if (row->after == CLOSED) {
        cr_expect(th_wait_closed(fd, 1000),
                  "[%s] connection not closed (or more bytes sent) after the expected responses; "
                  "request \"%s\"",
                  row->name, req_shown);
    } else {
        th_send_get(&ts, fd, "/sample.txt");
        cr_assert_eq(th_read_response(fd, &r, false), 0,
                     "[%s] connection unusable after the expected responses; request \"%s\"",
                     row->name, req_shown);
        cr_expect_eq(r.status, 200,
                     "[%s] follow-up GET /sample.txt got %d (an extra response?); request "
                     "\"%s\"; head:\n%s",
                     row->name, r.status, req_shown, r.head);
        if (r.status == 200)
            th_expect_body_is_file_for(&ts, &r, "sample.txt", row->name);
        th_response_free(&r);
    }
    close(fd);
    th_stop(&ts);
}

Test(security, table_is_large_enough, .timeout = 30)
{
    cr_expect_geq(N_ROWS, 80, "the hostile-request table shrank");
}

/* ---- symlinks: containment is decided on the real path ---- */

static char sym_root[4200];     /* temporary document root with links in it */
static char sym_sibling[4300];  /* "<sym_root>-evil": shares the root's name as a prefix */
static char sym_rootlink[4300]; /* a symlink naming sym_root */

static void copy_from_root(const char *rel)
{
    struct th_server fake;
    size_t len;
    snprintf(fake.root, sizeof(fake.root), "%s", getenv("UVHTTPD_TEST_ROOT"));
    char *data = th_read_file(&fake, rel, &len);
    cr_assert_not_null(data, "cannot read %s from UVHTTPD_TEST_ROOT", rel);
    char path[8800];
    snprintf(path, sizeof(path), "%s/%s", sym_root, rel);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
    free(data);
}

static void link_in_root(const char *target, const char *name)
{
    char path[8800];
    snprintf(path, sizeof(path), "%s/%s", sym_root, name);
    cr_assert_eq(symlink(target, path), 0, "symlink %s -> %s: %s", path, target, strerror(errno));
}

static void symlink_fixture(void)
{
    char dir[4096], sentinel[4200], path[8800];

    th_skip_if_external("symlink fixtures; wine has no symlinks");
    make_sentinel(sentinel, sizeof(sentinel));
    outside_dir(dir, sizeof(dir));
    snprintf(sym_root, sizeof(sym_root), "%s/sec-root-XXXXXX", dir);
    cr_assert_not_null(mkdtemp(sym_root), "mkdtemp: %s", strerror(errno));
    snprintf(sym_sibling, sizeof(sym_sibling), "%s-evil", sym_root);
    cr_assert_eq(mkdir(sym_sibling, 0755), 0);
    th_write_file(sym_sibling, "secret.txt", "sibling: " OUTSIDE_MARKER "\n");

    copy_from_root("sample.txt");
    copy_from_root("notes.txt");
    th_write_file(sym_root, ".dotfile.txt", "a dotfile: UVH-DOTFILE-SECRET\n");
    snprintf(path, sizeof(path), "%s/sub", sym_root);
    cr_assert_eq(mkdir(path, 0755), 0);
    th_write_file(path, "inner.txt", "inner file\n");
    snprintf(path, sizeof(path), "%s/.private", sym_root);
    cr_assert_eq(mkdir(path, 0755), 0);
    th_write_file(path, "x.txt", "private: UVH-DOTFILE-SECRET\n");

    link_in_root(sentinel, "secret.txt");               /* absolute, to a file outside */
    link_in_root("../" OUTSIDE_NAME, "secret-rel.txt"); /* relative, to the same file */
    link_in_root(dir, "outside");                       /* a directory outside */
    link_in_root("..", "up");                           /* the root's parent */
    link_in_root("/etc/passwd", "passwd.txt");
    link_in_root("/etc", "etc");
    snprintf(path, sizeof(path), "%s/secret.txt", sym_sibling);
    link_in_root(path, "sibling.txt"); /* outside, though its path starts with the root's */
    link_in_root(sym_sibling, "sibling-dir");
    link_in_root("sample.txt", "inside-link.txt");
    snprintf(path, sizeof(path), "%s/notes.txt", sym_root);
    link_in_root(path, "inside-abs.txt");
    link_in_root("sub", "sub-link");
    link_in_root("inside-link.txt", "chain.txt");
    link_in_root(".dotfile.txt", "dot-link.txt");
    link_in_root(".private", "dotdir-link");
    link_in_root("does-not-exist.txt", "dangling.txt");
    link_in_root("loop-b.txt", "loop-a.txt");
    link_in_root("loop-a.txt", "loop-b.txt");

    snprintf(sym_rootlink, sizeof(sym_rootlink), "%s-link", sym_root);
    cr_assert_eq(symlink(sym_root, sym_rootlink), 0, "symlink %s: %s", sym_rootlink,
                 strerror(errno));
}

static void symlink_cleanup(void)
{
    th_remove_tree(sym_root);
    th_remove_tree(sym_sibling);
    if (sym_rootlink[0])
        unlink(sym_rootlink);
}

static void serve_sym_root(struct uvh_config *cfg)
{
    cfg->root = sym_root;
}

static void serve_sym_rootlink(struct uvh_config *cfg)
{
    cfg->root = sym_rootlink;
}

struct link_case {
    const char *path;
    int status;
    const char *file; /* for 200: the file under the root whose bytes must come back */
};

static const struct link_case link_cases[] = {
    {"/secret.txt", 403, NULL},
    {"/secret-rel.txt", 403, NULL},
    {"/outside/" OUTSIDE_NAME, 403, NULL},
    {"/up/" OUTSIDE_NAME, 403, NULL},
    {"/passwd.txt", 403, NULL},
    {"/etc/passwd", 403, NULL},
    {"/sibling.txt", 403, NULL},
    {"/sibling-dir/secret.txt", 403, NULL},
    {"/dot-link.txt", 403, NULL},
    {"/dotdir-link/x.txt", 403, NULL},
    {"/dangling.txt", 404, NULL},
    {"/loop-a.txt", 403, NULL},
    {"/inside-link.txt", 200, "sample.txt"},
    {"/inside-abs.txt", 200, "notes.txt"},
    {"/chain.txt", 200, "sample.txt"},
    {"/sub-link/inner.txt", 200, "sub/inner.txt"},
    {"/sample.txt", 200, "sample.txt"},
};

static void check_links(const struct th_server *ts)
{
    struct th_response r;
    int fd = th_connect(ts);

    for (size_t i = 0; i < sizeof(link_cases) / sizeof(link_cases[0]); i++) {
        const struct link_case *lc = &link_cases[i];
        char what[128];
        snprintf(what, sizeof(what), "[GET %s]", lc->path);
        th_send_get(ts, fd, lc->path);
        cr_assert_eq(th_read_response(fd, &r, false), 0, "%s no response", what);
        cr_expect_eq(r.status, lc->status, "%s status %d, want %d; head:\n%s", what, r.status,
                     lc->status, r.head);
        expect_clean(&r, "UVH-DOTFILE-SECRET", what);
        if (lc->file && r.status == 200)
            th_expect_body_is_file_for(ts, &r, lc->file, what);
        th_response_free(&r);
    }
    close(fd);
}

Test(security, symlink_escapes, .timeout = 30, .fini = symlink_cleanup)
{
    struct th_server ts;

    symlink_fixture();
    th_start(&ts, serve_sym_root);
    cr_assert_str_eq(ts.cfg.root, sym_root);
    snprintf(ts.root, sizeof(ts.root), "%.4000s", sym_root); /* th_read_file reads the same tree */
    check_links(&ts);
    th_stop(&ts);
}

/* A root named through a symlink is resolved once at start-up: its files are inside. */
Test(security, symlinked_root, .timeout = 30, .fini = symlink_cleanup)
{
    struct th_server ts;

    symlink_fixture();
    th_start(&ts, serve_sym_rootlink);
    snprintf(ts.root, sizeof(ts.root), "%.4000s", sym_root);
    check_links(&ts);
    th_stop(&ts);
}

/* ---- a client that trickles its head ---- */

static void one_second_request_timeout(struct uvh_config *cfg)
{
    cfg->request_timeout_s = 1;
}

Test(security, slow_headers_408, .timeout = 30)
{
    struct th_server ts;
    struct th_response r;
    size_t len, sent = 0;

    th_start(&ts, one_second_request_timeout);
    char *head = expand(&ts,
                        "GET /sample.txt HTTP/1.1\r\nHost: {HOST}\r\nX-Slow: "
                        "abcdefghijklmnopqrstuvwxyz0123456789\r\n\r\n",
                        &len);
    int fd = th_connect(&ts);
    double t0 = th_now_ms();
    while (sent < len) {
        ssize_t n = send(fd, head + sent, 1, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        sent++;
        if (th_readable(fd, 200))
            break; /* the server answered (or closed) */
    }
    free(head);
    int rc = th_read_response(fd, &r, false);
    double dt = th_now_ms() - t0;
    cr_expect_lt(sent, len, "the whole head was accepted one byte every 200 ms (%.0f ms)", dt);
    cr_expect(dt <= 1800, "the server answered %.0f ms after the first byte, want about 1000", dt);
    if (rc == 0) {
        cr_expect_eq(r.status, 408, "status %d, want 408; head:\n%s", r.status, r.head);
        th_response_free(&r);
    }
    cr_expect(th_wait_closed(fd, 2000), "connection not closed after the request timeout");
    close(fd);
    th_stop(&ts);
}
