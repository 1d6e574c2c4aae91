/* harness.c - starts/stops the server under test and speaks raw HTTP/1.1 over blocking sockets. */
#define _GNU_SOURCE
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "log.h"

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
            cr_skip_test("needs its own server settings; the suite runs against %s",
                         getenv("UVHTTPD_TEST_URL"));
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
    if (tweak)
        tweak(&ts->cfg);
    uvh_server_set_threadpool_size(ts->cfg.threads);
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
    uvh_server_free(ts->srv);
    ts->srv = NULL;
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

/* Reads into buf until `done` says the buffer holds what we need; returns bytes or -1. */
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
