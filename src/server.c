/* server.c - owns the loop, the listener, signal handling, admission (serve, queue or refuse)
 * and the list of live connections, through their links. It never touches a connection's own
 * fields: everything about one connection, from allocation to free, is conn.c's. */
#include "server.h"

#include <assert.h>
#include <signal.h>
#ifndef _WIN32
#include <sys/resource.h>
#endif
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "listen.h"
#include "log.h"
#include "notify.h"
#include "router.h"

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#define REFUSING_RESERVE 16 /* descriptors kept for connections being answered 503 */
#define FD_RESERVE 32       /* descriptors kept for the listener, the loop and log files */
#define FD_PER_LOOP 8 /* and for each further loop: its listener, epoll, async, a held accept */

static void on_connection(uv_stream_t *listener, int status);
static void begin_stop(struct uvh_worker *w);

/* ---- admission: a slot per served connection, a FIFO queue for the rest, shared by every loop
 * under s->lock; each loop acts on its own connections only, and mails the others ---- */

static struct uvh_worker *worker_of(struct uvh_conn_env *e)
{
    return container_of(e, struct uvh_worker, cenv);
}

static void mail_locked(struct uvh_worker *w)
{
    if (w->mail_open)
        uv_async_send(&w->mail);
}

static void queue_push_locked(struct uvh_server *s, struct uvh_conn_link *l)
{
    l->queued = true;
    l->qnext = NULL;
    if (s->queue_tail)
        s->queue_tail->qnext = l;
    else
        s->queue_head = l;
    s->queue_tail = l;
    s->n_queued++;
}

static void unqueue_locked(struct uvh_server *s, struct uvh_conn_link *l)
{
    struct uvh_conn_link **pp = &s->queue_head, *prev = NULL;
    if (!l->queued)
        return;
    while (*pp && *pp != l) {
        prev = *pp;
        pp = &(*pp)->qnext;
    }
    if (*pp) {
        *pp = l->qnext;
        if (s->queue_tail == l)
            s->queue_tail = prev;
        s->n_queued--;
    }
    l->queued = false;
}

/* Takes l off its loop's list of connections granted a slot by another loop. */
static void ungrant_locked(struct uvh_worker *w, struct uvh_conn_link *l)
{
    struct uvh_conn_link **pp = &w->granted;
    if (!l->granted)
        return;
    while (*pp && *pp != l)
        pp = &(*pp)->qnext;
    if (*pp)
        *pp = l->qnext;
    l->granted = false;
}

/* A slot is free: the oldest queued connection, on whichever loop, takes it. Returns it when it
 * is self's (to start once the lock is released); another loop's is mailed to it. */
static struct uvh_conn_link *grant_locked(struct uvh_server *s, struct uvh_worker *self)
{
    struct uvh_conn_link *l = s->queue_head;
    if (!l || s->stopping || s->n_active >= s->max_active)
        return NULL;
    unqueue_locked(s, l);
    s->n_active++;
    l->has_slot = true;
    struct uvh_worker *owner = l->owner;
    if (owner == self)
        return l;
    struct uvh_conn_link **pp = &owner->granted; /* oldest first there too */
    while (*pp)
        pp = &(*pp)->qnext;
    l->qnext = NULL;
    l->granted = true;
    *pp = l;
    mail_locked(owner);
    return NULL;
}

/* A connection, or the reservation of one, of `owner` is gone: one more descriptor is free, and
 * a loop that paused accepting for want of one may accept again. Returns true when that loop is
 * self (resume once the lock is released); another loop is mailed. */
static bool free_descriptor_locked(struct uvh_server *s, struct uvh_worker *self,
                                   struct uvh_worker *owner)
{
    s->n_conns--;
    owner->load--;
    if (s->stopping || s->n_conns >= s->max_conns)
        return false;
    unsigned first = self ? self->index : 0;
    for (unsigned i = 0; i < s->n_workers; i++) {
        struct uvh_worker *w = &s->w[(first + i) % s->n_workers];
        if (!w->paused)
            continue;
        w->paused = false;
        if (w == self)
            return true;
        w->resume_asked = true;
        mail_locked(w);
        return false;
    }
    return false;
}

/* Hand-off: the loop with the fewest connections; ties go round-robin. */
static struct uvh_worker *pick_locked(struct uvh_server *s)
{
    struct uvh_worker *best = NULL;
    for (unsigned i = 0; i < s->n_workers; i++) {
        struct uvh_worker *w = &s->w[(s->next_pick + i) % s->n_workers];
        if (w->mail_open && (!best || w->load < best->load))
            best = w;
    }
    if (!best)
        best = &s->w[0];
    s->next_pick = best->index + 1;
    return best;
}

/* Counts a connection about to be accepted (or adopted) against the descriptor budget, for
 * `target`; false when there is no room or the server is stopping. */
static bool reserve_locked(struct uvh_server *s, struct uvh_worker *target)
{
    if (s->stopping || s->n_conns >= s->max_conns)
        return false;
    s->n_conns++;
    target->load++;
    target->total++;
    return true;
}

static void resume_accepting(struct uvh_worker *w)
{
    if (w->listening)
        on_connection((uv_stream_t *)&w->listener, 0); /* the one libuv is holding for us */
}

