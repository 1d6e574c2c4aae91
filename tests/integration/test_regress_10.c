/* test_regress_10.c - regression tests for issue 10's connection-level defects: a trailing
 * CRLF after a request, Expect: 100-continue from HTTP/1.0, uploads refused for their content,
 * closing with unread pipelined requests, and refusals past the queue. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "conn.h"
#include "harness.h"

/* Item 1: RFC 9112 section 2.2: an empty line before a request line is ignored. The connection
 * goes idle (keep-alive timeout, not the request timeout), takes the next request, gives its
 * exchange back and closes at shutdown like any idle connection. */
Test(regress_10, item1_trailing_crlf_goes_idle, .timeout = 30)
{
    struct th_server ts;
    struct th_response r;

    th_start(&ts, th_request_timeout_1s);
    int fd = th_connect(&ts);
    th_sendf(&ts, fd, "GET /sample.txt HTTP/1.1\r\nHost: {HOST}\r\n\r\n\r\n");
    th_expect_file_response(&ts, fd, "sample.txt", "request followed by CRLF");
    /* Past the 1 s request timeout: no 408, no close. */
    cr_expect_not(th_readable(fd, 1600), "the server answered (or closed) an empty line");
    struct uvh_conn *c = th_first_conn(&ts);
    cr_expect_eq(c ? (int)uvh_conn_state(c) : -1, (int)UVH_CONN_IDLE,
                 "the connection is not idle after the empty line");
    cr_expect_not(c && uvh_conn_has_exchange(c), "an idle connection still holds its exchange");
    /* Empty lines before the next request line, in their own packets and in its packet. */
    th_sendf(&ts, fd, "\r\n");
    th_sleep_ms(50);
    th_sendf(&ts, fd, "\r\n\r\nGET /index.html HTTP/1.1\r\nHost: {HOST}\r\n\r\n");
    th_read_status(fd, &r, false, 200, "the next request after empty lines");
    th_expect_body_is_file(&ts, &r, "index.html");
    th_expect_header(&r, "Connection", "keep-alive");
    th_response_free(&r);
    th_sendf(&ts, fd, "\r\n");
    th_sleep_ms(100);
    /* Shutdown closes it at once, like any idle connection (no wait for a shutdown timeout). */
    double t0 = th_now_ms();
    th_stop(&ts);
    cr_expect_lt(th_now_ms() - t0, 1000.0, "shutdown waited for the connection");
    cr_expect(th_wait_closed(fd, 1000), "the connection was not closed at shutdown");
    close(fd);
}

static void short_keep_alive(struct uvh_config *cfg)
{
    cfg->keep_alive_timeout_s = 2;
}

/* Item 1, continued: empty lines while idle do not restart the keep-alive deadline, or a
 * client could hold a connection forever with a CRLF now and then. */
Test(regress_10, item1_empty_lines_keep_the_idle_deadline, .timeout = 30)
{
    struct th_server ts;

    th_start(&ts, short_keep_alive);
    int fd = th_connect(&ts);
    th_send_get(&ts, fd, "/sample.txt");
    th_expect_file_response(&ts, fd, "sample.txt", "the request before the empty lines");
    double t0 = th_now_ms();
    bool closed = false;
    while (!closed && th_now_ms() - t0 < 4500) {
        th_sleep_ms(500);
        send(fd, "\r\n", 2, MSG_NOSIGNAL);
        closed = th_wait_closed(fd, 1);
    }
    if (!closed)
        closed = th_wait_closed(fd, 1000);
    double dt = th_now_ms() - t0;
    cr_expect(closed, "empty lines every 0.5 s kept the connection open for %.0f ms", dt);
    cr_expect(dt >= 1500 && dt <= 3500, "closed after %.0f ms, want about 2000 (keep-alive)", dt);
    close(fd);
    th_stop(&ts);
}

/* Item 2: RFC 9110 section 10.1.1: a server MUST ignore 100-continue from HTTP/1.0 and MUST NOT
 * send it a 1xx. */
Test(regress_10, item2_expect_100_from_http10_ignored, .timeout = 30)
{
    struct th_server ts;
    struct th_response r;
    static const char body[] = "{\"from\": \"HTTP/1.0\"}";

    th_start(&ts, NULL);
    int fd = th_connect(&ts);
    th_sendf(&ts, fd,
             "POST /upload HTTP/1.0\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
             "Expect: 100-continue\r\nContent-Length: %zu\r\n\r\n",
             sizeof(body) - 1);
    cr_expect_not(th_readable(fd, 500), "the server answered before the body (100 Continue?)");
    th_send(fd, body, sizeof(body) - 1);
    th_read_status(fd, &r, false, 201, "HTTP/1.0 upload with Expect: 100-continue");
    cr_expect(strncmp(r.head, "HTTP/1.1 100", 12) != 0, "a 1xx went to an HTTP/1.0 client");
    th_response_free(&r);
    close(fd);
    th_stop(&ts);
}

/* Item 3: a body read whole with correct framing but refused for its content is a 400 that
 * keeps the connection, like any other 4xx. */
