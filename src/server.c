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
#include "router.h"

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#define REFUSING_RESERVE 16 /* descriptors kept for connections being answered 503 */
#define FD_RESERVE 32       /* descriptors kept for the listener, the loop and log files */

static void on_connection(uv_stream_t *listener, int status);

/* ---- admission: a slot per served connection, a FIFO queue for the rest ---- */

static struct uvh_server *server_of(struct uvh_conn_env *e)
{
    return container_of(e, struct uvh_server, cenv);
}

static void queue_push(struct uvh_server *s, struct uvh_conn_link *l)
{
    l->queued = true;
    l->since_ms = uv_now(&s->loop);
    l->qnext = NULL;
    if (s->queue_tail)
        s->queue_tail->qnext = l;
    else
        s->queue_head = l;
    s->queue_tail = l;
    s->n_queued++;
}

static void unqueue(struct uvh_server *s, struct uvh_conn_link *l)
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

static void on_queue_timeout(struct uvh_conn_env *e, struct uvh_conn_link *l)
{
    unqueue(server_of(e), l);
}

static void serve(struct uvh_server *s, struct uvh_conn_link *l)
{
    l->has_slot = true;
    s->n_active++;
    uvh_conn_start(l->conn);
}

/* A slot freed: the oldest queued connection takes it. */
static void serve_next(struct uvh_server *s)
{
    struct uvh_conn_link *l = s->queue_head;
    if (!l || s->cenv.stopping || s->n_active >= s->max_active)
        return;
    unqueue(s, l);
    uvh_clog(UVH_LOG_INFO, uvh_conn_id(l->conn), "Connection dequeued, serving %s after %llu ms",
             uvh_conn_peer(l->conn), (unsigned long long)(uv_now(&s->loop) - l->since_ms));
    serve(s, l);
}

/* conn.c is about to free the connection: unlink it, give its slot to the next in line. */
static void on_conn_closed(struct uvh_conn_env *e, struct uvh_conn_link *l)
{
    struct uvh_server *s = server_of(e);
    if (l->prev)
        l->prev->next = l->next;
    else
        s->conns = l->next;
    if (l->next)
        l->next->prev = l->prev;
    s->n_conns--;
    unqueue(s, l);
    if (l->has_slot)
        s->n_active--;
    if (s->accept_paused && s->n_conns < s->max_conns) {
        s->accept_paused = false;
        on_connection((uv_stream_t *)&s->listener, 0); /* the one libuv is holding for us */
    }
    serve_next(s);
    if (s->cenv.stopping && s->n_conns == 0 && s->shutdown_timer_on) {
        s->shutdown_timer_on = false;
        uv_close((uv_handle_t *)&s->shutdown_timer, NULL);
    }
}