static void release(struct uvh_worker *w)
{
    struct uvh_server *s = w->server;
    uv_mutex_lock(&s->lock);
    bool resume = free_descriptor_locked(s, w, w);
    uv_mutex_unlock(&s->lock);
    if (resume)
        resume_accepting(w);
}

static void on_queue_timeout(struct uvh_conn_env *e, struct uvh_conn_link *l)
{
    struct uvh_worker *w = worker_of(e);
    uv_mutex_lock(&w->server->lock);
    unqueue_locked(w->server, l);
    ungrant_locked(w, l); /* given a slot a moment ago: it goes back when the 503 closes */
    uv_mutex_unlock(&w->server->lock);
}

static void serve_dequeued(struct uvh_worker *w, struct uvh_conn_link *l)
{
    uvh_clog(UVH_LOG_INFO, uvh_conn_id(uvh_link_conn(l)),
             "Connection dequeued, serving %s after %llu ms", uvh_conn_peer(uvh_link_conn(l)),
             (unsigned long long)(uv_now(&w->loop) - l->since_ms));
    uvh_conn_start(uvh_link_conn(l));
}

/* conn.c is about to free the connection: unlink it, give its slot to the next in line. */
static void on_conn_closed(struct uvh_conn_env *e, struct uvh_conn_link *l)
{
    struct uvh_worker *w = worker_of(e);
    struct uvh_server *s = w->server;
    struct uvh_conn_link *next = NULL;

    if (l->prev)
        l->prev->next = l->next;
    else
        w->conns = l->next;
    if (l->next)
        l->next->prev = l->prev;
    w->n_conns--;
    uv_mutex_lock(&s->lock);
    unqueue_locked(s, l);
    ungrant_locked(w, l);
    if (l->has_slot) {
        s->n_active--;
        next = grant_locked(s, w);
    }
    bool resume = free_descriptor_locked(s, w, w);
    uv_mutex_unlock(&s->lock);
    if (resume)
        resume_accepting(w);
    if (next)
        serve_dequeued(w, next);
    if (w->cenv.stopping && w->n_conns == 0 && w->shutdown_timer_on) {
        w->shutdown_timer_on = false;
        uv_close((uv_handle_t *)&w->shutdown_timer, NULL);
    }
}

enum verdict { SERVE, QUEUE, REFUSE, REFUSE_STOPPING };

/* Links a new connection of w (already counted in n_conns) and decides its admission: serve,
 * queue or refuse. */
static void admit(struct uvh_worker *w, struct uvh_conn *c)
{
    struct uvh_server *s = w->server;
    struct uvh_conn_link *l = uvh_conn_link(c);
    uint64_t id = uvh_conn_id(c);
    const char *peer = uvh_conn_peer(c);
    enum verdict v;
    size_t n_queued = 0;

    l->owner = w;
    l->prev = NULL;
    l->next = w->conns;
    if (w->conns)
        w->conns->prev = l;
    w->conns = l;
    w->n_conns++;
    l->since_ms = uv_now(&w->loop);
    uv_mutex_lock(&s->lock);
    if (s->stopping) {
        v = REFUSE_STOPPING; /* handed over just before the stop */
    } else if (s->n_active < s->max_active) {
        s->n_active++;
        l->has_slot = true;
        v = SERVE;
    } else if (s->n_queued < s->cfg->queue_size) {
        queue_push_locked(s, l);
        n_queued = s->n_queued;
        v = QUEUE;
    } else {
        v = REFUSE;
    }
    uv_mutex_unlock(&s->lock);
    switch (v) {
    case SERVE:
        uvh_conn_start(c);
        break;
    case QUEUE:
        uvh_clog(UVH_LOG_WARN, id,
                 "Warning: connection limit reached, queuing connection from %s (%llu/%u)", peer,
                 (unsigned long long)n_queued, s->cfg->queue_size);
        uvh_conn_queue(c);
        break;
    case REFUSE:
        uvh_clog(UVH_LOG_WARN, id, "Warning: connection queue full, rejecting %s with 503", peer);
        uvh_conn_reject(c, UVH_STATUS_SERVICE_UNAVAILABLE);
        break;
    case REFUSE_STOPPING:
        uvh_conn_reject(c, UVH_STATUS_SERVICE_UNAVAILABLE);
        break;
    }
}

/* A client worker 0 accepted for another loop: that loop adopts its socket. */
static void adopt(struct uvh_worker *w, uv_os_sock_t sock)
{
    struct uvh_conn *c;
    if (uvh_conn_open_socket(&w->cenv, sock, &c) == 0)
        admit(w, c);
    else
        release(w);
}

static void on_handoff_closed(uv_handle_t *h)
{
    free(h);
}

/* Hand-off: accepts on worker 0's loop, then gives the socket to `to` (a uv_tcp_t cannot move
 * between loops: to adopts a duplicate, this loop closes its handle). */
