/* conn.h - struct uvh_conn: one client connection and its HTTP/1.1 lifecycle. */
#ifndef UVH_CONN_H
#define UVH_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include <llhttp.h>
#include <uv.h>

#include "request.h"
#include "response.h"
#include "static_handler.h"

struct uvh_server;

enum uvh_conn_state {
    UVH_CONN_READ_HEAD, /* reading a request line and headers: request timeout */
    UVH_CONN_READ_BODY, /* reading a body: request timeout per pause */
    UVH_CONN_HANDLE,    /* a handler is working (uv_fs on the threadpool) */
    UVH_CONN_WRITE,     /* a response write is in flight: request timeout per pause */
    UVH_CONN_IDLE,      /* keep-alive, waiting for the next request: keep-alive timeout */
    UVH_CONN_CLOSING,   /* handles are closing; freed when the last one is closed */
    UVH_CONN_QUEUED,    /* accepted past --max-connections, not read from: request timeout */
    UVH_CONN_LINGER,    /* answered an unread request: FIN sent, input drained, then closed */
};

/* Everything one request needs, taken from a free list when bytes arrive and given back when
 * the connection goes idle with nothing buffered, so an idle connection owns none of it. */
struct uvh_exchange {
    struct uvh_exchange *next_free;
    struct uvh_request req;
    struct uvh_response res;
    uv_fs_t fs;                  /* the one file-system request in flight */
    uv_write_t wreq;             /* the one write in flight */
    uv_write_t wreq_continue;    /* "100 Continue", queued ahead of the response */
    enum uvh_status head_status; /* the head's verdict (Host, version, route): OK or an error */
    bool handled;                /* a handler took the whole request and answers it itself */
    bool head_replaced;          /* the head did not fit: a 500 went out instead */
    size_t body_start;           /* offset in in[] where the body begins */
    struct uvh_upload *upload;   /* POST /upload in progress, else NULL */
    uv_buf_t wbufs[2];           /* what that write carries (head, body chunk) */
    uint64_t start_ns;           /* when the request's first byte was parsed */
    const char *host_verdict;    /* for the access log: static string */
    struct uvh_static_file file;
    size_t in_len;    /* bytes received into in[] */
    size_t in_parsed; /* bytes of in[] the parser has consumed */
    char in[UVH_REQUEST_LINE_MAX + UVH_REQUEST_HEADERS_MAX + 1024];
};

/* Called when a handler's write completes; status is 0 or a negative libuv error. */
typedef void (*uvh_conn_write_cb)(struct uvh_conn *c, int status);

struct uvh_conn {
    /* The client stream: TCP from the listener, or a pipe (tests and the fuzzer). */
    union {
        uv_tcp_t tcp;
        uv_pipe_t pipe;
        uv_stream_t stream;
        uv_handle_t handle;
    } io;
    uv_timer_t timer;
    llhttp_t parser;
    struct uvh_server *server;
    struct uvh_exchange *x; /* non-NULL while a request is in progress or bytes are buffered */
    struct uvh_conn *prev, *next; /* the server's list of live connections */
    struct uvh_conn *qnext;       /* the server's queue, while queued */
    uint64_t since_ms;            /* loop time it was queued, or began to linger */
    bool queued;
    bool has_slot; /* counted in the server's served connections */
    uvh_conn_write_cb write_cb;
    uint64_t id;
    const char *close_reason; /* static string, logged when the connection ends */
    unsigned requests;        /* requests answered so far */
    unsigned refs;            /* open handles + a running handler; freed at zero */
    enum uvh_conn_state state;
    bool reading;
    bool close_after; /* close once the current response is written */
    bool linger;      /* input may be left unread: drain it before closing (no RST) */
    uv_shutdown_t shutdown_req;
    char peer[56]; /* "IP:PORT" of the client */
};

/* Serves a client: starts reading and the request timer. */
void uvh_conn_start(struct uvh_conn *c);

/* Parks a client that has no slot yet: nothing is read; the request timer bounds the wait. */
void uvh_conn_queue(struct uvh_conn *c);

/* Answers a client that will not be served (503 with Retry-After) and closes it. */
void uvh_conn_reject(struct uvh_conn *c, enum uvh_status st);

/* Closes the connection (idempotent); it is freed once every handle has closed and no handler
 * is running. */
void uvh_conn_close(struct uvh_conn *c, const char *reason);

/* True once the connection is closing: a handler callback should release what it holds and
 * call uvh_conn_response_done. */
bool uvh_conn_closing(const struct uvh_conn *c);

/* Sends c->x->res as prepared (head plus its small body, if any) and finishes the request. */
void uvh_conn_respond(struct uvh_conn *c);

/* Answers with an error page for st (extra headers already added are kept). */
void uvh_conn_respond_error(struct uvh_conn *c, enum uvh_status st);

/* Writes the head of c->x->res followed by `body` (may be NULL); cb runs when it completes. */
void uvh_conn_write_head(struct uvh_conn *c, const char *body, size_t len, uvh_conn_write_cb cb);

/* Writes more body bytes; one write in flight at a time. */
void uvh_conn_write_body(struct uvh_conn *c, const char *body, size_t len, uvh_conn_write_cb cb);

/* Sends "100 Continue" (RFC 9110 section 10.1.1) while the body is being read. */
void uvh_conn_send_continue(struct uvh_conn *c);

/* A body consumer that paused reading (its buffer was full) wants more bytes. */
void uvh_conn_resume_body(struct uvh_conn *c);

/* The handler is done with the request (sent everything, or gave up after an error). */
void uvh_conn_response_done(struct uvh_conn *c);

#endif
