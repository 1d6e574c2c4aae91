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
    /* The server's sendfile figures, read by th_stop once its loop has ended. */
    unsigned long long sendfile_responses, sendfile_bytes, sendfile_waits;
};

/* Starts the server for a test. `tweak` may change the config; a test that needs its own
 * settings passes one and is skipped when the suite runs against an external server. */
void th_start(struct th_server *ts, void (*tweak)(struct uvh_config *cfg));

/* Stops the in-process server and asserts its loop closed with no handle left; keeps its
 * sendfile figures in ts. */
void th_stop(struct th_server *ts);

/* A live connection of the in-process server, on whichever loop; NULL when there is none. */
struct uvh_conn *th_first_conn(const struct th_server *ts);

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

/* ---- shared test helpers: checks and requests the test files have in common ---- */

/* A config tweak for th_start: a 1 s --request-timeout. */
void th_request_timeout_1s(struct uvh_config *cfg);

/* Skips the test, with "needs its own server settings" (and why, when not NULL), when the suite
 * runs against an external server. */
void th_skip_if_external(const char *why);

/* Milliseconds on the monotonic clock. */
double th_now_ms(void);

/* Sleeps ms milliseconds, resuming after signals. */
void th_sleep_ms(long ms);

/* Waits up to timeout_ms for fd to become readable; true when a byte (or EOF) is there. */
bool th_readable(int fd, int timeout_ms);

/* Closes fd with a TCP reset (SO_LINGER 0) instead of a FIN. */
void th_close_reset(int fd);

/* Expects the header to be present with exactly this value. */
void th_expect_header(const struct th_response *r, const char *name, const char *want);

/* th_expect_header with `what` (which request this is) leading its failure messages. */
void th_expect_header_for(const struct th_response *r, const char *name, const char *want,
                          const char *what);

/* Expects the header to be absent. */
void th_expect_no_header(const struct th_response *r, const char *name);

/* Expects the body to be byte-identical to the file rel under the served root. */
void th_expect_body_is_file(const struct th_server *ts, const struct th_response *r,
                            const char *rel);

/* th_expect_body_is_file with `what` leading its failure messages. */
void th_expect_body_is_file_for(const struct th_server *ts, const struct th_response *r,
                                const char *rel, const char *what);

/* Reads one response on fd, asserting that it arrives complete and has this status. */
void th_read_status(int fd, struct th_response *r, bool head_request, int status, const char *what);

/* Reads one response on fd, asserting a 200, and expects the bytes of the file rel. */
void th_expect_file_response(const struct th_server *ts, int fd, const char *rel, const char *what);

/* Sends "GET path" (HTTP/1.1, with Host) on an open connection. */
void th_send_get(const struct th_server *ts, int fd, const char *path);

/* GET path on a new connection; asserts a complete response and, unless status is 0, its status. */
void th_get(const struct th_server *ts, struct th_response *r, const char *path, int status);

/* GET /rel on an open connection must answer with the file: the connection is still usable. */
void th_expect_usable(const struct th_server *ts, int fd, const char *rel, const char *what);

/* Expects r to say "Connection: close" and the server to close fd within 2 s; frees r, closes fd.
 */
void th_expect_closing(int fd, struct th_response *r, const char *what);

/* Sends len bytes of body from a thread (until the server stops taking them) while reading one
 * response; returns th_read_response's result and the bytes sent in *sent. */
int th_read_response_while_sending(int fd, struct th_response *r, const void *body, size_t len,
                                   size_t *sent);

/* n header lines "X-<i>: value\r\n" in one malloc'd string. */
char *th_many_fields(int n, const char *value);

/* Writes a file dir/rel holding content, asserting that it was written. */
void th_write_file(const char *dir, const char *rel, const char *content);

/* Removes a file or directory tree (symlinks themselves, not their targets); absent is fine. */
void th_remove_tree(const char *path);

/* Bytes for a failure message, control bytes escaped, cut at about cap bytes; returns out. */
const char *th_shown(const char *data, size_t len, char *out, size_t cap);

#endif