static void hand_off(struct uvh_worker *w, struct uvh_worker *to)
{
    struct uvh_server *s = w->server;
    uv_tcp_t *t = malloc(sizeof(*t));
    uv_os_sock_t sock;
    bool handed = false;
    int rc = t ? uv_tcp_init(&w->loop, t) : UV_ENOMEM;

    if (rc == 0) {
        rc = uv_accept((uv_stream_t *)&w->listener, (uv_stream_t *)t);
        if (rc == 0)
            rc = uvh_listen_detach(t, &sock);
        uv_close((uv_handle_t *)t, on_handoff_closed);
    } else {
        free(t);
    }
    if (rc != 0)
        uvh_log_uv(UVH_LOG_ERROR, rc, "accept failed");
    uv_mutex_lock(&s->lock);
    if (rc == 0 && to->mail_open) {
        if (to->n_handed == to->cap_handed) {
            size_t cap = to->cap_handed ? 2 * to->cap_handed : 16;
            uv_os_sock_t *p = realloc(to->handed, cap * sizeof(*p));
            if (p) {
                to->handed = p;
                to->cap_handed = cap;
            }
        }
        if (to->n_handed < to->cap_handed) {
            to->handed[to->n_handed++] = sock;
            mail_locked(to);
            handed = true;
        }
    }
    if (rc == 0 && !handed) { /* to is stopping (or no memory): w adopts it instead */
        to->load--;
        w->load++;
    }
    bool resume = rc != 0 && free_descriptor_locked(s, NULL, to);
    uv_mutex_unlock(&s->lock);
    (void)resume; /* only w can be paused in hand-off, and it is accepting right now */
    if (rc == 0 && !handed)
        adopt(w, sock);
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct uvh_worker *w = container_of(listener, struct uvh_worker, listener);
    struct uvh_server *s = w->server;
    struct uvh_worker *to = w;
    struct uvh_conn *c;

    if (status < 0) {
        /* Out of descriptors: libuv accepts and drops the pending connections with a reserved
         * descriptor, so this neither spins nor stops; say so at most once a second. */
        uint64_t now = uv_now(&w->loop);
        if (now - w->emfile_logged_ms >= 1000 || w->emfile_logged_ms == 0) {
            w->emfile_logged_ms = now;
            uvh_log_uv(UVH_LOG_ERROR, status, "accept failed");
        }
        return;
    }
    /* Every connection, even one being told 503, holds a descriptor. With the budget spent,
     * leave this one unaccepted: libuv stops watching the listener until uv_accept is called
     * (when a connection closes, on any loop), and the kernel's backlog holds the rest. Nobody
     * is accepted only to be dropped without an answer. */
    uv_mutex_lock(&s->lock);
    if (s->handoff)
        to = pick_locked(s);
    bool ok = reserve_locked(s, to);
    bool stopping = s->stopping;
    size_t n_conns = s->n_conns;
    if (!ok && !stopping)
        w->paused = true;
    uv_mutex_unlock(&s->lock);
    if (!ok) {
        uint64_t now = uv_now(&w->loop);
        if (!stopping && (now - w->overflow_logged_ms >= 1000 || w->overflow_logged_ms == 0)) {
            w->overflow_logged_ms = now;
            uvh_log(UVH_LOG_WARN,
                    "Warning: out of connection slots: %llu open, accepting paused until one "
                    "closes (at most 1 such line a second)",
                    (unsigned long long)n_conns);
        }
        return;
    }
    if (to != w)
        hand_off(w, to);
    else if (uvh_conn_accept(&w->cenv, listener, &c) == 0)
        admit(w, c);
    else
        release(w);
}

int uvh_server_open_pipe(struct uvh_server *s, uv_file fd)
{
    struct uvh_worker *w = &s->w[0];
    struct uvh_conn *c;
    uv_mutex_lock(&s->lock);
    s->n_conns++; /* not refused for want of descriptors: a test's or the fuzzer's pipe */
    w->load++;
    w->total++;
    uv_mutex_unlock(&s->lock);
    int rc = uvh_conn_open_pipe(&w->cenv, fd, &c);
    if (rc == 0)
        admit(w, c);
    else
        release(w);
    return rc;
}

/* ---- stopping: every loop stops its listener and drains its own connections ---- */

static void on_shutdown_timeout(uv_timer_t *t);

/* From here on nobody mails w: the handle is closing. Returns what was still in the mailbox:
 * sockets handed over (*handed, *n_handed) and connections granted a slot (the list). */
static struct uvh_conn_link *close_mail_locked(struct uvh_worker *w, uv_os_sock_t **handed,
                                               size_t *n_handed)
{
    struct uvh_conn_link *granted = w->granted;
    for (struct uvh_conn_link *l = granted; l; l = l->qnext)
        l->granted = false;
    w->granted = NULL;
    *handed = w->handed;
    *n_handed = w->n_handed;
    w->handed = NULL;
    w->n_handed = w->cap_handed = 0;
    if (w->mail_open) {
        w->mail_open = false;
        uv_close((uv_handle_t *)&w->mail, NULL);
    }
    return granted;
}

