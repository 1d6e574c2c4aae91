/* test_sendfile.c - large files over the wire (issue 12): the sendfile path (--sendfile on, the
 * default where the system has it) and the read+write path (--sendfile off) must send the same
 * bytes, and both must survive slow clients, clients that leave mid-file, and a stop. Every
 * test runs once per path; the server's figures (read after its loop ends) show which path
 * served it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"
#include "sendfile.h"
#include "static_handler.h"

#define BIG "big.png"
#define BIG_SIZE (8u * 1024 * 1024 + 12345) /* many sendfile budgets and read chunks, odd end */

static char sf_root[512];
static char *big;    /* the bytes of BIG */
static bool sf_mode; /* the run's --sendfile */
static unsigned sf_shutdown_s = 10;
static unsigned sf_max_conns = 1024;

static void make_root(void)
{
    const char *tmp = getenv("TMPDIR");
    th_skip_if_external("a document root of its own and --sendfile");
    snprintf(sf_root, sizeof(sf_root), "%s/uvhttpd-sendfile-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(sf_root), "mkdtemp: %s", strerror(errno));
    big = malloc(BIG_SIZE);
    cr_assert_not_null(big);
    uint32_t v = 12345; /* deterministic, no period within the file: a misplaced chunk shows */
    for (size_t i = 0; i < BIG_SIZE; i++) {
        v = v * 1103515245u + 12345u;
        big[i] = (char)(v >> 16);
    }
    char path[600];
    snprintf(path, sizeof(path), "%s/" BIG, sf_root);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(big, 1, BIG_SIZE, f), BIG_SIZE);
    cr_assert_eq(fclose(f), 0);
    th_write_file(sf_root, "small.txt", "small\n");
}

static void cleanup(void)
{
    if (sf_root[0])
        th_remove_tree(sf_root);
    free(big);
    big = NULL;
}

static void tweak(struct uvh_config *cfg)
{
    cfg->root = sf_root;
    cfg->sendfile = sf_mode;
    cfg->shutdown_timeout_s = sf_shutdown_s;
    cfg->max_connections = sf_max_conns;
    cfg->queue_size = 16;
}

static void start(struct th_server *ts)
{
    th_start(ts, tweak);
    snprintf(ts->root, sizeof(ts->root), "%s", sf_root);
}

/* Did the responses of this run go out the way the mode says? */
static void expect_path(const struct th_server *ts, unsigned long long bytes)
{
    if (sf_mode && uvh_sendfile_available()) {
        cr_expect_gt(ts->sendfile_responses, 0, "sendfile was never used");
        cr_expect_eq(ts->sendfile_bytes, bytes, "sendfile sent %llu bytes, expected %llu",
                     ts->sendfile_bytes, bytes);
    } else {
        cr_expect_eq(ts->sendfile_responses, 0, "sendfile used with --sendfile off");
        cr_expect_eq(ts->sendfile_bytes, 0);
    }
}

/* A connection whose receive buffer is small (set before connecting, so the window is
 * negotiated with it): the server's socket fills quickly when the client pauses. */
