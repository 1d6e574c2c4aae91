/* test_workers.c - issue 13: several event loops in one process (--workers). Connections are
 * spread over the loops, the limits count every loop together (a connection queued on one loop
 * gets the slot another frees, oldest first), and a stop drains every loop. Each test runs
 * with a listener per loop (SO_REUSEPORT, Linux) and with worker 1 accepting and handing
 * connections over (the Windows way, cfg.handoff). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define WORKERS 4

/* What the tweak applies (set by each test before th_start). */
static bool use_handoff;
static unsigned max_connections, queue_size; /* 0: the defaults */
static char own_root[512];                   /* "": the suite's root */

static void several_workers(struct uvh_config *cfg)
{
    cfg->workers = WORKERS;
    cfg->handoff = use_handoff;
    if (max_connections) {
        cfg->max_connections = max_connections;
        cfg->queue_size = queue_size;
    }
    if (own_root[0])
        cfg->root = own_root;
}

/* Connections each loop has taken; returns how many loops took any, and the total in *total. */
static unsigned loops_used(const struct th_server *ts, unsigned long long counts[WORKERS],
                           unsigned long long *total)
{
    unsigned used = 0;
    *total = 0;
    for (unsigned i = 0; i < WORKERS; i++) {
        counts[i] = uvh_server_worker_connections(ts->srv, i);
        *total += counts[i];
        used += counts[i] > 0;
    }
    return used;
}

/* ---- 200 concurrent connections, all served, spread over the loops ---- */

static void spread(bool handoff)
{
    enum { N = 200 };
    struct th_server ts;
    int fd[N];
    unsigned long long counts[WORKERS], total;

    use_handoff = handoff;
    th_start(&ts, several_workers);
    for (int i = 0; i < N; i++) {
        fd[i] = th_connect(&ts);
        th_send_get(&ts, fd[i], "/sample.txt");
    }
    for (int i = 0; i < N; i++) {
        char what[48];
        snprintf(what, sizeof(what), "connection %d of %d", i + 1, N);
        th_expect_file_response(&ts, fd[i], "sample.txt", what);
    }
    unsigned used = loops_used(&ts, counts, &total);
    cr_log_info("%s: connections per loop %llu %llu %llu %llu", handoff ? "hand-off" : "reuseport",
                counts[0], counts[1], counts[2], counts[3]);
    cr_expect_eq(total, N, "the loops took %llu connections, expected %d", total, N);
    cr_expect_gt(used, 1, "only %u loop of %d took connections", used, WORKERS);
    /* Least-loaded: every connection is still open, so the hand-off fills the loops evenly. */
    for (unsigned i = 0; handoff && i < WORKERS; i++)
        cr_expect_eq(counts[i], N / WORKERS, "hand-off: loop %u took %llu, expected %d", i + 1,
                     counts[i], N / WORKERS);
    for (int i = 0; i < N; i++)
        close(fd[i]);
    th_stop(&ts);
}

Test(workers, spread_200_connections, .timeout = 30)
{
    spread(false);
}

Test(workers, spread_200_connections_handoff, .timeout = 30)
{
    spread(true);
}

/* ---- --max-connections 10 --queue-size 5 over 4 loops refuses what one loop would ---- */

