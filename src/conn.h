/* conn.h - one client connection and its HTTP/1.1 lifecycle, from allocation to free. The
 * struct is conn.c's own; the server sees a connection through these calls and its link. */
#ifndef UVH_CONN_H
#define UVH_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "access_log.h"
#include "exchange.h"
#include "host.h"
#include "proxy_protocol.h"
#include "timeouts.h"

enum uvh_conn_state {
    UVH_CONN_READ_HEAD,  /* reading a request line and headers: request timeout */
    UVH_CONN_READ_BODY,  /* reading a body: request timeout per pause */
    UVH_CONN_HANDLE,     /* a handler is working (threadpool): 3 request timeouts */
    UVH_CONN_WRITE,      /* a response write is in flight: request timeout per pause */
    UVH_CONN_IDLE,       /* keep-alive, waiting for the next request: keep-alive timeout */
    UVH_CONN_CLOSING,    /* handles are closing; freed when the last one is closed */
    UVH_CONN_QUEUED,     /* accepted past --max-connections, not read from: request timeout */
    UVH_CONN_LINGER,     /* answered with input unread: FIN sent, input drained, then closed */
    UVH_CONN_READ_PROXY, /* a new connection's first bytes: a PROXY header from a trusted peer,
                            none from anyone else (then READ_HEAD): request timeout */
};

struct uvh_conn;
struct uvh_conn_env;

/* The server's bookkeeping of one connection, embedded in it (uvh_link_conn finds the
 * connection); conn.c never touches it. */
struct uvh_conn_link {
    void *owner;                       /* the server's loop (worker) that serves it */
    struct uvh_conn_link *prev, *next; /* the loop's live connections */
    struct uvh_conn_link *qnext;       /* the server's queue, or the owner's granted list */
    uint64_t since_ms;                 /* loop time it was queued */
    bool queued;                       /* in the server's queue (under the server's lock) */
    bool granted;  /* given a slot by another loop, not yet started (under the lock) */
    bool has_slot; /* counted in the server's served connections */
};

/* What the connections of one server share with it. The server fills it before the first
 * connection and owns it; conn.c reads it, and keeps the free exchanges and the next id. */
struct uvh_conn_env {
    struct uvh_env env; /* what handlers see */
    const struct uvh_host_list *hosts;
    bool wildcard; /* bound to 0.0.0.0 or ::: also accept the local address as Host */
    unsigned port; /* the bound port */
    bool stopping; /* a graceful stop began: no more keep-alive */
    struct uvh_proxy_trust proxy_trust; /* who sends a PROXY header (uvh_conn_env_start) */
    struct uvh_access_log *access_log;  /* the server's access log file, or NULL */
    /* A queued connection waited too long and leaves the queue (it is then told 503). */
    void (*unqueue)(struct uvh_conn_env *e, struct uvh_conn_link *l);
    /* A connection's handles have all closed: called just before it is freed. */
    void (*closed)(struct uvh_conn_env *e, struct uvh_conn_link *l);
    /* conn.c's: the deadlines of every state (uvh_conn_env_start), and exchanges between
     * requests. */
    struct uvh_timeout_list t_request, t_handle, t_idle, t_linger;
    void *free_exchanges;
    size_t n_free_exchanges;
    /* Connection numbers, unique across the server's loops: this env numbers its connections
     * next_id + 1, then steps by id_step (loop w of N: w + 1, w + 1 + N, ...). */
    uint64_t next_id;
    uint64_t id_step;
    /* Responses whose body went out with sendfile, their bytes, and the times a sendfile
     * found the socket full and waited for room. */
    uint64_t sendfile_responses, sendfile_bytes, sendfile_waits;
};

/* Accepts a client from the listener. Returns 0 and the new connection, not yet started, or a
 * negative libuv error (logged). */
int uvh_conn_accept(struct uvh_conn_env *e, uv_stream_t *listener, struct uvh_conn **out);

/* Adopts a client socket accepted by another loop (uv_tcp_open); as accept. On failure the
 * socket is closed. */
int uvh_conn_open_socket(struct uvh_conn_env *e, uv_os_sock_t sock, struct uvh_conn **out);

/* Adopts an already connected socketpair end (uv_socketpair: tests and the fuzzer); as
 * accept. */
int uvh_conn_open_pipe(struct uvh_conn_env *e, uv_file fd, struct uvh_conn **out);

/* The server's link of a connection, and the connection of a link (the link is embedded in
 * it: no pointer back). */
struct uvh_conn_link *uvh_conn_link(struct uvh_conn *c);
struct uvh_conn *uvh_link_conn(struct uvh_conn_link *l);

/* For the server's log lines: the connection's number and "IP:PORT". */
uint64_t uvh_conn_id(const struct uvh_conn *c);
const char *uvh_conn_peer(const struct uvh_conn *c);

/* Where the connection is in its life (tests and the server's stop). */
enum uvh_conn_state uvh_conn_state(const struct uvh_conn *c);

/* True while the connection holds an exchange (a request in progress or bytes buffered). */
bool uvh_conn_has_exchange(const struct uvh_conn *c);

/* Serves a client: starts reading and the request timer. */
void uvh_conn_start(struct uvh_conn *c);

/* Parks a client that has no slot yet: nothing is read; the request timer bounds the wait. */
void uvh_conn_queue(struct uvh_conn *c);

/* Answers a client that will not be served (503 with Retry-After) and closes it. */
void uvh_conn_reject(struct uvh_conn *c, enum uvh_status st);

/* Closes the connection (idempotent); it is freed once every handle has closed and no handler
 * is running. */
void uvh_conn_close(struct uvh_conn *c, const char *reason);

/* At a graceful stop: closes the connection now when no request is being answered on it;
 * a busy one closes after its response (the env says stopping). */
void uvh_conn_stop(struct uvh_conn *c);

/* What one connection costs while idle (its struct, which holds libuv's stream and nothing
 * else), and what a request in progress adds (the exchange: input buffer, parser, response). */
size_t uvh_conn_idle_bytes(void);
size_t uvh_conn_request_bytes(void);

/* Sets up the deadlines' timers on env.loop from env.cfg, before the first connection.
 * Returns 0 or a libuv error. */
int uvh_conn_env_start(struct uvh_conn_env *e);

/* Frees the env's free exchanges (once no connection is left). */
void uvh_conn_env_deinit(struct uvh_conn_env *e);

#endif