/* Links a new connection and decides its admission: serve, queue or refuse. */
static void admit(struct uvh_server *s, struct uvh_conn *c)
{
    struct uvh_conn_link *l = uvh_conn_link(c);
    uint64_t id = uvh_conn_id(c);
    const char *peer = uvh_conn_peer(c);

    l->prev = NULL;
    l->next = s->conns;
    if (s->conns)
        s->conns->prev = l;
    s->conns = l;
    s->n_conns++;
    if (s->n_active < s->max_active) {
        serve(s, l);
    } else if (s->n_queued < s->cfg->queue_size) {
        queue_push(s, l);
        uvh_clog(UVH_LOG_WARN, id,
                 "Warning: connection limit reached, queuing connection from %s (%llu/%u)", peer,
                 (unsigned long long)s->n_queued, s->cfg->queue_size);
        uvh_conn_queue(c);
    } else {
        uvh_clog(UVH_LOG_WARN, id, "Warning: connection queue full, rejecting %s with 503", peer);
        uvh_conn_reject(c, UVH_STATUS_SERVICE_UNAVAILABLE);
    }
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct uvh_server *s = container_of(listener, struct uvh_server, listener);
    struct uvh_conn *c;

    if (status < 0) {
        /* Out of descriptors: libuv accepts and drops the pending connections with a reserved
         * descriptor, so this neither spins nor stops; say so at most once a second. */
        uint64_t now = uv_now(&s->loop);
        if (now - s->emfile_logged_ms >= 1000 || s->emfile_logged_ms == 0) {
            s->emfile_logged_ms = now;
            uvh_log_uv(UVH_LOG_ERROR, status, "accept failed");
        }
        return;
    }
    /* Every connection, even one being told 503, holds a descriptor. With the budget spent,
     * leave this one unaccepted: libuv stops watching the listener until uv_accept is called
     * (when a connection closes), and the kernel's backlog holds the rest. Nobody is accepted
     * only to be dropped without an answer. */
    if (s->n_conns >= s->max_conns || s->cenv.stopping) {
        uint64_t now = uv_now(&s->loop);
        if (!s->cenv.stopping &&
            (now - s->overflow_logged_ms >= 1000 || s->overflow_logged_ms == 0)) {
            s->overflow_logged_ms = now;
            uvh_log(UVH_LOG_WARN,
                    "Warning: out of connection slots: %llu open, accepting paused until one "
                    "closes (at most 1 such line a second)",
                    (unsigned long long)s->n_conns);
        }
        s->accept_paused = true;
        return;
    }
    if (uvh_conn_accept(&s->cenv, listener, &c) == 0)
        admit(s, c);
}

int uvh_server_open_pipe(struct uvh_server *s, uv_file fd)
{
    struct uvh_conn *c;
    int rc = uvh_conn_open_pipe(&s->cenv, fd, &c);
    if (rc == 0)
        admit(s, c);
    return rc;
}

static void on_shutdown_timeout(uv_timer_t *t);

/* From here on uvh_server_stop sends nothing: the handle is closing. */
static void close_stop_async(struct uvh_server *s)
{
    uv_mutex_lock(&s->stop_lock);
    if (s->stop_open) {
        s->stop_open = false;
        uv_close((uv_handle_t *)&s->stop_async, NULL);
    }
    uv_mutex_unlock(&s->stop_lock);
}

static void begin_stop(struct uvh_server *s)
{
    if (s->cenv.stopping)
        return;
    s->cenv.stopping = true;
    /* %llu, not %zu: MinGW's printf checking (and older msvcrt.dll) has no 'z' length. */
    uvh_log(UVH_LOG_INFO, "Shutting down: no new connections, finishing %llu open one%s",
            (unsigned long long)s->n_conns, s->n_conns == 1 ? "" : "s");
    if (s->listening)
        uv_close((uv_handle_t *)&s->listener, NULL);
    close_stop_async(s);
    /* Queued connections are told 503; connections without a request being answered go now;
     * busy ones close after their response, since keep-alive is off from here on. */
    while (s->queue_head) {
        struct uvh_conn_link *l = s->queue_head;
        unqueue(s, l);
        uvh_conn_reject(l->conn, UVH_STATUS_SERVICE_UNAVAILABLE);
    }
    for (struct uvh_conn_link *l = s->conns, *next; l; l = next) {
        next = l->next;
        uvh_conn_stop(l->conn);
    }
    if (s->n_conns > 0 && uv_timer_init(&s->loop, &s->shutdown_timer) == 0) {
        s->shutdown_timer.data = s;
        s->shutdown_timer_on = true;
        uv_timer_start(&s->shutdown_timer, on_shutdown_timeout,
                       (uint64_t)s->cfg->shutdown_timeout_s * 1000, 0);
    }
}

static void on_shutdown_timeout(uv_timer_t *t)
{
    struct uvh_server *s = t->data;
    uvh_log(UVH_LOG_WARN, "Shutdown timeout: closing %llu connection%s still busy",
            (unsigned long long)s->n_conns, s->n_conns == 1 ? "" : "s");
    for (struct uvh_conn_link *l = s->conns, *next; l; l = next) {
        next = l->next;
        uvh_conn_close(l->conn, "shutdown timeout");
    }
}