static void begin_stop(struct uvh_worker *w)
{
    struct uvh_server *s = w->server;
    struct uvh_conn_link *queued = NULL, **tail = &queued;
    uv_os_sock_t *handed;
    size_t n_handed;

    if (w->cenv.stopping)
        return;
    w->cenv.stopping = true;
    if (w->index == 0)
        uvh_notify("STOPPING=1");
    /* %llu, not %zu: MinGW's printf checking (and older msvcrt.dll) has no 'z' length. */
    uvh_log(UVH_LOG_INFO, "Shutting down: no new connections, finishing %llu open one%s",
            (unsigned long long)w->n_conns, w->n_conns == 1 ? "" : "s");
    if (w->listening) {
        w->listening = false;
        uv_close((uv_handle_t *)&w->listener, NULL);
    }
    /* Queued connections are told 503 (those granted a slot a moment ago too, and clients
     * handed over but not yet adopted); connections without a request being answered go now;
     * busy ones close after their response, since keep-alive is off from here on. */
    uv_mutex_lock(&s->lock);
    s->stopping = true;
    struct uvh_conn_link *granted = close_mail_locked(w, &handed, &n_handed);
    for (struct uvh_conn_link *l = s->queue_head, *next; l; l = next) {
        next = l->qnext;
        if (l->owner != w)
            continue;
        unqueue_locked(s, l);
        l->qnext = NULL;
        *tail = l;
        tail = &l->qnext;
    }
    *tail = granted;
    uv_mutex_unlock(&s->lock);
    for (size_t i = 0; i < n_handed; i++)
        adopt(w, handed[i]); /* the server is stopping: told 503 */
    free(handed);
    for (struct uvh_conn_link *l = queued, *next; l; l = next) {
        next = l->qnext;
        uvh_conn_reject(uvh_link_conn(l), UVH_STATUS_SERVICE_UNAVAILABLE);
    }
    for (struct uvh_conn_link *l = w->conns, *next; l; l = next) {
        next = l->next;
        uvh_conn_stop(uvh_link_conn(l));
    }
    if (w->n_conns > 0 && uv_timer_init(&w->loop, &w->shutdown_timer) == 0) {
        w->shutdown_timer.data = w;
        w->shutdown_timer_on = true;
        uv_timer_start(&w->shutdown_timer, on_shutdown_timeout,
                       (uint64_t)w->cfg.shutdown_timeout_s * 1000, 0);
    }
}

static void on_shutdown_timeout(uv_timer_t *t)
{
    struct uvh_worker *w = t->data;
    uvh_log(UVH_LOG_WARN, "Shutdown timeout: closing %llu connection%s still busy",
            (unsigned long long)w->n_conns, w->n_conns == 1 ? "" : "s");
    for (struct uvh_conn_link *l = w->conns, *next; l; l = next) {
        next = l->next;
        uvh_conn_close(uvh_link_conn(l), "shutdown timeout");
    }
}

/* One loop's access log is reopened; once every loop's is, systemd hears READY=1 again. */
static void on_reopened(void *arg)
{
    struct uvh_worker *w = arg;
    struct uvh_server *s = w->server;
    uv_mutex_lock(&s->lock);
    bool last = s->reopens_pending > 0 && --s->reopens_pending == 0 && !s->stopping;
    uv_mutex_unlock(&s->lock);
    if (last)
        uvh_notify("READY=1");
}

static void reopen_access_log(struct uvh_worker *w)
{
    if (w->cenv.access_log)
        uvh_access_log_reopen(w->cenv.access_log, on_reopened, w);
    else
        on_reopened(w);
}

/* Another thread left work for this loop under the lock. */
static void on_mail(uv_async_t *a)
{
    struct uvh_worker *w = a->data;
    struct uvh_server *s = w->server;

    uv_mutex_lock(&s->lock);
    struct uvh_conn_link *granted = w->granted;
    for (struct uvh_conn_link *l = granted; l; l = l->qnext)
        l->granted = false;
    w->granted = NULL;
    uv_os_sock_t *handed = w->handed;
    size_t n_handed = w->n_handed;
    w->handed = NULL;
    w->n_handed = w->cap_handed = 0;
    bool resume = w->resume_asked, stop = w->stop_asked, reopen = w->reopen_asked;
    w->resume_asked = w->reopen_asked = false;
    uv_mutex_unlock(&s->lock);

    for (struct uvh_conn_link *l = granted, *next; l; l = next) {
        next = l->qnext;
        serve_dequeued(w, l);
    }
    for (size_t i = 0; i < n_handed; i++)
        adopt(w, handed[i]);
    free(handed);
    if (resume)
        resume_accepting(w);
    if (reopen)
        reopen_access_log(w);
    if (stop)
        begin_stop(w);
}

/* Stops every loop: each begins its graceful stop on its own thread. */
void uvh_server_stop(struct uvh_server *s)
{
    /* The lock orders this against close_mail_locked: a send never reaches a closed handle. */
    uv_mutex_lock(&s->lock);
    s->stopping = true;
    for (unsigned i = 0; i < s->n_workers; i++) {
        s->w[i].stop_asked = true;
        mail_locked(&s->w[i]);
    }
    uv_mutex_unlock(&s->lock);
}

