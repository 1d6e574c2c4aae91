/* harness.c - starts/stops the server under test and speaks raw HTTP/1.1 over blocking sockets. */
#define _GNU_SOURCE
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "log.h"
#include "process.h"

bool th_external(void)
{
    const char *url = getenv("UVHTTPD_TEST_URL");
    return url && *url;
}

static void run_thread(void *arg)
{
    struct th_server *ts = arg;
    ts->run_rc = uvh_server_run(ts->srv);
}

void th_start(struct th_server *ts, void (*tweak)(struct uvh_config *cfg))
{
    const char *root = getenv("UVHTTPD_TEST_ROOT");
    memset(ts, 0, sizeof(*ts));
    cr_assert(root && *root, "UVHTTPD_TEST_ROOT must name the served directory");
    snprintf(ts->root, sizeof(ts->root), "%s", root);

    if (th_external()) {
        if (tweak)
            th_skip_if_external(NULL);
        const char *url = getenv("UVHTTPD_TEST_URL");
        cr_assert(sscanf(url, "http://%63[^:]:%d", ts->host, &ts->port) == 2,
                  "UVHTTPD_TEST_URL must look like http://127.0.0.1:PORT");
        return;
    }
    const char *level = getenv("UVHTTPD_TEST_LOG");
    if (!level || uvh_log_parse_level(level, &uvh_log_threshold) != 0)
        uvh_log_threshold = UVH_LOG_WARN;
    ts->cfg = uvh_config_defaults;
    ts->cfg.port = 0;
    ts->cfg.threads = 4;
    ts->cfg.root = ts->root;
    /* UVHTTPD_TEST_FILE_CACHE=BYTES (0: off): the whole suite again with another file cache. */
    const char *fc = getenv("UVHTTPD_TEST_FILE_CACHE");
    if (fc && *fc)
        ts->cfg.file_cache = (unsigned)strtoul(fc, NULL, 10);
    /* UVHTTPD_TEST_WORKERS=N: the whole suite again with N loops; UVHTTPD_TEST_HANDOFF=1: with
     * one loop accepting for all (the Windows way) instead of a listener per loop. */
    const char *workers = getenv("UVHTTPD_TEST_WORKERS");
    if (workers && *workers)
        ts->cfg.workers = (unsigned)strtoul(workers, NULL, 10);
    const char *handoff = getenv("UVHTTPD_TEST_HANDOFF");
    ts->cfg.handoff = handoff && strcmp(handoff, "1") == 0;
    if (tweak)
        tweak(&ts->cfg);
    uvh_process_init(); /* as main() does: SIGPIPE ignored, the binary's malloc and jansson setup */
    uvh_pool_set_size(ts->cfg.threads);
    cr_assert_eq(uvh_server_new(&ts->cfg, &ts->srv), 0, "server failed to start");
    snprintf(ts->host, sizeof(ts->host), "127.0.0.1");
    ts->port = (int)ts->srv->port;
    cr_assert_eq(uv_thread_create(&ts->thread, run_thread, ts), 0);
}

void th_stop(struct th_server *ts)
{
    if (!ts->srv)
        return;
    uvh_server_stop(ts->srv);
    uv_thread_join(&ts->thread);
    cr_expect_eq(ts->run_rc, 0, "uv_loop_close failed: a handle was left open");
    cr_expect_eq(ts->srv->n_conns, 0, "connections left after stop");
    ts->sendfile_responses = ts->sendfile_bytes = ts->sendfile_waits = 0;
    for (unsigned i = 0; i < ts->srv->n_workers; i++) {
        const struct uvh_conn_env *e = &ts->srv->w[i].cenv;
        ts->sendfile_responses += e->sendfile_responses;
        ts->sendfile_bytes += e->sendfile_bytes;
        ts->sendfile_waits += e->sendfile_waits;
    }
    uvh_server_free(ts->srv);
    ts->srv = NULL;
}

