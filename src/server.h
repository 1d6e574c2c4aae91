/* server.h - struct uvh_server: the loop, the listener, signals and the live connections. */
#ifndef UVH_SERVER_H
#define UVH_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "config.h"
#include "host.h"
#include "static_handler.h"

struct uvh_conn;
struct uvh_exchange;

struct uvh_server {
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_signal_t sigint, sigterm;
#ifdef _WIN32
    uv_signal_t sigbreak; /* Ctrl+Break: libuv reports it as SIGBREAK */
#endif
    uv_async_t stop_async; /* the one thing another thread may touch, under stop_lock */
    uv_mutex_t stop_lock;
    bool stop_open;         /* stop_async is open: uvh_server_stop may send on it */
    uv_prepare_t log_flush; /* flushes the log once per loop iteration, just before libuv
                               polls for I/O (and may block): after this iteration's timer and
                               pending callbacks, so also after the previous iteration's I/O,
                               check and close callbacks */
    const struct uvh_config *cfg;
    struct uvh_host_list hosts; /* names this server answers to */
    bool wildcard;              /* bound to 0.0.0.0 or ::: also accept the local address */
    bool stopping;
    bool listening; /* the TCP listener is open (not for uvh_server_new_unbound) */
    unsigned port;  /* the bound port */
    char url[96];   /* http://HOST:PORT */
    size_t root_len;
    char root[UVH_PATH_MAX]; /* real path of the document root, no trailing slash */
    struct uvh_conn *conns;  /* live connections */
    size_t n_conns;
    size_t n_active;    /* connections holding a slot (being served) */
    size_t max_active;  /* --max-connections, capped by the descriptor limit */
    size_t max_conns;   /* connections of every kind the descriptor limit allows */
    bool accept_paused; /* max_conns reached: libuv holds a connection until one closes */
    struct uvh_conn *queue_head, *queue_tail; /* waiting for a slot, oldest first */
    size_t n_queued;
    uv_timer_t shutdown_timer; /* bounds a graceful stop */
    bool shutdown_timer_on;
    uint64_t emfile_logged_ms;   /* accept ran out of descriptors: last log, at most 1/s */
    uint64_t overflow_logged_ms; /* a connection dropped for want of a slot: last log */
    uint64_t pool_logged_ms;     /* saturation last reported */
    bool pool_reported;          /* this saturation episode was reported */
    unsigned jobs;               /* threadpool jobs in flight */
    bool pool_saturated;
    struct uvh_exchange *free_exchanges;
    size_t n_free_exchanges;
    uint64_t next_conn_id;
};

/* Sets libuv's threadpool size; call before anything uses the threadpool. Returns 0 or an error. */
int uvh_server_set_threadpool_size(unsigned n);

/* Resolves the root, binds and listens (port 0: any free port) and logs the start-up lines.
 * Returns 0 or a negative libuv error (already logged). */
int uvh_server_new(const struct uvh_config *cfg, struct uvh_server **out);

/* The same without a listener: connections come only from uvh_server_open_pipe (the fuzzer and
 * socket-less tests). Host rules are built from cfg->host and cfg->port. */
int uvh_server_new_unbound(const struct uvh_config *cfg, struct uvh_server **out);

/* Serves one client over an already connected pipe or socketpair end (the fd is adopted). */
int uvh_server_open_pipe(struct uvh_server *s, uv_file fd);

/* Runs the loop until the server stops, then closes every handle; closing the signal watchers
 * gives SIGINT and SIGTERM back their default action (see uvh_process_ignore_stop_signals).
 * Returns 0, or the non-zero result of uv_loop_close. */
int uvh_server_run(struct uvh_server *s);

/* Asks the server to stop gracefully; safe from any thread at any time between
 * uvh_server_new and uvh_server_free (before, during or after uvh_server_run). */
void uvh_server_stop(struct uvh_server *s);

/* Frees a server that is not running. */
void uvh_server_free(struct uvh_server *s);

/* An exchange from the free list (or a new one); NULL when out of memory. */
struct uvh_exchange *uvh_server_exchange_get(struct uvh_server *s);

/* Returns an exchange to the free list. */
void uvh_server_exchange_put(struct uvh_server *s, struct uvh_exchange *x);

/* Counts a threadpool job: call before submitting it, and uvh_server_job_end first thing in
 * its callback. Logs the pool's load (debug) and saturation (info/warn). */
void uvh_server_job_start(struct uvh_server *s);
void uvh_server_job_end(struct uvh_server *s);

/* A queued connection waited too long: takes it out of the queue (it is then answered 503). */
void uvh_server_unqueue(struct uvh_server *s, struct uvh_conn *c);

/* Unlinks and frees a connection whose handles have all closed. */
void uvh_server_conn_free(struct uvh_server *s, struct uvh_conn *c);

#endif