static void on_signal(uv_signal_t *sig, int signum)
{
    struct uvh_server *s = sig->data;
    if (s->w[0].cenv.stopping) {
        uvh_log(UVH_LOG_WARN, "Second signal %d: exiting at once", signum);
        uvh_log_flush();
        /* Not exit(): the other loops' threads are still running, and exit's handlers and
         * stdio teardown would run under their feet. */
        _Exit(1);
    }
    uvh_log(UVH_LOG_INFO, "Signal %d received", signum);
    uvh_server_stop(s);
    begin_stop(&s->w[0]); /* this loop at once: a second signal from here on exits */
}

#ifndef _WIN32
/* SIGHUP: every loop reopens its access log by its path (after logrotate renamed the file);
 * systemd hears RELOADING=1, then READY=1 once all are reopened. */
static void on_sighup(uv_signal_t *sig, int signum)
{
    struct uvh_server *s = sig->data;
    char msg[64];
    snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)(uv_hrtime() / 1000));
    uvh_log(UVH_LOG_INFO, "Signal %d received: %s", signum,
            s->cfg->access_log ? "reopening the access log" : "no access log to reopen");
    uv_mutex_lock(&s->lock);
    if (!s->stopping && s->reopens_pending == 0)
        uvh_notify(msg);
    for (unsigned i = 0; i < s->n_workers; i++) {
        if (s->w[i].mail_open && !s->w[i].reopen_asked) {
            s->w[i].reopen_asked = true;
            s->reopens_pending++;
            mail_locked(&s->w[i]);
        }
    }
    uv_mutex_unlock(&s->lock);
}
#endif

static void on_log_prepare(uv_prepare_t *h)
{
    struct uvh_worker *w = container_of(h, struct uvh_worker, log_flush);
    if (w->cenv.access_log)
        uvh_access_log_flush(w->cenv.access_log);
    uvh_log_flush();
}

unsigned long long uvh_server_worker_connections(struct uvh_server *s, unsigned i)
{
    uv_mutex_lock(&s->lock);
    unsigned long long n = i < s->n_workers ? s->w[i].total : 0;
    uv_mutex_unlock(&s->lock);
    return n;
}

static bool is_loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
           strcmp(host, "localhost") == 0;
}

static void add_host_rules(struct uvh_server *s, const char *host)
{
    char name[UVH_HOST_NAME_MAX];
    bool bare = s->port == 80;

    s->wildcard = strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
    if (strchr(host, ':'))
        snprintf(name, sizeof(name), "[%s]", host);
    else
        snprintf(name, sizeof(name), "%s", host);
    if (!s->wildcard)
        uvh_host_add(&s->hosts, name, s->port, bare);
    if (s->wildcard || is_loopback(host)) {
        uvh_host_add(&s->hosts, "localhost", s->port, bare);
        uvh_host_add(&s->hosts, "127.0.0.1", s->port, bare);
        uvh_host_add(&s->hosts, "[::1]", s->port, bare);
    }
    /* --allow-host NAME[:PORT]: NAME alone also accepts NAME:<our port> (a proxy in front). */
    for (size_t i = 0; i < s->cfg->n_allow_hosts; i++) {
        struct uvh_slice n;
        unsigned port;
        if (uvh_host_parse(uvh_slice_from(s->cfg->allow_hosts[i]), &n, &port) != 0)
            continue; /* validated by the config parser */
        snprintf(name, sizeof(name), "%.*s", (int)n.len, n.ptr);
        uvh_host_add(&s->hosts, name, port ? port : s->port, port == 0);
    }
}

/* Start-up file-system work runs synchronously: the loop is not serving anyone yet. */
static int resolve_root(struct uvh_server *s, const char *root)
{
    uv_fs_t req;
    int rc = uv_fs_realpath(NULL, &req, root, NULL);
    if (rc < 0) {
        uvh_log_uv(UVH_LOG_ERROR, rc, "Document root %s cannot be used", root);
        return rc;
    }
    size_t n = strlen(req.ptr);
    if (n >= sizeof(s->root) - 1) {
        uv_fs_req_cleanup(&req);
        uvh_log(UVH_LOG_ERROR, "Document root path is too long");
        return UV_ENAMETOOLONG;
    }
    memcpy(s->root, req.ptr, n + 1);
    uv_fs_req_cleanup(&req);
    while (n > 1 && (s->root[n - 1] == '/' || s->root[n - 1] == '\\'))
        s->root[--n] = '\0';
    s->root_len = n;
    rc = uv_fs_stat(NULL, &req, s->root, NULL);
    bool dir = rc == 0 && (req.statbuf.st_mode & S_IFMT) == S_IFDIR;
    uv_fs_req_cleanup(&req);
    if (!dir) {
        uvh_log(UVH_LOG_ERROR, "Document root %s is not a directory", s->root);
        return UV_ENOTDIR;
    }
    return 0;
}

/* One listener per loop where the kernel balances between them (all on the port the first
 * one got), else worker 0's only. */