struct uvh_conn *th_first_conn(const struct th_server *ts)
{
    for (unsigned i = 0; ts->srv && i < ts->srv->n_workers; i++)
        if (ts->srv->w[i].conns)
            return uvh_link_conn(ts->srv->w[i].conns);
    return NULL;
}

int th_connect(const struct th_server *ts)
{
    struct sockaddr_in a = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)ts->port);
    inet_pton(AF_INET, ts->host, &a.sin_addr);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "connect: %s", strerror(errno));
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

void th_send(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        cr_assert(n > 0, "send: %s", strerror(errno));
        p += n;
        len -= (size_t)n;
    }
}

static char *expand(const struct th_server *ts, const char *fmt, va_list ap)
{
    char hostport[96], *raw = NULL, *out;
    snprintf(hostport, sizeof(hostport), "%s:%d", ts->host, ts->port);
    cr_assert(vasprintf(&raw, fmt, ap) >= 0);
    size_t n = 0;
    for (const char *p = raw; (p = strstr(p, "{HOST}")); p += 6)
        n++;
    out = malloc(strlen(raw) + n * strlen(hostport) + 1);
    char *o = out;
    for (const char *p = raw; *p;) {
        if (strncmp(p, "{HOST}", 6) == 0) {
            o = stpcpy(o, hostport);
            p += 6;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    free(raw);
    return out;
}

void th_sendf(const struct th_server *ts, int fd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = expand(ts, fmt, ap);
    va_end(ap);
    th_send(fd, s, strlen(s));
    free(s);
}

/* One recv into buf, retried on EINTR; returns the bytes read, 0 at EOF, or -1. */
static ssize_t recv_some(int fd, char *buf, size_t cap)
{
    for (;;) {
        ssize_t n = recv(fd, buf, cap, 0);
        if (n < 0 && errno == EINTR)
            continue;
        return n;
    }
}

/* Bytes received past the end of one response, kept per socket for pipelined responses. */
static struct {
    int fd;
    size_t len;
    char data[65536];
} carry = {-1, 0, {0}};

int th_read_response(int fd, struct th_response *r, bool head_request)
{
    char buf[65536];
    size_t len = 0;
    char *end = NULL;

    memset(r, 0, sizeof(*r));
    if (carry.fd == fd && carry.len) {
        memcpy(buf, carry.data, carry.len);
        len = carry.len;
    }
    carry.fd = fd;
    carry.len = 0;
    for (;;) {
        buf[len] = '\0';
        end = len ? memmem(buf, len, "\r\n\r\n", 4) : NULL;
        if (end)
            break;
        if (len + 1 >= sizeof(buf))
            return -1;
        ssize_t n = recv_some(fd, buf + len, sizeof(buf) - len - 1);
        if (n <= 0)
            return -1;
        len += (size_t)n;
    }
    size_t head_len = (size_t)(end - buf) + 4;
    if (head_len >= sizeof(r->head))
        return -1;
    memcpy(r->head, buf, head_len);
    r->head[head_len] = '\0';
    if (sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1)
        return -1;

    char cl[32];
    size_t want = 0;
    bool bodyless = head_request || r->status == 304 || r->status == 204 || r->status < 200;
    if (!bodyless && th_header(r, "Content-Length", cl, sizeof(cl)))
        want = strtoull(cl, NULL, 10);
    r->body = malloc(want + 1);
    size_t have = len - head_len;
    size_t take = have < want ? have : want;
    memcpy(r->body, buf + head_len, take);
    if (have > take) {
        carry.len = have - take;
        memcpy(carry.data, buf + head_len + take, carry.len);
    }
    while (take < want) {
        ssize_t n = recv_some(fd, r->body + take, want - take);
        if (n <= 0) {
            r->body_len = take;
            r->body[take] = '\0';
            return -1;
        }
        take += (size_t)n;
    }
    r->body[want] = '\0';
    r->body_len = want;
    return 0;
}

void th_response_free(struct th_response *r)
{
    free(r->body);
    r->body = NULL;
}

const char *th_header(const struct th_response *r, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    const char *line = strstr(r->head, "\r\n");
    while (line && line[2] != '\r') {
        line += 2;
        const char *eol = strstr(line, "\r\n");
        if (!eol)
            break;
        if ((size_t)(eol - line) > n && line[n] == ':' && strncasecmp(line, name, n) == 0) {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            size_t len = (size_t)(eol - v);
            if (len >= cap)
                len = cap - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            return out;
        }
        line = eol;
    }
    return NULL;
}

int th_request(const struct th_server *ts, struct th_response *r, bool head_request,
               const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = expand(ts, fmt, ap);
    va_end(ap);
    int fd = th_connect(ts);
    th_send(fd, s, strlen(s));
    free(s);
    int rc = th_read_response(fd, r, head_request);
    close(fd);
    return rc;
}

bool th_wait_closed(int fd, int timeout_ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    if (carry.fd == fd && carry.len)
        return false;
    if (poll(&p, 1, timeout_ms) <= 0)
        return false;
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
    return n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE));
}