static void global_limits(bool handoff)
{
    enum { SLOTS = 10, QUEUED = 5, OVER = 20 };
    struct th_server ts;
    struct th_response r;
    int held[SLOTS], queued[QUEUED], over[OVER];
    unsigned long long counts[WORKERS], total;
    char what[64];

    use_handoff = handoff;
    max_connections = SLOTS;
    queue_size = QUEUED;
    th_start(&ts, several_workers);
    for (int i = 0; i < SLOTS; i++) { /* served and idle: each keeps its slot */
        held[i] = th_connect(&ts);
        th_send_get(&ts, held[i], "/sample.txt");
        snprintf(what, sizeof(what), "slot holder %d", i + 1);
        th_expect_file_response(&ts, held[i], "sample.txt", what);
    }
    for (int i = 0; i < QUEUED; i++) { /* one after the other: their order in the queue */
        queued[i] = th_connect(&ts);
        th_send_get(&ts, queued[i], "/sample.txt");
        th_sleep_ms(40);
    }
    for (int i = 0; i < QUEUED; i++)
        cr_expect_not(th_readable(queued[i], i == 0 ? 300 : 0),
                      "queued connection %d was answered while every slot is taken", i + 1);
    /* Past the slots and the queue of the whole server: every one is told 503 at once. */
    for (int i = 0; i < OVER; i++) {
        over[i] = th_connect(&ts);
        th_send_get(&ts, over[i], "/sample.txt");
        snprintf(what, sizeof(what), "client %d past the queue", i + 1);
        th_read_status(over[i], &r, false, 503, what);
        cr_expect(th_header(&r, "Retry-After", (char[16]){0}, 16), "%s: no Retry-After", what);
        th_response_free(&r);
        close(over[i]);
    }
    /* Each freed slot goes to the oldest queued connection, whichever loop holds either. */
    for (int i = 0; i < QUEUED; i++) {
        close(held[i]);
        snprintf(what, sizeof(what), "queued connection %d after a slot freed", i + 1);
        th_expect_file_response(&ts, queued[i], "sample.txt", what);
        if (i + 1 < QUEUED)
            cr_expect_not(th_readable(queued[i + 1], 150),
                          "queued connection %d served before the older %d", i + 2, i + 1);
    }
    unsigned used = loops_used(&ts, counts, &total);
    cr_log_info("%s: connections per loop %llu %llu %llu %llu", handoff ? "hand-off" : "reuseport",
                counts[0], counts[1], counts[2], counts[3]);
    cr_expect_eq(total, SLOTS + QUEUED + OVER);
    cr_expect_gt(used, 1, "only one loop took connections: the limits were not shared");
    for (int i = 0; i < QUEUED; i++)
        close(queued[i]);
    for (int i = QUEUED; i < SLOTS; i++)
        close(held[i]);
    th_stop(&ts);
}

Test(workers, limits_count_every_loop, .timeout = 30)
{
    global_limits(false);
}

Test(workers, limits_count_every_loop_handoff, .timeout = 30)
{
    global_limits(true);
}

/* ---- a stop drains every loop's downloads, answers the queue 503, accepts no one ---- */

#define BIG_SIZE (24u << 20)

static unsigned char big_byte(size_t i)
{
    return (unsigned char)((i * 7 + i / 4099) & 0xff);
}

static void make_big_root(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(own_root, sizeof(own_root), "%s/uvhttpd-workers-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(own_root), "mkdtemp: %s", strerror(errno));
    th_write_file(own_root, "index.html", "<p>workers</p>\n");
    char path[600];
    snprintf(path, sizeof(path), "%s/big.png", own_root);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    static unsigned char block[1 << 16];
    for (size_t off = 0; off < BIG_SIZE; off += sizeof(block)) {
        for (size_t k = 0; k < sizeof(block); k++)
            block[k] = big_byte(off + k);
        cr_assert_eq(fwrite(block, 1, sizeof(block), f), sizeof(block));
    }
    cr_assert_eq(fclose(f), 0);
}

static void remove_big_root(void)
{
    th_remove_tree(own_root);
    own_root[0] = '\0';
}

/* A client with a tiny receive buffer: the server's write of a large body stays in flight. */
static int connect_slow(const struct th_server *ts)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)ts->port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0), small = 4096;
    cr_assert(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    inet_pton(AF_INET, ts->host, &a.sin_addr);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "connect: %s", strerror(errno));
    return fd;
}