static void on_stop_async(uv_async_t *a)
{
    begin_stop(a->data);
}

static void on_signal(uv_signal_t *sig, int signum)
{
    struct uvh_server *s = sig->data;
    if (s->cenv.stopping) {
        uvh_log(UVH_LOG_WARN, "Second signal %d: exiting at once", signum);
        uvh_log_flush();
        exit(1);
    }
    uvh_log(UVH_LOG_INFO, "Signal %d received", signum);
    begin_stop(s);
}

static void on_log_prepare(uv_prepare_t *h)
{
    (void)h;
    uvh_log_flush();
}

void uvh_server_stop(struct uvh_server *s)
{
    /* The lock orders this against close_stop_async: a send never reaches a closed handle. */
    uv_mutex_lock(&s->stop_lock);
    if (s->stop_open)
        uv_async_send(&s->stop_async);
    uv_mutex_unlock(&s->stop_lock);
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

static int bind_listener(struct uvh_server *s, const struct uvh_config *cfg)
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
    rc =
        uvh_listen_open(&s->loop, &s->listener, (const struct sockaddr *)&addr, 511, on_connection);
    if (rc != 0) {
        uvh_log_uv(UVH_LOG_ERROR, rc, "Cannot listen on %s:%u", cfg->host, cfg->port);
        return rc;
    }
    int len = sizeof(addr);
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&addr, &len);
    s->port = ntohs(addr.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&addr)->sin6_port
                                               : ((struct sockaddr_in *)&addr)->sin_port);
    snprintf(s->url, sizeof(s->url), strchr(cfg->host, ':') ? "http://[%s]:%u" : "http://%s:%u",
             cfg->host, s->port);
    add_host_rules(s, cfg->host);
    return 0;
}

/* Every connection, queued and refused ones too, holds a descriptor; keep some for files (one
 * per pool thread), the listener and the loop's own. Sets the budget of connections of every
 * kind (max_conns) and of served ones (max_active), which leaves room for the queue and for
 * refusals. */
