/* exchange.h - what a handler sees of one request and its response: the parsed request, the
 * response being prepared, the server's read-only environment, and the calls that answer.
 * conn.c implements these calls; handlers include this header, never conn.h or server.h. */
#ifndef UVH_EXCHANGE_H
#define UVH_EXCHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "config.h"
#include "http_status.h"
#include "pool.h"
#include "request.h"
#include "response.h"

#define UVH_PATH_MAX 4096 /* longest file-system path the server builds */

/* Server-wide, read-only while serving: what handlers need of the server. */
struct uvh_env {
    const struct uvh_config *cfg;
    uv_loop_t *loop;
    struct uvh_pool *pool; /* every threadpool job goes through it */
    const char *root;      /* real path of the document root, no trailing slash */
    size_t root_len;
};

struct uvh_route;
struct uvh_static_file;
struct uvh_upload;

/* One request and its response. The connection owns it from the request's first byte until the
 * handler calls uvh_exchange_finish; then it is reset for the next request. */
struct uvh_exchange {
    struct uvh_request req; /* slices into the connection's input buffer: valid until reset */
    const struct uvh_env *env;
    const char *peer;              /* "IP:PORT" of the client: lives as long as the connection */
    uint64_t id;                   /* the connection's number, for log lines */
    const struct uvh_route *route; /* set by the router at the head; NULL before */
    union {                        /* the route's handler's own state, NULL until it takes one */
        struct uvh_static_file *file;
        struct uvh_upload *upload;
    } h;
    struct uvh_response res; /* buffers live until the write that carries them completes; last,
                                as its buffers end with the big ones */
};

/* A handler's write completed: status is 0 or a negative libuv error. */
typedef void (*uvh_exchange_write_cb)(struct uvh_exchange *x, int status);

/* Sends x->res as prepared (head plus its small body, if any), then finishes the exchange. */
void uvh_exchange_respond(struct uvh_exchange *x);

/* Sends the head of x->res followed by `body`, which must stay valid until the exchange ends,
 * then finishes the exchange: a whole response from memory (a cached file). */
void uvh_exchange_respond_body(struct uvh_exchange *x, const char *body, size_t len);

/* Answers with the error page of st (extra headers already added are kept), then finishes. */
void uvh_exchange_respond_error(struct uvh_exchange *x, enum uvh_status st);

/* Writes the head of x->res followed by `body` (may be NULL); cb runs when it completes. */
void uvh_exchange_write_head(struct uvh_exchange *x, const char *body, size_t len,
                             uvh_exchange_write_cb cb);

/* Writes more body bytes; one write in flight at a time. */
void uvh_exchange_write_body(struct uvh_exchange *x, const char *body, size_t len,
                             uvh_exchange_write_cb cb);

/* A file range handed to uvh_exchange_send_file ended: `sent` of its bytes went out. status is
 * 0 (all of them), UV_ECANCELED or another error with the connection closing (the client went
 * away, a stop), or a file error (UV_EOF: shorter than promised) with the connection still
 * open: the rest may still be sent another way. */
typedef void (*uvh_exchange_file_cb)(struct uvh_exchange *x, uint64_t sent, int status);

/* Sends the head of x->res unless it went out already, then len > 0 bytes of `file` from
 * `offset`, copied by the kernel on the threadpool (sendfile): the loop never reads the file
 * and no buffer holds it. Returns 0 (cb will run, the file must stay open until then), or an
 * error and nothing was sent: UV_ENOTSUP when this connection cannot (no sendfile on this
 * system, not a TCP socket, --sendfile off); write the bytes instead. */
int uvh_exchange_send_file(struct uvh_exchange *x, uv_file file, uint64_t offset, uint64_t len,
                           uvh_exchange_file_cb cb);

/* The handler is done with the request (sent everything, or gave up after an error). */
void uvh_exchange_finish(struct uvh_exchange *x);

/* True once the client is gone or the connection is closing: release what is held, then call
 * uvh_exchange_finish. */
bool uvh_exchange_gone(const struct uvh_exchange *x);

/* Ends the connection after this exchange (a response that cannot be completed). */
void uvh_exchange_abort(struct uvh_exchange *x, const char *reason);

/* Sends "100 Continue" (RFC 9110 section 10.1.1) while the body is being read. */
void uvh_exchange_send_continue(struct uvh_exchange *x);

/* A body consumer that paused reading (its buffer was full) wants more bytes. */
void uvh_exchange_resume_body(struct uvh_exchange *x);

/* Runs a job on the threadpool on behalf of this exchange (counted by the pool). */
static inline int uvh_exchange_submit(struct uvh_exchange *x, struct uvh_job *j, uvh_job_fn work,
                                      uvh_job_done_fn done)
{
    return uvh_pool_submit(x->env->pool, j, work, done);
}

#endif