/* Reads one whole response for the big file on fd; true when it is complete and intact. */
static bool read_big(int fd, int i)
{
    static char buf[1 << 16];
    size_t have = 0, head_len = 0, body = 0;
    char head[1024];
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        cr_assert_gt(poll(&p, 1, 5000), 0, "download %d stalled after %zu body bytes", i, body);
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        cr_assert_gt(n, 0, "download %d: connection ended after %zu body bytes", i, body);
        size_t off = 0, prev = have;
        if (!head_len) {
            size_t take = (size_t)n < sizeof(head) - 1 - have ? (size_t)n : sizeof(head) - 1 - have;
            memcpy(head + have, buf, take);
            have += take;
            head[have] = '\0';
            char *end = strstr(head, "\r\n\r\n");
            if (!end)
                continue;
            head_len = (size_t)(end - head) + 4;
            cr_assert(strncmp(head, "HTTP/1.1 200 ", 13) == 0, "download %d: %.40s", i, head);
            off = head_len - prev; /* where the body starts in this read */
        }
        for (size_t k = off; k < (size_t)n; k++, body++)
            if (body >= BIG_SIZE || (unsigned char)buf[k] != big_byte(body))
                return false;
        if (body == BIG_SIZE)
            return true;
    }
}

static void drains_on_stop(bool handoff)
{
    enum { DOWNLOADS = 6, QUEUED = 2 };
    struct th_server ts;
    struct th_response r;
    int d[DOWNLOADS], q[QUEUED];
    unsigned long long counts[WORKERS], total;
    char what[64];

    th_skip_if_external("a document root of its own");
    make_big_root();
    use_handoff = handoff;
    max_connections = DOWNLOADS;
    queue_size = QUEUED;
    th_start(&ts, several_workers);
    snprintf(ts.root, sizeof(ts.root), "%s", own_root);
    for (int i = 0; i < DOWNLOADS; i++) {
        d[i] = connect_slow(&ts);
        th_send_get(&ts, d[i], "/big.png");
    }
    th_sleep_ms(100);
    for (int i = 0; i < QUEUED; i++) {
        q[i] = th_connect(&ts);
        th_send_get(&ts, q[i], "/index.html");
    }
    th_sleep_ms(300); /* the downloads fill the socket buffers; their writes wait */
    unsigned used = loops_used(&ts, counts, &total);
    cr_log_info("%s: connections per loop %llu %llu %llu %llu", handoff ? "hand-off" : "reuseport",
                counts[0], counts[1], counts[2], counts[3]);
    cr_assert_gt(used, 1, "the downloads all went to one loop");

    uvh_server_stop(ts.srv); /* as a signal would: from another thread */
    for (int i = 0; i < QUEUED; i++) {
        snprintf(what, sizeof(what), "queued connection %d at the stop", i + 1);
        th_read_status(q[i], &r, false, 503, what);
        th_response_free(&r);
        close(q[i]);
    }
    /* Every loop closes its listener: new clients are refused (soon: each loop on its own). */
    bool refused = false;
    for (int attempt = 0; attempt < 40 && !refused; attempt++) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)ts.port)};
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        inet_pton(AF_INET, ts.host, &a.sin_addr);
        refused = connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno == ECONNREFUSED;
        close(fd);
        if (!refused)
            th_sleep_ms(50);
    }
    cr_expect(refused, "a new connection was still accepted 2 s after the stop");
    for (int i = 0; i < DOWNLOADS; i++) {
        cr_expect(read_big(d[i], i), "download %d: body cut or changed by the stop", i + 1);
        cr_expect(th_wait_closed(d[i], 2000), "download %d: not closed after its response", i + 1);
        close(d[i]);
    }
    th_stop(&ts); /* every loop closed clean, no connection left */
    remove_big_root();
}

Test(workers, stop_drains_every_loop, .timeout = 30)
{
    drains_on_stop(false);
}

Test(workers, stop_drains_every_loop_handoff, .timeout = 30)
{
    drains_on_stop(true);
}