Test(regress_10, item3_upload_content_error_keeps_connection, .timeout = 30)
{
    static const struct {
        const char *what, *framing, *body;
    } cases[] = {
        {"invalid JSON", "Content-Length: 9\r\n", "{\"a\": 1,]"},
        {"empty body", "Content-Length: 0\r\n", ""},
        {"no framing at all", "", ""},
        {"chunked, no data", "Transfer-Encoding: chunked\r\n", "0\r\n\r\n"},
    };
    struct th_server ts;
    struct th_response r;
    char v[64];

    th_start(&ts, NULL);
    int fd = th_connect(&ts);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        th_sendf(&ts, fd,
                 "POST /upload HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
                 "%s\r\n%s",
                 cases[i].framing, cases[i].body);
        th_read_status(fd, &r, false, 400, cases[i].what);
        cr_expect(th_header(&r, "Content-Type", v, sizeof(v)) && strcmp(v, "application/json") == 0,
                  "%s: the 400 has no JSON body", cases[i].what);
        cr_expect(r.body && strstr(r.body, "\"status\":\"error\"") != NULL,
                  "%s: not the JSON error body: %s", cases[i].what, r.body ? r.body : "");
        th_expect_header_for(&r, "Connection", "keep-alive", cases[i].what);
        th_response_free(&r);
        th_expect_usable(&ts, fd, "sample.txt", cases[i].what);
    }
    close(fd);
    th_stop(&ts);
}

/* Item 8: RFC 9112 section 9.6: 1,000 GETs pipelined in one write against the default limit of
 * 100 requests: exactly 100 responses, in order, the last saying Connection: close, then a
 * clean EOF, never a reset that destroys responses already sent. */
Test(regress_10, item8_pipelined_past_limit_clean_eof, .timeout = 30)
{
    struct th_server ts;
    enum { N = 1000 };
    static const char *const files[] = {"sample.txt", "index.html"};

    th_start(&ts, NULL);
    int fd = th_connect(&ts);
    char *all = malloc((size_t)N * 128);
    size_t len = 0;
    cr_assert(all);
    for (int i = 0; i < N; i++) /* alternating files, so the order shows */
        len += (size_t)sprintf(all + len, "GET /%s HTTP/1.1\r\nHost: %s:%d\r\n\r\n", files[i % 2],
                               ts.host, ts.port);
    th_send(fd, all, len);
    free(all);
    th_sleep_ms(1000);

    int got = 0;
    char conn[32];
    for (;;) {
        struct th_response r;
        if (th_read_response(fd, &r, false) != 0)
            break;
        got++;
        cr_expect_eq(r.status, 200, "response %d: status %d", got, r.status);
        th_expect_body_is_file_for(&ts, &r, files[(got - 1) % 2], "a pipelined response");
        bool closing = th_header(&r, "Connection", conn, sizeof(conn)) && !strcmp(conn, "close");
        cr_expect_eq(closing, got == 100, "response %d says Connection: %s", got, conn);
        th_response_free(&r);
    }
    cr_expect_eq(got, 100, "%d responses arrived, want exactly 100", got);
    char c;
    errno = 0;
    ssize_t rc = recv(fd, &c, 1, 0);
    cr_expect_eq(rc, 0, "after the last response: recv %zd (%s), want a clean EOF", rc,
                 rc < 0 ? strerror(errno) : "data");
    close(fd);
    th_stop(&ts);
}

static void small_capacity(struct uvh_config *cfg)
{
    cfg->max_connections = 10;
    cfg->queue_size = 5;
}

/* Item 9: past the slots and the queue, every client held open gets the promised 503. */
Test(regress_10, item9_every_refused_client_gets_503, .timeout = 30)
{
    struct th_server ts;
    struct th_response r;
    enum { SLOTS = 10, QUEUED = 5, OVER = 85 };
    int held[SLOTS + QUEUED], over[OVER];

    th_start(&ts, small_capacity);
    for (int i = 0; i < SLOTS; i++) { /* served and idle: each keeps its slot */
        held[i] = th_connect(&ts);
        th_send_get(&ts, held[i], "/sample.txt");
        th_expect_file_response(&ts, held[i], "sample.txt", "a slot holder");
    }
    for (int i = SLOTS; i < SLOTS + QUEUED; i++) {
        held[i] = th_connect(&ts);
        th_send_get(&ts, held[i], "/sample.txt");
    }
    th_sleep_ms(200);
    for (int i = 0; i < OVER; i++) {
        over[i] = th_connect(&ts);
        th_send_get(&ts, over[i], "/sample.txt");
    }
    int answered = 0;
    for (int i = 0; i < OVER; i++) {
        if (th_read_response(over[i], &r, false) == 0) {
            if (r.status == 503 && th_header(&r, "Retry-After", (char[16]){0}, 16))
                answered++;
            th_response_free(&r);
        }
    }
    cr_expect_geq(answered, 80, "%d of %d refused clients got a 503 with Retry-After", answered,
                  OVER);
    for (int i = 0; i < OVER; i++)
        close(over[i]);
    for (int i = 0; i < SLOTS + QUEUED; i++)
        close(held[i]);
    th_stop(&ts);
}
