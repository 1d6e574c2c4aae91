/* server.h - struct uvh_server: the loop, the listener, signals, admission and the live
 * connections (through their links). */
#ifndef UVH_SERVER_H
#define UVH_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "access_log.h"
#include "config.h"
#include "conn.h"
#include "exchange.h"
#include "host.h"
#include "pool.h"

struct uvh_server {
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_signal_t sigint, sigterm;
#ifdef _WIN32
    uv_signal_t sigbreak; /* Ctrl+Break: libuv reports it as SIGBREAK */
#else
    uv_signal_t sighup; /* reopens the access log (logrotate's postrotate) */
#endif
    uv_async_t stop_async; /* the one thing another thread may touch, under stop_lock */
    uv_mutex_t stop_lock;
    bool stop_open;         /* stop_async is open: uvh_server_stop may send on it */
    uv_prepare_t log_flush; /* flushes the log once per loop iteration, just before libuv
                               polls for I/O (and may block): after this iteration's timer and
                               pending callbacks, so also after the previous iteration's I/O,
                               check and close callbacks */
    const struct uvh_config *cfg;
    struct uvh_access_log access_log; /* --access-log: open while cenv.access_log points here */
    struct uvh_host_list hosts;       /* names this server answers to */
    bool wildcard;                    /* bound to 0.0.0.0 or ::: also accept the local address */
    bool listening; /* the TCP listener is open (not for uvh_server_new_unbound) */
    unsigned port;  /* the bound port */
    char url[96];   /* http://HOST:PORT */
    size_t root_len;
    char root[UVH_PATH_MAX];     /* real path of the document root, no trailing slash */
    struct uvh_pool pool;        /* this loop's threadpool jobs */
    struct uvh_conn_env cenv;    /* what connections and handlers share; cenv.stopping */
    struct uvh_conn_link *conns; /* live connections */
    size_t n_conns;
    size_t n_active;    /* connections holding a slot (being served) */
    size_t max_active;  /* --max-connections, capped by the descriptor limit */
    size_t max_conns;   /* connections of every kind the descriptor limit allows */
    bool accept_paused; /* max_conns reached: libuv holds a connection until one closes */
    struct uvh_conn_link *queue_head, *queue_tail; /* waiting for a slot, oldest first */
    size_t n_queued;
    uv_timer_t shutdown_timer; /* bounds a graceful stop */
    bool shutdown_timer_on;
    uint64_t emfile_logged_ms;   /* accept ran out of descriptors: last log, at most 1/s */
    uint64_t overflow_logged_ms; /* accepting paused for want of descriptors: last log */
};

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

#endif