static int connect_small_rcvbuf(const struct th_server *ts)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)ts->port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0), rcvbuf = 32768;
    cr_assert_geq(fd, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    inet_pton(AF_INET, ts->host, &a.sin_addr);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "connect: %s", strerror(errno));
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Reads up to n bytes (fewer at EOF); fails on a timeout. */
static size_t recv_n(int fd, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(fd, buf + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        cr_assert_geq(r, 0, "recv after %zu of %zu bytes: %s", got, n, strerror(errno));
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return got;
}

/* Reads a head (up to and including the blank line) byte by byte, so nothing past it is taken. */
static void recv_head(int fd, char *head, size_t cap)
{
    size_t n = 0;
    while (n < 4 || memcmp(head + n - 4, "\r\n\r\n", 4) != 0) {
        cr_assert_lt(n + 1, cap, "head too long");
        cr_assert_eq(recv_n(fd, head + n, 1), 1, "connection ended in the head");
        n++;
    }
    head[n] = '\0';
}

static void expect_big_response(const struct th_server *ts, int fd, int status, size_t from,
                                size_t len, const char *what)
{
    struct th_response r;
    char want[64];
    th_read_status(fd, &r, false, status, what);
    snprintf(want, sizeof(want), "%zu", len);
    th_expect_header_for(&r, "Content-Length", want, what);
    cr_assert_eq(r.body_len, len, "%s: %zu body bytes, expected %zu", what, r.body_len, len);
    cr_assert(memcmp(r.body, big + from, len) == 0, "%s: body differs from the file", what);
    th_response_free(&r);
    (void)ts;
}

#define BOTH_MODES(name)                                                                           \
    static void name(void);                                                                        \
    Test(sendfile, name##_sendfile, .init = make_root, .fini = cleanup, .timeout = 30)             \
    {                                                                                              \
        sf_mode = true;                                                                            \
        name();                                                                                    \
    }                                                                                              \
    Test(sendfile, name##_read_write, .init = make_root, .fini = cleanup, .timeout = 30)           \
    {                                                                                              \
        sf_mode = false;                                                                           \
        name();                                                                                    \
    }                                                                                              \
    static void name(void)

/* A multi-MiB file arrives byte for byte, twice on one connection, and the connection stays
 * usable after it. */
BOTH_MODES(whole_file)
{
    struct th_server ts;
    start(&ts);
    int fd = th_connect(&ts);
    for (int i = 0; i < 2; i++) {
        th_send_get(&ts, fd, "/" BIG);
        expect_big_response(&ts, fd, 200, 0, BIG_SIZE, i ? "second GET" : "first GET");
    }
    th_expect_usable(&ts, fd, "small.txt", "after two large files");
    close(fd);
    th_stop(&ts);
    expect_path(&ts, 2ull * BIG_SIZE);
}

/* Single ranges anywhere in the file, then pipelined behind each other, and a multipart
 * response (read path in both modes) are byte-exact. */
BOTH_MODES(ranges)
{
    static const struct {
        const char *spec;
        size_t from, len;
    } cases[] = {
        {"bytes=1000000-5000000", 1000000, 4000001},
        {"bytes=7000000-", 7000000, BIG_SIZE - 7000000},
        {"bytes=-200000", BIG_SIZE - 200000, 200000},
        {"bytes=123-65658", 123, 65536}, /* exactly the sendfile threshold */
        {"bytes=5-65538", 5, 65534},     /* just under it: the read path in both modes */
    };
    struct th_server ts;
    unsigned long long via_sendfile = 0;
    start(&ts);
    int fd = th_connect(&ts);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        th_sendf(&ts, fd, "GET /" BIG " HTTP/1.1\r\nHost: {HOST}\r\nRange: %s\r\n\r\n",
                 cases[i].spec);
        expect_big_response(&ts, fd, 206, cases[i].from, cases[i].len, cases[i].spec);
        if (cases[i].len >= UVH_SENDFILE_MIN)
            via_sendfile += cases[i].len;
    }
    /* All of them pipelined in one send: each waits for the one before it. */
    char req[4096];
    size_t o = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        o += (size_t)snprintf(req + o, sizeof(req) - o,
                              "GET /" BIG " HTTP/1.1\r\nHost: %s:%d\r\nRange: %s\r\n\r\n", ts.host,
                              ts.port, cases[i].spec);
        if (cases[i].len >= UVH_SENDFILE_MIN)
            via_sendfile += cases[i].len;
    }
    th_send(fd, req, o);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_big_response(&ts, fd, 206, cases[i].from, cases[i].len, cases[i].spec);

    /* multipart/byteranges: parts far apart, one larger than a read chunk. */
    struct th_response r;
    char type[256];
    th_sendf(&ts, fd,
             "GET /" BIG " HTTP/1.1\r\nHost: {HOST}\r\nRange: bytes=10-19,3000000-3600000,-70000"
             "\r\n\r\n");
    th_read_status(fd, &r, false, 206, "multipart");
    cr_assert_not_null(th_header(&r, "Content-Type", type, sizeof(type)));
    const char *b = strstr(type, "boundary=");
    cr_assert_not_null(b, "multipart without a boundary: %s", type);
    size_t parts[][2] = {{10, 10}, {3000000, 600001}, {BIG_SIZE - 70000, 70000}};
    const char *p = r.body;
    for (size_t i = 0; i < 3; i++) {
        char crange[96];
        snprintf(crange, sizeof(crange), "Content-Range: bytes %zu-%zu/%u\r\n\r\n", parts[i][0],
                 parts[i][0] + parts[i][1] - 1, BIG_SIZE);
        const char *h = memmem(p, r.body_len - (size_t)(p - r.body), crange, strlen(crange));
        cr_assert_not_null(h, "part %zu: no %s", i, crange);
        p = h + strlen(crange);
        cr_assert(memcmp(p, big + parts[i][0], parts[i][1]) == 0, "part %zu differs", i);
        p += parts[i][1];
    }
    th_response_free(&r);
    th_expect_usable(&ts, fd, "small.txt", "after the ranges");
    close(fd);
    th_stop(&ts);
    expect_path(&ts, via_sendfile);
}

/* HEAD of a large file: its head only, and the next response follows at once. */
BOTH_MODES(head_of_large_file)
{
    struct th_server ts;
    struct th_response r;
    char want[32];
    start(&ts);
    int fd = th_connect(&ts);
    th_sendf(&ts, fd, "HEAD /" BIG " HTTP/1.1\r\nHost: {HOST}\r\n\r\n");
    th_read_status(fd, &r, true, 200, "HEAD");
    snprintf(want, sizeof(want), "%u", BIG_SIZE);
    th_expect_header(&r, "Content-Length", want);
    th_response_free(&r);
    th_expect_usable(&ts, fd, "small.txt", "after HEAD");
    close(fd);
    th_stop(&ts);
    cr_expect_eq(ts.sendfile_responses, 0, "a HEAD went through sendfile");
}

/* A client with a small receive buffer that reads in small bites with pauses: the server's
 * socket is full again and again (the file is larger than its send buffer can grow: 4 MiB by
 * default on Linux), and every byte still arrives in order. */
BOTH_MODES(slow_reader)
{
    struct th_server ts;
    char head[1024];
    start(&ts);
    int fd = connect_small_rcvbuf(&ts);
    th_send_get(&ts, fd, "/" BIG);
    recv_head(fd, head, sizeof(head));
    cr_assert(strncmp(head, "HTTP/1.1 200 ", 13) == 0, "%s", head);
    char *body = malloc(BIG_SIZE);
    cr_assert_not_null(body);
    size_t got = 0;
    for (int i = 0; got < BIG_SIZE; i++) {
        if (i % 64 == 0)
            th_sleep_ms(i == 0 ? 300 : 30); /* the server finds its socket full */
        size_t bite = BIG_SIZE - got < 16384 ? BIG_SIZE - got : 16384;
        size_t n = recv_n(fd, body + got, bite);
        cr_assert_eq(n, bite, "connection ended after %zu bytes", got + n);
        got += n;
    }
    cr_assert(memcmp(body, big, BIG_SIZE) == 0, "the slow download differs from the file");
    free(body);
    th_expect_usable(&ts, fd, "small.txt", "after the slow download");
    close(fd);
    th_stop(&ts);
    expect_path(&ts, BIG_SIZE);
    if (sf_mode && uvh_sendfile_available())
        cr_expect_gt(ts.sendfile_waits, 0, "the socket was never full: the wait went untested");
}

static void max_one_connection(void)
{
    sf_max_conns = 1;
}

/* Leaves mid-file (a FIN or a reset, while the server sends or while it waits for room): the
 * server frees the connection at once, so with --max-connections 1 the next client is served
 * well within the request timeout (10 s), and it stops clean with nothing left open. */
static void leave_mid_file(bool reset, bool stop_reading_first)
{
    struct th_server ts;
    char head[1024], buf[65536];
    max_one_connection();
    start(&ts);
    for (int round = 0; round < 3; round++) {
        int fd = stop_reading_first ? connect_small_rcvbuf(&ts) : th_connect(&ts);
        th_send_get(&ts, fd, "/" BIG);
        recv_head(fd, head, sizeof(head));
        cr_assert(strncmp(head, "HTTP/1.1 200 ", 13) == 0, "%s", head);
        cr_assert_eq(recv_n(fd, buf, sizeof(buf)), sizeof(buf));
        cr_assert(memcmp(buf, big, sizeof(buf)) == 0);
        if (stop_reading_first)
            th_sleep_ms(200); /* the server's socket fills; it waits for room */
        if (reset)
            th_close_reset(fd);
        else
            close(fd);
        double t0 = th_now_ms();
        struct th_response r;
        th_get(&ts, &r, "/small.txt", 200); /* waits for the one slot */
        cr_expect_lt(th_now_ms() - t0, 3000, "the next client waited %.0f ms for the slot",
                     th_now_ms() - t0);
        th_response_free(&r);
    }
    th_stop(&ts);
    if (sf_mode && uvh_sendfile_available())
        cr_expect_gt(ts.sendfile_responses, 0);
}

BOTH_MODES(client_closes_mid_file)
{
    leave_mid_file(false, false);
}

BOTH_MODES(client_resets_mid_file)
{
    leave_mid_file(true, false);
}

BOTH_MODES(client_resets_while_server_waits)
{
    leave_mid_file(true, true);
}

/* A stop during a download lets it finish (every byte), then the connection closes and the
 * server ends clean. */
BOTH_MODES(stop_lets_download_finish)
{
    struct th_server ts;
    char head[1024];
    start(&ts);
    int fd = connect_small_rcvbuf(&ts);
    th_send_get(&ts, fd, "/" BIG);
    recv_head(fd, head, sizeof(head));
    char *body = malloc(BIG_SIZE);
    cr_assert_not_null(body);
    size_t got = recv_n(fd, body, 100000);
    uvh_server_stop(ts.srv);
    th_sleep_ms(100);
    got += recv_n(fd, body + got, BIG_SIZE - got);
    cr_assert_eq(got, (size_t)BIG_SIZE, "the download ended after %zu bytes", got);
    cr_assert(memcmp(body, big, BIG_SIZE) == 0, "the download differs from the file");
    free(body);
    cr_assert(th_wait_closed(fd, 2000), "the connection stayed open after the stop");
    close(fd);
    th_stop(&ts);
    expect_path(&ts, BIG_SIZE);
}

static void short_shutdown(void)
{
    sf_shutdown_s = 1;
}

/* A stop with a client that stopped reading: the shutdown timeout (1 s) closes it although the
 * server still waits to send, and the loop ends with nothing left open. */
BOTH_MODES(stop_with_stalled_client)
{
    struct th_server ts;
    char head[1024];
    short_shutdown();
    start(&ts);
    int fd = connect_small_rcvbuf(&ts);
    th_send_get(&ts, fd, "/" BIG);
    recv_head(fd, head, sizeof(head));
    th_sleep_ms(200);
    double t0 = th_now_ms();
    th_stop(&ts);
    cr_expect_lt(th_now_ms() - t0, 5000, "the stop took %.0f ms", th_now_ms() - t0);
    /* Whatever was in flight may still be read; then the connection ends. */
    char buf[65536];
    size_t total = 0;
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
            break;
        total += (size_t)n;
    }
    cr_expect_lt(total, (size_t)BIG_SIZE, "the whole file went out to a stalled client");
    close(fd);
    if (sf_mode && uvh_sendfile_available())
        cr_expect_gt(ts.sendfile_waits, 0, "the server never waited for room");
}