static void size_connections(struct uvh_server *s, const struct uvh_config *cfg)
{
    s->max_conns = SIZE_MAX;
    s->max_active = cfg->max_connections;
#ifndef _WIN32
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        size_t files = FD_RESERVE + (size_t)cfg->threads;
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

static int watch_signal(struct uvh_server *s, uv_signal_t *h, int signum)
{
    int rc = uv_signal_init(&s->loop, h);
    if (rc != 0)
        return rc;
    h->data = s;
    uv_unref((uv_handle_t *)h);
    return uv_signal_start(h, on_signal, signum);
}

/* Unwinds a server whose start failed: closes what its loop holds, then frees it. */
static int create_failed(struct uvh_server *s, int rc)
{
    uv_walk(&s->loop, close_walk_cb, NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    uv_loop_close(&s->loop);
    uv_mutex_destroy(&s->stop_lock);
    free(s);
    uvh_log_flush();
    return rc;
}

static int server_create(const struct uvh_config *cfg, struct uvh_server **out, bool listen)
{
    struct uvh_server *s = calloc(1, sizeof(*s));
    int rc;

    *out = NULL;
    if (!s)
        return UV_ENOMEM;
    if (uv_mutex_init(&s->stop_lock) != 0) {
        free(s);
        return UV_ENOMEM;
    }
    s->cfg = cfg;
    rc = uv_loop_init(&s->loop);
    if (rc != 0) {
        free(s);
        return rc;
    }
    rc = resolve_root(s, cfg->root);
    if (rc == 0 && listen) {
        rc = bind_listener(s, cfg);
        s->listening = rc == 0;
    } else if (rc == 0) {
        s->port = cfg->port;
        snprintf(s->url, sizeof(s->url), "(no listener)");
        add_host_rules(s, cfg->host);
    }
    if (rc != 0) {
        return create_failed(s, rc);
    }
    /* What connections and handlers see of the server, read-only from here on. */
    uvh_pool_init(&s->pool, &s->loop, cfg->threads);
    s->cenv.env = (struct uvh_env){
        .cfg = cfg, .loop = &s->loop, .pool = &s->pool, .root = s->root, .root_len = s->root_len};
    s->cenv.hosts = &s->hosts;
    s->cenv.wildcard = s->wildcard;
    s->cenv.port = s->port;
    s->cenv.unqueue = on_queue_timeout;
    s->cenv.closed = on_conn_closed;
    rc = uvh_conn_env_start(&s->cenv);
    if (rc != 0)
        return create_failed(s, rc);
    uvh_router_start(&s->cenv.env);
    rc = uv_async_init(&s->loop, &s->stop_async, on_stop_async);
    s->stop_async.data = s;
    s->stop_open = rc == 0;
    /* Signals and the log flush must not keep the loop alive once serving has ended. */
    if (rc == 0)
        rc = watch_signal(s, &s->sigint, SIGINT);
    if (rc == 0)
        rc = watch_signal(s, &s->sigterm, SIGTERM);
#ifdef _WIN32
    if (rc == 0)
        rc = watch_signal(s, &s->sigbreak, SIGBREAK);
#endif
    if (rc == 0)
        rc = uv_prepare_init(&s->loop, &s->log_flush);
    if (rc == 0) {
        uv_prepare_start(&s->log_flush, on_log_prepare);
        uv_unref((uv_handle_t *)&s->log_flush);
    }
    if (rc != 0) {
        uvh_log_uv(UVH_LOG_ERROR, rc, "cannot set up the event loop");
        return create_failed(s, rc);
    }

    uvh_log(UVH_LOG_INFO, "uvhttpd %s (libuv %s, llhttp %d.%d.%d)", UVH_VERSION,
            uv_version_string(), LLHTTP_VERSION_MAJOR, LLHTTP_VERSION_MINOR, LLHTTP_VERSION_PATCH);
    uvh_log(UVH_LOG_INFO, "Document root: %s", s->root);
    uvh_log(UVH_LOG_INFO, "Thread pool size: %u", cfg->threads);
    uvh_log(UVH_LOG_INFO, "Thread pool status: 0/%u active", cfg->threads);
    size_connections(s, cfg);
    uvh_log(UVH_LOG_INFO,
            "Limits: keep-alive timeout %u s, %u requests per connection, request timeout %u s",
            cfg->keep_alive_timeout_s, cfg->max_requests, cfg->request_timeout_s);
    uvh_log(UVH_LOG_INFO,
            "Connections: at most %llu served at once%s, %u queued, body limit %u bytes",
            (unsigned long long)s->max_active,
            s->max_active < cfg->max_connections ? " (capped by the descriptor limit)" : "",
            cfg->queue_size, cfg->max_body);
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

int uvh_server_run(struct uvh_server *s)
{
    uv_run(&s->loop, UV_RUN_DEFAULT);
    /* Serving is over: close what remains (signals, the log check) and let the callbacks run. */
    close_stop_async(s);
    uvh_router_stop(); /* this thread ran the loop: handlers drop their per-thread caches */
    uv_walk(&s->loop, close_walk_cb, NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&s->loop);
    if (rc != 0)
        uvh_log_uv(UVH_LOG_ERROR, rc, "event loop did not close cleanly");
    assert(rc == 0 && "a handle was left open");
    uvh_log(UVH_LOG_INFO, "Server stopped");
    uvh_log_flush();
    return rc;
}

void uvh_server_free(struct uvh_server *s)
{
    if (!s)
        return;
    uvh_conn_env_deinit(&s->cenv);
    uv_mutex_destroy(&s->stop_lock);
    free(s);
}