char *th_read_file(const struct th_server *ts, const char *rel, size_t *len)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", ts->root, rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    *len = fread(buf, 1, (size_t)n, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* ---- shared test helpers ---- */

void th_skip_if_external(const char *why)
{
    if (!th_external())
        return;
    if (why)
        cr_skip_test("needs its own server settings (%s); the suite runs against %s", why,
                     getenv("UVHTTPD_TEST_URL"));
    cr_skip_test("needs its own server settings; the suite runs against %s",
                 getenv("UVHTTPD_TEST_URL"));
}

double th_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

void th_sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

bool th_readable(int fd, int timeout_ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, timeout_ms) == 1;
}

void th_close_reset(int fd)
{
    struct linger lg = {1, 0};
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
    close(fd);
}

void th_expect_header_for(const struct th_response *r, const char *name, const char *want,
                          const char *what)
{
    const char *sep = what ? ": " : "";
    char v[1024];
    if (!what)
        what = "";
    if (!th_header(r, name, v, sizeof(v)))
        cr_expect_fail("%s%sheader %s missing; head:\n%s", what, sep, name, r->head);
    else
        cr_expect_str_eq(v, want, "%s%sheader %s: got \"%s\", want \"%s\"", what, sep, name, v,
                         want);
}

void th_expect_header(const struct th_response *r, const char *name, const char *want)
{
    th_expect_header_for(r, name, want, NULL);
}

void th_expect_no_header(const struct th_response *r, const char *name)
{
    char v[1024];
    cr_expect_null(th_header(r, name, v, sizeof(v)), "unexpected header %s: %s", name, v);
}

void th_expect_body_is_file_for(const struct th_server *ts, const struct th_response *r,
                                const char *rel, const char *what)
{
    const char *sep = what ? ": " : "";
    size_t len = 0;
    char *want = th_read_file(ts, rel, &len);
    if (!what)
        what = "";
    cr_assert_not_null(want, "%s%scannot read %s under %s", what, sep, rel, ts->root);
    cr_expect_eq(r->body_len, len, "%s%s%s: body is %zu bytes, file is %zu", what, sep, rel,
                 r->body_len, len);
    cr_expect(r->body_len == len && memcmp(r->body, want, len) == 0, "%s%s%s: body differs", what,
              sep, rel);
    free(want);
}

void th_expect_body_is_file(const struct th_server *ts, const struct th_response *r,
                            const char *rel)
{
    th_expect_body_is_file_for(ts, r, rel, NULL);
}

void th_read_status(int fd, struct th_response *r, bool head_request, int status, const char *what)
{
    cr_assert_eq(th_read_response(fd, r, head_request), 0, "%s: no complete response", what);
    cr_assert_eq(r->status, status, "%s: status %d, want %d; head:\n%s\nbody: %.300s", what,
                 r->status, status, r->head, r->body);
}