static int bind_listeners(struct uvh_server *s, const struct uvh_config *cfg)
{
    struct sockaddr_storage addr;
    const char *host = strcmp(cfg->host, "localhost") == 0 ? "127.0.0.1" : cfg->host;
    int rc = uv_ip4_addr(host, (int)cfg->port, (struct sockaddr_in *)&addr);
    if (rc != 0)
        rc = uv_ip6_addr(host, (int)cfg->port, (struct sockaddr_in6 *)&addr);
    if (rc != 0) {
        uvh_log(UVH_LOG_ERROR, "Invalid host address '%s': expected an IPv4 or IPv6 address",
                cfg->host);
        return rc;
    }
    unsigned n = s->handoff ? 1 : s->n_workers;
    for (unsigned i = 0; i < n; i++) {
        struct uvh_worker *w = &s->w[i];
        rc = uvh_listen_open(&w->loop, &w->listener, (const struct sockaddr *)&addr, 511,
                             cfg->defer_accept_s, on_connection);
        if (rc != 0) {
            uvh_log_uv(UVH_LOG_ERROR, rc, "Cannot listen on %s:%u", cfg->host,
                       i == 0 ? cfg->port : s->port);
            return rc;
        }
        w->listening = true;
        if (i > 0)
            continue;
        int len = sizeof(addr);
        uv_tcp_getsockname(&w->listener, (struct sockaddr *)&addr, &len);
        s->port = ntohs(addr.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&addr)->sin6_port
                                                   : ((struct sockaddr_in *)&addr)->sin_port);
    }
    snprintf(s->url, sizeof(s->url), strchr(cfg->host, ':') ? "http://[%s]:%u" : "http://%s:%u",
             cfg->host, s->port);
    add_host_rules(s, cfg->host);
    return 0;
}

/* Every connection, queued and refused ones too, holds a descriptor; keep some for files (one
 * per pool thread), the listeners and the loops' own. Sets the budget of connections of every
 * kind (max_conns) and of served ones (max_active), which leaves room for the queue and for
 * refusals; both count every loop's connections together. */
static void size_connections(struct uvh_server *s, const struct uvh_config *cfg)
{
    s->max_conns = SIZE_MAX;
    s->max_active = cfg->max_connections;
#ifndef _WIN32
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        size_t files = FD_RESERVE + (size_t)cfg->threads + FD_PER_LOOP * (s->n_workers - 1);
        s->max_conns = rl.rlim_cur > files + 1 ? (size_t)rl.rlim_cur - files : 1;
        size_t reserve = REFUSING_RESERVE + (size_t)cfg->queue_size;
        size_t room = s->max_conns > reserve ? s->max_conns - reserve : 1;
        if (room < s->max_active)
            s->max_active = room;
    }
#endif
}

