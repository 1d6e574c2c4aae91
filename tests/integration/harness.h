/* harness.h - integration-test harness: a real uvhttpd on 127.0.0.1:0 in a loop thread (or an
 * external one named by UVHTTPD_TEST_URL), and blocking raw-socket client helpers. */
#ifndef TH_HARNESS_H
#define TH_HARNESS_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "config.h"
#include "server.h"

struct th_server {
    struct uvh_config cfg;
    struct uvh_server *srv; /* NULL when testing an external server */
    uv_thread_t thread;
    int run_rc;
    char host[64];
    int port;
    char root[4096]; /* the directory the server serves */
};

/* Starts the server for a test. `tweak` may change the config; a test that needs its own
 * settings passes one and is skipped when the suite runs against an external server. */
void th_start(struct th_server *ts, void (*tweak)(struct uvh_config *cfg));

/* Stops the in-process server and asserts its loop closed with no handle left. */
void th_stop(struct th_server *ts);

/* True when the suite runs against an external server (UVHTTPD_TEST_URL). */
bool th_external(void);

/* A connected blocking socket with a 5 s receive timeout. */
int th_connect(const struct th_server *ts);

/* Sends all bytes; printf-style variant expands "{HOST}" to the server's host:port. */
void th_send(int fd, const void *data, size_t len);
void th_sendf(const struct th_server *ts, int fd, const char *fmt, ...);

struct th_response {
    int status;
    char head[8192]; /* status line and headers, NUL-terminated */
    char *body;      /* malloc'd, NUL-terminated */
    size_t body_len;
};

/* Reads exactly one response (Content-Length framed; bodyless for HEAD/304/204/1xx). Returns 0,
 * or -1 on EOF/timeout before a full response. */
int th_read_response(int fd, struct th_response *r, bool head_request);

/* Frees the body. */
void th_response_free(struct th_response *r);

/* Copies a header's value (case-insensitive name) into out; NULL when absent. */
const char *th_header(const struct th_response *r, const char *name, char *out, size_t cap);

/* Sends one request built from fmt (with {HOST}) on a new connection and reads the response. */
int th_request(const struct th_server *ts, struct th_response *r, bool head_request,
               const char *fmt, ...);

/* Waits up to timeout_ms for the peer to close; true on EOF or reset, false if data or nothing. */
bool th_wait_closed(int fd, int timeout_ms);

/* Reads a file under the served root; malloc'd, NULL if missing. */
char *th_read_file(const struct th_server *ts, const char *rel, size_t *len);

#endif