void th_expect_file_response(const struct th_server *ts, int fd, const char *rel, const char *what)
{
    struct th_response r;
    th_read_status(fd, &r, false, 200, what);
    th_expect_body_is_file(ts, &r, rel);
    th_response_free(&r);
}

void th_send_get(const struct th_server *ts, int fd, const char *path)
{
    th_sendf(ts, fd, "GET %s HTTP/1.1\r\nHost: {HOST}\r\n\r\n", path);
}

void th_get(const struct th_server *ts, struct th_response *r, const char *path, int status)
{
    cr_assert_eq(th_request(ts, r, false, "GET %s HTTP/1.1\r\nHost: {HOST}\r\n\r\n", path), 0,
                 "no complete response to GET %s", path);
    if (status)
        cr_assert_eq(r->status, status, "GET %s: status %d, want %d; head:\n%s", path, r->status,
                     status, r->head);
}

void th_expect_usable(const struct th_server *ts, int fd, const char *rel, const char *what)
{
    struct th_response r;
    th_sendf(ts, fd, "GET /%s HTTP/1.1\r\nHost: {HOST}\r\n\r\n", rel);
    cr_assert_eq(th_read_response(fd, &r, false), 0, "%s: connection unusable", what);
    cr_expect_eq(r.status, 200, "%s: next request got %d; head:\n%s", what, r.status, r.head);
    th_expect_body_is_file(ts, &r, rel);
    th_response_free(&r);
}

void th_expect_closing(int fd, struct th_response *r, const char *what)
{
    int status = r->status;
    th_expect_header_for(r, "Connection", "close", what);
    th_response_free(r);
    cr_expect(th_wait_closed(fd, 2000), "%s: connection not closed after %d", what, status);
    close(fd);
}

struct body_sender {
    int fd;
    const char *body;
    size_t len;
    size_t sent;
};

static void send_body(void *arg)
{
    struct body_sender *b = arg;
    while (b->sent < b->len) {
        size_t n = b->len - b->sent < 16384 ? b->len - b->sent : 16384;
        ssize_t w = send(b->fd, b->body + b->sent, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* the server answered and closed */
        b->sent += (size_t)w;
    }
}

int th_read_response_while_sending(int fd, struct th_response *r, const void *body, size_t len,
                                   size_t *sent)
{
    struct body_sender b = {fd, body, len, 0};
    uv_thread_t t;
    cr_assert_eq(uv_thread_create(&t, send_body, &b), 0);
    int rc = th_read_response(fd, r, false);
    uv_thread_join(&t);
    *sent = b.sent;
    return rc;
}

char *th_many_fields(int n, const char *value)
{
    size_t cap = (size_t)n * (strlen(value) + 16) + 1, o = 0;
    char *s = malloc(cap);
    cr_assert_not_null(s);
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(s + o, cap - o, "X-%d: %s\r\n", i, value);
    s[o] = '\0';
    return s;
}

void th_write_file(const char *dir, const char *rel, const char *content)
{
    char path[8400];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s: %s", path, strerror(errno));
    fputs(content, f);
    cr_assert_eq(fclose(f), 0);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void th_remove_tree(const char *path)
{
    struct stat st;
    if (path[0] && lstat(path, &st) == 0)
        nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *th_shown(const char *data, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)data[i];
        if (c == '\r')
            o += (size_t)snprintf(out + o, cap - o, "\\r");
        else if (c == '\n')
            o += (size_t)snprintf(out + o, cap - o, "\\n");
        else if (c < 0x20 || c >= 0x7f || c == '\\')
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    if (o + 8 >= cap)
        o += (size_t)snprintf(out + o, cap - o, "...");
    out[o] = '\0';
    return out;
}

void th_request_timeout_1s(struct uvh_config *cfg)
{
    cfg->request_timeout_s = 1;
}
