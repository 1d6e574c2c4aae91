/* server.h - struct uvh_server: the event loops (workers), their listeners, signals, admission
 * shared by every loop (max-connections, queue, refusals) and the live connections (through
 * their links). */
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

struct uvh_server;

/* One event loop and the thread that runs it. Only that thread touches it, except the fields
 * marked "under the server's lock", through which other threads hand it work (mail). */
struct uvh_worker {
    uv_loop_t loop;
    uv_tcp_t listener;      /* its own (kernel-balanced), or only worker 0's (hand-off) */
    uv_async_t mail;        /* wakes the loop for what other threads left under the lock */
    uv_prepare_t log_flush; /* flushes the log once per loop iteration, just before libuv
                               polls for I/O (and may block): after this iteration's timer and
                               pending callbacks, so also after the previous iteration's I/O,
                               check and close callbacks */
    struct uvh_server *server;
    unsigned index;           /* 0..N-1; log lines say w1..wN */
    struct uvh_config cfg;    /* the server's, with this loop's share of the file cache */
    struct uvh_pool pool;     /* this loop's threadpool jobs (the pool itself is the process's) */
    struct uvh_conn_env cenv; /* what connections and handlers share; cenv.stopping */
    struct uvh_conn_link *conns;      /* this loop's live connections */
    struct uvh_access_log access_log; /* --access-log: this loop's own descriptor and batches,
                                         open while cenv.access_log points here */
    size_t n_conns;
    bool listening;            /* listener is open */
    bool accept_paused;        /* descriptor budget spent: libuv holds a connection for us */
    uv_timer_t shutdown_timer; /* bounds a graceful stop */
    bool shutdown_timer_on;
    uint64_t emfile_logged_ms;   /* accept ran out of descriptors: last log, at most 1/s */
    uint64_t overflow_logged_ms; /* accepting paused for want of descriptors: last log */
    uv_thread_t thread;          /* workers 1..N-1 */
    int run_rc;
    /* Under the server's lock: */
    bool mail_open;                /* mail may be sent to */
    bool stop_asked;               /* begin the graceful stop */
    bool resume_asked;             /* a descriptor is free again: accept the held connection */
    bool reopen_asked;             /* SIGHUP: reopen the access log */
    bool paused;                   /* waiting for a free descriptor (accept_paused) */
    struct uvh_conn_link *granted; /* queued here, given a slot by another loop: start them */
    uv_os_sock_t *handed;          /* clients accepted for this loop by worker 0 (hand-off) */
    size_t n_handed, cap_handed;
    size_t load;    /* connections of this loop, and ones handed to it */
    uint64_t total; /* connections it has taken, since start */
};

struct uvh_server {
    struct uvh_worker *w; /* n_workers loops; w[0] runs on the thread of uvh_server_run */
    unsigned n_workers;
    bool handoff; /* w[0] accepts for every loop (no kernel balancing): least-loaded */
    uv_signal_t sigint, sigterm; /* on w[0]'s loop */
#ifdef _WIN32
    uv_signal_t sigbreak; /* Ctrl+Break: libuv reports it as SIGBREAK */
#else
    uv_signal_t sighup; /* reopens the access logs (logrotate's postrotate), on w[0]'s loop */
#endif
    const struct uvh_config *cfg;
    struct uvh_host_list hosts; /* names this server answers to */
    bool wildcard;              /* bound to 0.0.0.0 or ::: also accept the local address */
    bool listening;             /* the TCP listeners are open (not for uvh_server_new_unbound) */
    unsigned port;              /* the bound port */
    char url[96];               /* http://HOST:PORT */
    size_t root_len;
    char root[UVH_PATH_MAX]; /* real path of the document root, no trailing slash */
    /* Admission, shared by every loop, under `lock` (one small lock: taken when a connection
     * is accepted, admitted and freed, never per request). */
    uv_mutex_t lock;
    bool stopping;     /* a graceful stop began: no more accepting, queueing or dequeuing */
    size_t n_conns;    /* open connections of every kind, every loop, handed ones included */
    size_t n_active;   /* connections holding a slot (being served) */
    size_t max_active; /* --max-connections, capped by the descriptor limit */
    size_t max_conns;  /* connections of every kind the descriptor limit allows */
    struct uvh_conn_link *queue_head, *queue_tail; /* waiting for a slot, oldest first */
    size_t n_queued;
    unsigned next_pick; /* hand-off: where the least-loaded search starts (round-robin ties) */
    unsigned reopens_pending; /* loops still reopening their access log after a SIGHUP */
    /* Keeps worker 0's loop, and its signal watchers, alive until the other loops have ended:
     * a second signal during their drain still exits 1. Under the lock. */
    uv_async_t others_done;
    bool others_done_open;
    unsigned others_running;
};

/* Resolves the root, binds and listens (port 0: any free port) and logs the start-up lines.
 * Returns 0 or a negative libuv error (already logged). */
int uvh_server_new(const struct uvh_config *cfg, struct uvh_server **out);

/* The same without a listener: connections come only from uvh_server_open_pipe (the fuzzer and
 * socket-less tests). Host rules are built from cfg->host and cfg->port. */
int uvh_server_new_unbound(const struct uvh_config *cfg, struct uvh_server **out);

/* Serves one client over an already connected pipe or socketpair end (the fd is adopted), on
 * worker 0; call before uvh_server_run or from worker 0's thread. */
int uvh_server_open_pipe(struct uvh_server *s, uv_file fd);

/* Runs every loop (workers 1..N-1 on threads of their own, worker 0 on the calling thread)
 * until the server stops, then closes every handle; closing the signal watchers gives SIGINT
 * and SIGTERM back their default action (see uvh_process_ignore_stop_signals). Returns 0, or
 * non-zero when a loop did not close cleanly. */
int uvh_server_run(struct uvh_server *s);

/* Asks the server to stop gracefully; safe from any thread at any time between
 * uvh_server_new and uvh_server_free (before, during or after uvh_server_run). */
void uvh_server_stop(struct uvh_server *s);

/* How many connections worker i has taken since the start (safe from any thread). */
unsigned long long uvh_server_worker_connections(struct uvh_server *s, unsigned i);

/* Frees a server that is not running. */
void uvh_server_free(struct uvh_server *s);

#endif