static void close_walk_cb(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static int watch_signal(struct uvh_server *s, uv_signal_t *h, int signum, uv_signal_cb cb)
{
    int rc = uv_signal_init(&s->w[0].loop, h);
    if (rc != 0)
        return rc;
    h->data = s;
    uv_unref((uv_handle_t *)h);
    return uv_signal_start(h, cb, signum);
}

static void free_server(struct uvh_server *s)
{
    for (unsigned i = 0; i < s->n_workers; i++) {
        if (s->w[i].cenv.access_log) /* a server that never ran, or whose start failed */
            uvh_access_log_close(s->w[i].cenv.access_log);
        uvh_conn_env_deinit(&s->w[i].cenv);
        free(s->w[i].handed);
    }
    free(s->w);
    uv_mutex_destroy(&s->lock);
    free(s);
}

/* Unwinds a server whose start failed: closes what its loops hold, then frees it. */
static int create_failed(struct uvh_server *s, unsigned n_loops, int rc)
{
    for (unsigned i = 0; i < n_loops; i++) {
        uv_walk(&s->w[i].loop, close_walk_cb, NULL);
        uv_run(&s->w[i].loop, UV_RUN_DEFAULT);
        uv_loop_close(&s->w[i].loop);
    }
    free_server(s);
    uvh_log_flush();
    return rc;
}

/* What one loop's connections and handlers see: read-only from here on. */
static int start_worker(struct uvh_server *s, struct uvh_worker *w)
{
    uvh_pool_init(&w->pool, &w->loop, w->cfg.threads);
    w->cenv.env = (struct uvh_env){.cfg = &w->cfg,
                                   .loop = &w->loop,
                                   .pool = &w->pool,
                                   .root = s->root,
                                   .root_len = s->root_len};
    w->cenv.hosts = &s->hosts;
    w->cenv.wildcard = s->wildcard;
    w->cenv.port = s->port;
    w->cenv.unqueue = on_queue_timeout;
    w->cenv.closed = on_conn_closed;
    w->cenv.next_id = w->index;
    w->cenv.id_step = s->n_workers;
    int rc = uvh_conn_env_start(&w->cenv);
    if (rc == 0)
        rc = uv_async_init(&w->loop, &w->mail, on_mail);
    if (rc == 0) {
        w->mail.data = w;
        w->mail_open = true;
        rc = uv_prepare_init(&w->loop, &w->log_flush);
    }
    /* The log flush must not keep the loop alive once serving has ended. */
    if (rc == 0) {
        uv_prepare_start(&w->log_flush, on_log_prepare);
        uv_unref((uv_handle_t *)&w->log_flush);
    }
    return rc;
}

static void log_workers(const struct uvh_server *s, const struct uvh_config *cfg)
{
    char cpus[48] = "";
    if (cfg->workers_auto)
        snprintf(cpus, sizeof(cpus), " (auto: %u CPU%s)", s->n_workers,
                 s->n_workers == 1 ? "" : "s");
    const char *spread = !s->listening       ? "no listener"
                         : s->n_workers == 1 ? "one listener"
                         : s->handoff        ? "worker 1 accepts and hands each connection to the "
                                               "least-loaded loop"
                                             : "each loop has its own listener (SO_REUSEPORT), the "
                                               "kernel spreads connections";
    uvh_log(UVH_LOG_INFO, "Workers: %u event loop%s%s, %s", s->n_workers,
            s->n_workers == 1 ? "" : "s", cpus, spread);
    if (s->n_workers > 1)
        uvh_log(UVH_LOG_INFO,
                "Workers share the connection limits and the queue; file cache %u bytes per "
                "loop (--file-cache / %u)",
                s->w[0].cfg.file_cache, s->n_workers);
}

static int server_create(const struct uvh_config *cfg, struct uvh_server **out, bool listen)
{
    struct uvh_server *s = calloc(1, sizeof(*s));
    unsigned n = cfg->workers ? cfg->workers : 1;
    unsigned n_loops = 0;
    int rc;

    *out = NULL;
    if (!s)
        return UV_ENOMEM;
    s->w = calloc(n, sizeof(*s->w));
    if (!s->w || uv_mutex_init(&s->lock) != 0) {
        free(s->w);
        free(s);
        return UV_ENOMEM;
    }
    s->cfg = cfg;
    s->n_workers = n;
    s->handoff = n > 1 && (cfg->handoff || !uvh_listen_balances());
    for (rc = 0; rc == 0 && n_loops < n; n_loops++) {
        struct uvh_worker *w = &s->w[n_loops];
        w->server = s;
        w->index = n_loops;
        w->cfg = *cfg;
        w->cfg.file_cache = cfg->file_cache / n; /* each loop keeps its own cache */
        rc = uv_loop_init(&w->loop);
        if (rc != 0)
            break;
    }
    if (rc == 0)
        rc = resolve_root(s, cfg->root);
    if (rc == 0 && listen) {
        rc = bind_listeners(s, cfg);
        s->listening = rc == 0;
    } else if (rc == 0) {
        s->port = cfg->port;
        snprintf(s->url, sizeof(s->url), "(no listener)");
        add_host_rules(s, cfg->host);
    }
    if (rc != 0)
        return create_failed(s, n_loops, rc);
    for (unsigned i = 0; i < n && rc == 0; i++)
        rc = start_worker(s, &s->w[i]);
    if (rc != 0) {
        uvh_log_uv(UVH_LOG_ERROR, rc, "cannot set up the event loops");
        return create_failed(s, n_loops, rc);
    }
    uvh_router_start(&s->w[0].cenv.env); /* disk work under the root: once */
    /* Signals must not keep the loop alive once serving has ended. */
    rc = watch_signal(s, &s->sigint, SIGINT, on_signal);
    if (rc == 0)
        rc = watch_signal(s, &s->sigterm, SIGTERM, on_signal);
#ifdef _WIN32
    if (rc == 0)
        rc = watch_signal(s, &s->sigbreak, SIGBREAK, on_signal);
#else
    if (rc == 0)
        rc = watch_signal(s, &s->sighup, SIGHUP, on_sighup);
#endif
    if (rc != 0) {
        uvh_log_uv(UVH_LOG_ERROR, rc, "cannot set up the event loop");
        return create_failed(s, n_loops, rc);
    }
    /* Each loop appends through a descriptor and buffers of its own (O_APPEND keeps the
     * batches of several loops whole); a failure here is logged and unwinds them all. */
    for (unsigned i = 0; cfg->access_log && i < n; i++) {
        struct uvh_worker *w = &s->w[i];
        rc = uvh_access_log_open(&w->access_log, &w->loop, cfg->access_log, cfg->access_log_format);
        if (rc != 0)
            return create_failed(s, n_loops, rc);
        w->cenv.access_log = &w->access_log;
    }
    if (cfg->access_log)
        uvh_log(UVH_LOG_INFO, "Access log: %s (%s format)", cfg->access_log,
                uvh_access_log_format_name(cfg->access_log_format));

    uvh_log(UVH_LOG_INFO, "uvhttpd %s (libuv %s, llhttp %d.%d.%d)", UVH_VERSION,
            uv_version_string(), LLHTTP_VERSION_MAJOR, LLHTTP_VERSION_MINOR, LLHTTP_VERSION_PATCH);
    uvh_log(UVH_LOG_INFO, "Document root: %s", s->root);
    uvh_log(UVH_LOG_INFO, "Thread pool size: %u", cfg->threads);
    uvh_log(UVH_LOG_INFO, "Thread pool status: 0/%u active", cfg->threads);
    size_connections(s, cfg);
    log_workers(s, cfg);
    uvh_log(UVH_LOG_INFO,
            "Limits: keep-alive timeout %u s, %u requests per connection, request timeout %u s",
            cfg->keep_alive_timeout_s, cfg->max_requests, cfg->request_timeout_s);
    uvh_log(UVH_LOG_INFO,
            "Connections: at most %llu served at once%s, %u queued, body limit %u bytes",
            (unsigned long long)s->max_active,
            s->max_active < cfg->max_connections ? " (capped by the descriptor limit)" : "",
            cfg->queue_size, cfg->max_body);
    uvh_log(UVH_LOG_DEBUG,
            "Memory: %llu bytes per idle connection (its struct, libuv's stream included), "
            "%llu more per request in progress",
            (unsigned long long)uvh_conn_idle_bytes(),
            (unsigned long long)uvh_conn_request_bytes());
    for (size_t i = 0; i < s->hosts.n; i++)
        uvh_log(UVH_LOG_DEBUG, "Accepting Host %s:%u%s", s->hosts.rules[i].name,
                s->hosts.rules[i].port, s->hosts.rules[i].bare_ok ? " (and without a port)" : "");
    uvh_log_always(UVH_LOG_INFO, "HTTP Server started on %s", s->url);
    uvh_log(UVH_LOG_INFO, "Press Ctrl+C to stop the server");
    uvh_log_flush();
    *out = s;
    return 0;
}

int uvh_server_new(const struct uvh_config *cfg, struct uvh_server **out)
{
    return server_create(cfg, out, true);
}

int uvh_server_new_unbound(const struct uvh_config *cfg, struct uvh_server **out)
{
    return server_create(cfg, out, false);
}

/* Runs one loop until it has nothing left to serve, then closes what remains (worker 0: the
 * signal watchers too) and the loop. Returns 0 or the error of uv_loop_close. */
static int run_loop(struct uvh_worker *w)
{
    struct uvh_server *s = w->server;
    if (s->n_workers > 1)
        uvh_log_set_worker(w->index + 1);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_mutex_lock(&s->lock);
    uv_os_sock_t *handed;
    size_t n_handed;
    close_mail_locked(w, &handed, &n_handed); /* stopped: nothing granted or handed is left */
    uv_mutex_unlock(&s->lock);
    free(handed);
    uvh_router_stop(); /* this thread ran the loop: handlers drop their per-thread caches */
    if (w->cenv.sendfile_responses > 0)
        uvh_log(UVH_LOG_INFO, "Sendfile: %llu responses, %llu bytes, %llu waits for a full socket",
                (unsigned long long)w->cenv.sendfile_responses,
                (unsigned long long)w->cenv.sendfile_bytes,
                (unsigned long long)w->cenv.sendfile_waits);
    uv_walk(&w->loop, close_walk_cb, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&w->loop);
    if (rc != 0)
        uvh_log_uv(UVH_LOG_ERROR, rc, "event loop did not close cleanly");
    if (w->cenv.access_log) { /* the last lines, now that nothing is in flight */
        uvh_access_log_close(w->cenv.access_log);
        w->cenv.access_log = NULL;
    }
    uvh_log_set_worker(0);
    return rc;
}

static void others_gone_locked(struct uvh_server *s, unsigned n, bool on_loop_thread)
{
    s->others_running -= n;
    if (s->others_running > 0 || !s->others_done_open)
        return;
    if (on_loop_thread) {
        s->others_done_open = false;
        uv_close((uv_handle_t *)&s->others_done, NULL);
    } else {
        uv_async_send(&s->others_done);
    }
}

static void on_others_done(uv_async_t *a)
{
    struct uvh_server *s = a->data;
    uv_mutex_lock(&s->lock);
    others_gone_locked(s, 0, true);
    uv_mutex_unlock(&s->lock);
}

static void worker_thread(void *arg)
{
    struct uvh_worker *w = arg;
    w->run_rc = run_loop(w);
    uvh_log_flush();
    uv_mutex_lock(&w->server->lock);
    others_gone_locked(w->server, 1, false);
    uv_mutex_unlock(&w->server->lock);
}

int uvh_server_run(struct uvh_server *s)
{
    unsigned started = 1;
    if (s->n_workers > 1 && uv_async_init(&s->w[0].loop, &s->others_done, on_others_done) == 0) {
        s->others_done.data = s;
        s->others_done_open = true;
        s->others_running = s->n_workers - 1;
    }
    for (; started < s->n_workers; started++) {
        int err = uv_thread_create(&s->w[started].thread, worker_thread, &s->w[started]);
        if (err != 0) {
            uvh_log_uv(UVH_LOG_ERROR, err, "cannot start worker %u: stopping", started + 1);
            uvh_server_stop(s);
            uv_mutex_lock(&s->lock);
            others_gone_locked(s, s->n_workers - started, true);
            uv_mutex_unlock(&s->lock);
            break;
        }
    }
    int rc = run_loop(&s->w[0]);
    for (unsigned i = 1; i < s->n_workers; i++) {
        if (i < started)
            uv_thread_join(&s->w[i].thread);
        else
            s->w[i].run_rc = run_loop(&s->w[i]); /* never ran: it only closes */
        if (s->w[i].run_rc != 0)
            rc = s->w[i].run_rc;
    }
    assert(rc == 0 && "a handle was left open");
    uvh_log(UVH_LOG_INFO, "Server stopped");
    uvh_log_flush();
    return rc;
}

void uvh_server_free(struct uvh_server *s)
{
    if (s)
        free_server(s);
}
