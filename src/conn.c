/* conn.c - owns one client connection from allocation to free: accepting, reading, parsing,
 * dispatch through the router, the one write in flight, keep-alive, timeouts and the close
 * sequence, and the exchange API the handlers answer through. Only this file changes c->state,
 * and only through set_state(); only this file and request.c touch llhttp. */
#include "conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _WIN32
#include <winsock2.h>
#else
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

#include <llhttp.h>

#include "host.h"
#include "listen.h"
#include "log.h"
#include "router.h"
#include "sendfile.h"
#include "strbuf.h"
#include "timeouts.h"

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#define FREE_EXCHANGES_MAX 16

/* Everything one request needs: the handlers' part first, then the connection's own. Taken
 * from the env's free list when bytes arrive and given back when the connection goes idle with
 * nothing buffered, so an idle connection owns none of it. */
struct exchange {
    struct exchange *next_free;
    struct uvh_conn *conn;
    llhttp_t parser;             /* fresh for each exchange; carried over by pipelined requests */
    uv_write_t wreq;             /* the one write in flight */
    uv_write_t wreq_continue;    /* "100 Continue", queued ahead of the response */
    enum uvh_status head_status; /* the head's verdict (Host, version, route): OK or an error */
    bool handled;                /* a handler took the whole request and answers it itself */
    bool head_replaced;          /* the head did not fit: a 500 went out instead */
    size_t body_start;           /* offset in in[] where the body begins */
    uv_buf_t wbufs[2];           /* what that write carries (head, body chunk) */
    /* A file range going out with sendfile after the head: the handler's file, open until
     * file_cb has run. `sending` while sf is started and its done has not run. */
    struct uvh_sendfile sf;
    bool sending;
    uv_file sf_file;
    uint64_t sf_offset, sf_len;
    uvh_exchange_file_cb file_cb;
    uint64_t start_ns;        /* when the request's first byte was parsed */
    const char *host_verdict; /* for the access log: static string */
    size_t in_len;            /* bytes received into in[] */
    size_t in_parsed;         /* bytes of in[] the parser has consumed */
    /* The small fields first, then the big buffers (the response's, then the input): what a
     * request touches of them is their first bytes, a few pages in all. */
    struct uvh_exchange pub;
    char in[UVH_REQUEST_LINE_MAX + UVH_REQUEST_HEADERS_MAX + 1024];
};

struct uvh_conn {
    /* The client stream: TCP from the listener, or a socketpair end (tests and the fuzzer),
     * opened as TCP too (uv_tcp_open), so the union holds no bigger uv_pipe_t. */
    union {
        uv_tcp_t tcp;
        uv_stream_t stream;
        uv_handle_t handle;
    } io;
    struct uvh_timeout_node deadline; /* on the env's list for the current state */
    struct uvh_conn_env *env;
    struct uvh_conn_link link; /* the server's */
    struct exchange *x;        /* non-NULL while a request is in progress or bytes are buffered;
                                  it holds the parser too */
    union {
        uvh_exchange_write_cb write_cb; /* WRITE: the handler's callback */
        uint64_t linger_since_ms;       /* LINGER: loop time the lingering close began */
    };
    uint64_t id;
    const char *close_reason; /* static string, logged when the connection ends */
    unsigned requests;        /* requests answered so far */
    unsigned refs;            /* open handles + a running handler; freed at zero */
    enum uvh_conn_state state;
    bool reading;
    bool pipe;         /* a socketpair end (tests, the fuzzer), not a TCP client */
    bool close_after;  /* close once the current response is written */
    bool linger;       /* input may be left unread: drain it before closing (no RST) */
    bool peer_eof;     /* the client half-closed while a request was answered: finish what is
                          buffered, then close */
    bool parsing;      /* parse() is running: a response completed meanwhile waits for it */
    bool done_pending; /* ... and here it waits (response_done) */
    bool proxied;      /* the peer is a trusted proxy: its first bytes are a PROXY header */
    char peer[56];     /* "IP:PORT" of the client (from the PROXY header behind a proxy) */
};

/* Indexed by enum uvh_conn_state: the phase named in log lines. */
static const char *const state_names[] = {
    "reading headers", "reading body",        "handling", "writing", "idle", "closing", "queued",
    "lingering",       "reading PROXY header"};

/* How long an answered, unread request may keep sending before the connection is closed, and
 * how long a lingering connection waits for more bytes (nginx: lingering_time/_timeout). */
#define LINGER_MS 2000
#define LINGER_IDLE_MS 500
/* A handler's job may take this many request timeouts before its connection is closed. */
#define UVH_CONN_HANDLE_FACTOR 3

/* Where a lingering connection's input goes: it is read only to be thrown away. */
static _Thread_local char discard_buf[4096];

static void on_timeout(struct uvh_timeout_node *n);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void parse(struct uvh_conn *c);
static void run_parser(struct uvh_conn *c);
static void response_done(struct uvh_conn *c);
static void format_peer(const struct sockaddr_storage *ss, char *out, size_t cap);
static void log_access(struct uvh_conn *c);

/* Changes state and puts the connection on the timeout list that bounds the new state, with a
 * fresh deadline: re-entering the same state restarts it (each read of a body, each completed
 * write). Lists, not a timer per connection: moving between them is O(1) (timeouts.h). */
static void set_state(struct uvh_conn *c, enum uvh_conn_state st)
{
    struct uvh_conn_env *e = c->env;
    struct uvh_timeout_list *l = NULL;

    c->state = st;
    switch (st) {
    case UVH_CONN_READ_PROXY:
    case UVH_CONN_READ_HEAD:
    case UVH_CONN_READ_BODY:
    case UVH_CONN_WRITE:
    case UVH_CONN_QUEUED:
        l = &e->t_request;
        break;
    case UVH_CONN_HANDLE:
        /* The server's own work on a request (a file open, an upload's validation) is bounded
         * too: a job that never ends must not keep its client waiting forever. */
        l = &e->t_handle;
        break;
    case UVH_CONN_IDLE:
        l = &e->t_idle;
        break;
    case UVH_CONN_LINGER:
        l = &e->t_linger;
        break;
    case UVH_CONN_CLOSING:
        break;
    }
    if (l)
        uvh_timeout_start(l, &c->deadline);
    else
        uvh_timeout_stop(&c->deadline);
}

static void start_reading(struct uvh_conn *c)
{
    if (!c->reading && !c->peer_eof && uv_read_start(&c->io.stream, on_alloc, on_read) == 0)
        c->reading = true;
}

static void stop_reading(struct uvh_conn *c)
{
    if (c->reading) {
        uv_read_stop(&c->io.stream);
        c->reading = false;
    }
}

/* Every per-request field, reset in one place: a new exchange, the next pipelined request and
 * a refusal all start here. What the route's handler still holds (an unfinished upload) is
 * released first. The input buffer's bytes are the caller's business. */
static void exchange_reset(struct exchange *x)
{
    uvh_router_release(&x->pub);
    memset(&x->pub.req, 0, sizeof(x->pub.req));
    uvh_response_reset(&x->pub.res);
    x->pub.h.file = NULL;
    x->head_status = UVH_STATUS_OK;
    x->body_start = 0;
    x->handled = false;
    x->head_replaced = false;
    x->host_verdict = "unchecked";
    x->start_ns = uv_hrtime();
}

/* Takes an exchange for the connection from the env's free list (or a new one); false when out
 * of memory. */
static bool take_exchange(struct uvh_conn *c)
{
    struct uvh_conn_env *e = c->env;
    struct exchange *x = e->free_exchanges;
    if (x) {
        e->free_exchanges = x->next_free;
        e->n_free_exchanges--;
    } else if (!(x = malloc(sizeof(*x)))) {
        return false;
    }
    x->conn = c;
    x->pub.env = &e->env;
    x->pub.peer = c->peer;
    x->pub.id = c->id;
    x->pub.route = NULL;
    x->sending = false;
    x->in_len = x->in_parsed = 0;
    llhttp_init(&x->parser, HTTP_REQUEST, &uvh_request_settings);
    exchange_reset(x);
    c->x = x;
    return true;
}

static void release_exchange(struct uvh_conn *c)
{
    struct uvh_conn_env *e = c->env;
    struct exchange *x = c->x;
    if (!x)
        return;
    uvh_router_release(&x->pub);
    c->x = NULL;
    if (e->n_free_exchanges >= FREE_EXCHANGES_MAX) {
        free(x);
        return;
    }
    x->next_free = e->free_exchanges;
    e->free_exchanges = x;
    e->n_free_exchanges++;
}

void uvh_conn_env_deinit(struct uvh_conn_env *e)
{
    while (e->free_exchanges) {
        struct exchange *x = e->free_exchanges;
        e->free_exchanges = x->next_free;
        free(x);
    }
    e->n_free_exchanges = 0;
}

static void maybe_free(struct uvh_conn *c)
{
    if (c->refs > 0)
        return;
    if (uvh_log_enabled(UVH_LOG_INFO)) { /* "Connection from P closed (R) after N requests" */
        char msg[256];
        struct uvh_strbuf b = uvh_sb(msg, sizeof(msg));
        uvh_sb_str(&b, "Connection from ");
        uvh_sb_str(&b, c->peer);
        uvh_sb_str(&b, " closed (");
        uvh_sb_str(&b, c->close_reason);
        uvh_sb_str(&b, ") after ");
        uvh_sb_u64(&b, c->requests);
        uvh_sb_str(&b, c->requests == 1 ? " request" : " requests");
        uvh_log_write_msg(UVH_LOG_INFO, c->id, msg, b.len);
    }
    release_exchange(c);
    c->env->closed(c->env, &c->link);
    free(c);
}

static void on_close(uv_handle_t *h)
{
    struct uvh_conn *c = h->data;
    c->refs--;
    maybe_free(c);
}

void uvh_conn_close(struct uvh_conn *c, const char *reason)
{
    if (c->state == UVH_CONN_CLOSING)
        return;
    uvh_clog(UVH_LOG_DEBUG, c->id, "Closing connection from %s while %s: %s", c->peer,
             state_names[c->state], reason);
    c->close_reason = reason;
    /* A request whose head was read and whose body never came whole gets no response, but it
     * was a request: it has its access line (499 or 444, logged_status). */
    if (c->state == UVH_CONN_READ_BODY && c->x && c->refs == 1)
        log_access(c);
    set_state(c, UVH_CONN_CLOSING);
    stop_reading(c);
    /* A sendfile job holds its own duplicate of the socket: it ends after its current job (at
     * most a budget's worth), or at once when it waits for room; the handler then finishes. */
    if (c->x && c->x->sending)
        uvh_sendfile_stop(&c->x->sf);
    /* No handler holds the exchange (refs counts only the stream): give it back now, not at
     * the close callback an iteration later, so a burst of closing connections does not hold
     * one each. */
    if (c->refs == 1)
        release_exchange(c);
    uv_close(&c->io.handle, on_close);
}

static bool closing(const struct uvh_conn *c)
{
    return c->state == UVH_CONN_CLOSING;
}

/* A new connection's first bytes are usually there already: the listener defers a connection
 * until they arrive (TCP_DEFER_ACCEPT, Linux). Read them at once, as libuv would: a request
 * answered and closed in this turn never joins the loop's epoll set. True when on_read had
 * them; false leaves the reading to libuv: nothing there yet, or no deferred accept (turned
 * off, or not Linux, where a read at once would mostly find nothing). */
static bool read_at_once(struct uvh_conn *c)
{
#ifdef __linux__
    uv_os_fd_t fd;
    uv_buf_t buf;
    ssize_t n;

    if (c->env->env.cfg->defer_accept_s == 0 || uv_fileno(&c->io.handle, &fd) != 0)
        return false;
    on_alloc(&c->io.handle, 0, &buf);
    if (buf.len == 0)
        return false; /* no exchange: libuv's read reports it */
    do
        n = recv(fd, buf.base, buf.len, 0);
    while (n < 0 && errno == EINTR);
    if (n <= 0) { /* nothing yet; an end or an error libuv's read will see again */
        release_exchange(c);
        return false;
    }
    c->reading = true; /* as while libuv reads: on_read may stop it */
    on_read(&c->io.stream, n, &buf);
    if (closing(c) || !c->reading)
        return true;
    c->reading = false;
    start_reading(c);
    return true;
#else
    (void)c;
    return false;
#endif
}

void uvh_conn_start(struct uvh_conn *c)
{
    set_state(c, UVH_CONN_READ_PROXY);
    if (!read_at_once(c))
        start_reading(c);
}

void uvh_conn_queue(struct uvh_conn *c)
{
    set_state(c, UVH_CONN_QUEUED);
}

/* ---- requests in, responses out ---- */

static bool status_closes(enum uvh_status st)
{
    switch (st) {
    case UVH_STATUS_BAD_REQUEST:
    case UVH_STATUS_REQUEST_TIMEOUT:
    case UVH_STATUS_CONTENT_TOO_LARGE:
    case UVH_STATUS_URI_TOO_LONG:
    case UVH_STATUS_HEADER_FIELDS_TOO_LARGE:
    case UVH_STATUS_INTERNAL_SERVER_ERROR:
    case UVH_STATUS_NOT_IMPLEMENTED:
    case UVH_STATUS_HTTP_VERSION_NOT_SUPPORTED:
        return true;
    default:
        return false;
    }
}

/* Decides keep-alive and formats the head; called once per response. A head that does not fit
 * becomes a 500 page that closes the connection: returns false then, and the caller must send
 * that page's body instead of its own. */
static bool prepare_head(struct uvh_conn *c)
{
    const struct uvh_config *cfg = c->env->env.cfg;
    struct uvh_response *res = &c->x->pub.res;
    unsigned served = c->requests + 1;

    /* RFC 9112 section 6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing:
     * answer it, then close. */
    bool te_in_1_0 = c->x->pub.req.hdr[UVH_HDR_TRANSFER_ENCODING].ptr &&
                     llhttp_get_http_minor(&c->x->parser) == 0;
    /* A handler that refuses a message read whole, with sound framing, for its content (an
     * upload that is not JSON) leaves the connection usable, like any other 4xx. */
    bool content_error =
        c->x->handled && c->x->pub.req.complete && res->status >= 400 && res->status < 500;
    if ((status_closes(res->status) && !content_error) ||
        !llhttp_should_keep_alive(&c->x->parser) || llhttp_get_upgrade(&c->x->parser) ||
        c->env->stopping || te_in_1_0)
        c->close_after = true;
    if (served >= cfg->max_requests && !c->close_after) {
        c->close_after = true;
        c->close_reason = "request limit reached";
    }
    res->keep_alive = !c->close_after;
    res->ka_timeout_s = cfg->keep_alive_timeout_s;
    res->ka_remaining = cfg->max_requests - served;
    if (uvh_response_format_head(res) != 0) {
        uvh_clog(UVH_LOG_ERROR, c->id, "response head for status %d does not fit", res->status);
        res->extra_len = 0;
        uvh_response_set_error(res, UVH_STATUS_INTERNAL_SERVER_ERROR);
        c->close_after = true;
        res->keep_alive = false;
        uvh_response_format_head(res);
        return false;
    }
    return true;
}

static void on_write_done(uv_write_t *w, int status)
{
    struct exchange *x = container_of(w, struct exchange, wreq);
    struct uvh_conn *c = w->data;
    uvh_exchange_write_cb cb = c->write_cb;

    x->pub.res.bytes_sent += x->wbufs[0].len + x->wbufs[1].len;
    c->write_cb = NULL;
    if (status == 0 && x->head_replaced) {
        cb(&x->pub, UV_ECANCELED); /* the 500 went out; the connection closes after it */
        return;
    }
    if (status < 0) {
        if (status != UV_ECANCELED)
            uvh_clog(UVH_LOG_DEBUG, c->id, "write to %s failed: %s", c->peer, uv_strerror(status));
        c->close_after = true;
        if (c->state != UVH_CONN_CLOSING)
            uvh_conn_close(c, status == UV_ECANCELED ? "closed" : "client went away mid-response");
    } else if (c->state == UVH_CONN_WRITE) {
        set_state(c, UVH_CONN_WRITE); /* progress: restart the write timer */
    }
    cb(&x->pub, status);
}

static void write_bufs(struct uvh_conn *c, const char *a, size_t alen, const char *b, size_t blen,
                       uvh_exchange_write_cb cb)
{
    struct exchange *x = c->x;
    unsigned n = 0;

    if (c->state == UVH_CONN_CLOSING) {
        x->wbufs[0] = x->wbufs[1] = uv_buf_init(NULL, 0);
        cb(&x->pub, UV_ECANCELED);
        return;
    }
    x->wbufs[1] = uv_buf_init(NULL, 0);
    if (alen)
        x->wbufs[n++] = uv_buf_init((char *)a, (unsigned)alen);
    if (blen)
        x->wbufs[n++] = uv_buf_init((char *)b, (unsigned)blen);
    c->write_cb = cb;
    x->wreq.data = c;
    set_state(c, UVH_CONN_WRITE);
    int rc = uv_write(&x->wreq, &c->io.stream, x->wbufs, n, on_write_done);
    if (rc < 0) {
        x->wbufs[0] = x->wbufs[1] = uv_buf_init(NULL, 0);
        c->write_cb = NULL;
        c->close_after = true;
        uvh_conn_close(c, "write failed");
        cb(&x->pub, rc);
    }
}

static void write_head(struct uvh_conn *c, const char *body, size_t len, uvh_exchange_write_cb cb)
{
    struct uvh_response *res = &c->x->pub.res;
    if (!prepare_head(c)) {
        /* Not the response the handler prepared: its body must not follow, and its write
         * callback hears that the response failed, so it sends nothing more. */
        c->x->head_replaced = true;
        body = res->body;
        len = res->body_len;
    }
    if (res->head_only)
        len = 0;
    write_bufs(c, res->head, res->head_len, body, len, cb);
}

static void write_body(struct uvh_conn *c, const char *body, size_t len, uvh_exchange_write_cb cb)
{
    write_bufs(c, body, len, NULL, 0, cb);
}

static struct uvh_conn *conn_of(struct uvh_exchange *pub)
{
    return container_of(pub, struct exchange, pub)->conn;
}

/* Errors of the socket, not of the file: the client is gone. */
static bool client_gone_error(int err)
{
    switch (err) {
    case UV_EPIPE:
    case UV_ECONNRESET:
    case UV_ENOTCONN:
    case UV_ECONNABORTED:
    case UV_ETIMEDOUT:
    case UV_EHOSTUNREACH:
    case UV_ENETUNREACH:
    case UV_ENETDOWN:
        return true;
    default:
        return false;
    }
}

static void on_file_progress(struct uvh_sendfile *s)
{
    struct uvh_conn *c = container_of(s, struct exchange, sf)->conn;
    if (c->state == UVH_CONN_WRITE)
        set_state(c, UVH_CONN_WRITE); /* progress: restart the write timer */
}

static void on_file_sent(struct uvh_sendfile *s, int status)
{
    struct exchange *x = container_of(s, struct exchange, sf);
    struct uvh_conn *c = x->conn;

    x->sending = false;
    x->pub.res.bytes_sent += s->sent;
    c->env->sendfile_bytes += s->sent;
    c->env->sendfile_waits += s->waits;
    if (client_gone_error(status)) { /* as a failed write */
        uvh_clog(UVH_LOG_DEBUG, c->id, "write to %s failed: %s", c->peer, uv_strerror(status));
        c->close_after = true;
        uvh_conn_close(c, "client went away mid-response");
    }
    x->file_cb(&x->pub, s->sent, status);
}

/* The head is out: the kernel sends the file from here, one threadpool job at a time. */
static int start_file(struct uvh_conn *c)
{
    struct exchange *x = c->x;
    uv_os_fd_t fd;
    int rc = uv_fileno(&c->io.handle, &fd);
    if (rc == 0)
        rc = uvh_sendfile_start(&x->sf, c->env->env.loop, c->env->env.pool, fd, x->sf_file,
                                x->sf_offset, x->sf_len, on_file_progress, on_file_sent);
    if (rc < 0)
        return rc;
    x->sending = true;
    c->env->sendfile_responses++;
    set_state(c, UVH_CONN_WRITE);
    return 0;
}

static void on_file_head_written(struct uvh_exchange *pub, int status)
{
    struct uvh_conn *c = conn_of(pub);
    struct exchange *x = c->x;
    int rc = status < 0 ? status : start_file(c);
    if (rc < 0)
        x->file_cb(pub, 0, rc); /* a head error has closed the connection; else a file error */
}

static int send_file(struct uvh_conn *c, uv_file file, uint64_t offset, uint64_t len,
                     uvh_exchange_file_cb cb)
{
    struct exchange *x = c->x;
    if (!c->env->env.cfg->sendfile || c->pipe || !uvh_sendfile_available())
        return UV_ENOTSUP;
    x->sf_file = file;
    x->sf_offset = offset;
    x->sf_len = len;
    x->file_cb = cb;
    if (x->pub.res.head_len > 0)
        return start_file(c);
    /* The head goes first, whole: only one writer may use the socket at a time, and a
     * sendfile job writes to it from another thread. */
    write_head(c, NULL, 0, on_file_head_written);
    return 0;
}

static void on_respond_done(struct uvh_exchange *pub, int status)
{
    (void)status;
    response_done(conn_of(pub));
}

/* The whole response: head plus body (res->body, or bytes that live until the exchange ends).
 * When the socket takes it all at once, the usual case for a small response, the exchange ends
 * here: no write request, no POLLOUT registration, no callback an iteration later. */
static void respond_with(struct uvh_conn *c, const char *body, size_t len)
{
    struct exchange *x = c->x;
    struct uvh_response *res = &x->pub.res;

    if (c->state == UVH_CONN_CLOSING) {
        response_done(c);
        return;
    }
    if (!prepare_head(c)) { /* the 500 that replaced the head carries its own page */
        x->head_replaced = true;
        body = res->body;
        len = res->body_len;
    }
    if (res->head_only)
        len = 0;
    uv_buf_t b[2] = {uv_buf_init(res->head, (unsigned)res->head_len),
                     uv_buf_init((char *)body, (unsigned)len)};
    int n = uv_try_write(&c->io.stream, b, len ? 2 : 1);
    if (n == (int)(res->head_len + len)) {
        res->bytes_sent += (uint64_t)n;
        response_done(c);
        return;
    }
    size_t done = n > 0 ? (size_t)n : 0; /* the rest goes through a write request */
    res->bytes_sent += done;
    if (done < res->head_len)
        write_bufs(c, res->head + done, res->head_len - done, body, len, on_respond_done);
    else
        write_bufs(c, body + (done - res->head_len), len - (done - res->head_len), NULL, 0,
                   on_respond_done);
}

static void respond(struct uvh_conn *c)
{
    respond_with(c, c->x->pub.res.body, c->x->pub.res.body_len);
}

static void respond_error(struct uvh_conn *c, enum uvh_status st)
{
    uvh_response_set_error(&c->x->pub.res, st);
    respond(c);
}

/* One line in the access log file, with the facts of the diagnostic access line. */
static void add_access_entry(struct uvh_conn *c, const struct uvh_request *req, int status,
                             uint64_t body_bytes, double ms)
{
    struct uvh_slice none = {NULL, 0}, raw = none;
    if (req && c->x && c->x->in_len) { /* the request starts at in[0] */
        const char *eol = memchr(c->x->in, '\n', c->x->in_len);
        raw = (struct uvh_slice){c->x->in, eol ? (size_t)(eol - c->x->in) : c->x->in_len};
        if (raw.len && raw.ptr[raw.len - 1] == '\r')
            raw.len--;
    }
    struct uvh_access_entry e = {
        .peer = c->peer,
        .method = req ? req->method : none,
        .target = req ? req->target : none,
        .version = req ? req->version : none,
        .raw_line = raw,
        .referer = req ? req->hdr[UVH_HDR_REFERER] : none,
        .user_agent = req ? req->hdr[UVH_HDR_USER_AGENT] : none,
        .host = req ? req->hdr[UVH_HDR_HOST] : none,
        .status = status,
        .body_bytes = body_bytes,
        .ms = ms,
        .when = time(NULL),
    };
    uvh_access_log_add(c->env->access_log, &e);
}

/* The reasons a connection can end for that mean the client left (uvh_conn_close's). */
static const char *const client_left_reasons[] = {"client closed",
                                                  "client closed mid-request",
                                                  "client went away before its body",
                                                  "client went away mid-response",
                                                  "connection reset",
                                                  "write failed"};

/* What the logs give as the status of a request that ended with no response chosen: 499 when
 * the client left first, 444 when the server closed it unanswered (a stop, a handler past its
 * time); nginx's codes for the same, so log tools know them. */
static int logged_status(const struct uvh_conn *c, enum uvh_status st, const char **reason)
{
    *reason = uvh_status_reason(st);
    if (st != UVH_STATUS_NONE)
        return (int)st;
    bool left = c->peer_eof;
    for (size_t i = 0; !left && c->close_reason &&
                       i < sizeof(client_left_reasons) / sizeof(client_left_reasons[0]);
         i++)
        left = strcmp(c->close_reason, client_left_reasons[i]) == 0;
    *reason = left ? "Client Closed Request" : "Closed Unanswered";
    return left ? 499 : 444;
}

static void log_access(struct uvh_conn *c)
{
    struct exchange *x = c->x;
    struct uvh_request *req = &x->pub.req;
    struct uvh_response *res = &x->pub.res;
    const char *ka = res->keep_alive ? "keep-alive" : "close";
    char target[512], msg[1024];
    /* A health check (--health-path) is logged at debug only, so checks do not fill the log. */
    enum uvh_log_level level = res->quiet ? UVH_LOG_DEBUG : UVH_LOG_INFO;

    const char *reason;
    int status = logged_status(c, res->status, &reason);

    if (c->env->access_log && !res->quiet) {
        uint64_t head = res->bytes_sent >= res->head_len ? res->head_len : res->bytes_sent;
        add_access_entry(c, req, status, res->bytes_sent - head,
                         (double)(uv_hrtime() - x->start_ns) / 1e6);
    }
    if (!uvh_log_enabled(level))
        return;
    uvh_clog(UVH_LOG_DEBUG, c->id, "Response: %d %s (%llu bytes transferred)", res->status,
             uvh_status_reason(res->status), (unsigned long long)res->bytes_sent);
    uvh_clog(UVH_LOG_DEBUG, c->id, "Connection: %s", ka);
    /* PEER "METHOD TARGET HTTP/V" host VERDICT -> STATUS REASON, FILE (N bytes), N bytes, KA,
     * T ms; the request line is "-" when none was read. Built without printf: one per request. */
    struct uvh_strbuf b = uvh_sb(msg, sizeof(msg));
    uvh_sb_str(&b, c->peer);
    uvh_sb_char(&b, ' ');
    if (req->method.ptr) {
        uvh_sb_char(&b, '"');
        uvh_sb_mem(&b, req->method.ptr, req->method.len > 16 ? 16 : req->method.len);
        uvh_sb_char(&b, ' ');
        uvh_sb_str(&b, req->target.ptr ? uvh_log_escape(target, sizeof(target), req->target) : "-");
        uvh_sb_str(&b, " HTTP/");
        if (req->version.ptr)
            uvh_sb_mem(&b, req->version.ptr, req->version.len > 8 ? 8 : req->version.len);
        uvh_sb_char(&b, '"');
    } else {
        uvh_sb_char(&b, '-');
    }
    uvh_sb_str(&b, " host ");
    uvh_sb_str(&b, x->host_verdict);
    uvh_sb_str(&b, " -> ");
    uvh_sb_u64(&b, (uint64_t)status);
    uvh_sb_char(&b, ' ');
    uvh_sb_str(&b, reason);
    uvh_sb_str(&b, ", ");
    if (res->served) {
        uvh_sb_mem(&b, res->served, strnlen(res->served, 300));
        uvh_sb_str(&b, " (");
        uvh_sb_u64(&b, res->served_size);
        uvh_sb_str(&b, " bytes)");
    } else {
        uvh_sb_str(&b, "no file");
    }
    uvh_sb_str(&b, ", ");
    uvh_sb_u64(&b, res->bytes_sent);
    uvh_sb_str(&b, " bytes, ");
    uvh_sb_str(&b, ka);
    uvh_sb_str(&b, ", ");
    uvh_sb_ms2(&b, uv_hrtime() - x->start_ns);
    uvh_sb_str(&b, " ms");
    uvh_log_write_msg(level, c->id, msg, b.len);
}

/* Begins answering: the handler holds a reference until response_done. Reading goes on (no
 * epoll_ctl pair per request): what arrives meanwhile is only appended to the buffer, and is
 * parsed in order once the response is written (on_read, busy()). */
static void begin_response(struct uvh_conn *c)
{
    struct exchange *x = c->x;
    c->refs++;
    set_state(c, UVH_CONN_HANDLE);
    x->pub.res.head_only = x->pub.req.method_id == UVH_METHOD_HEAD;
}

/* Answers a request the parser or a limit rejected; the connection closes afterwards. */
static void fail_request(struct uvh_conn *c, enum uvh_status st, const char *why)
{
    struct exchange *x = c->x;
    char line[256];
    /* The parser may have stopped before handing over the target: log the raw request line. */
    const char *eol = memchr(x->in, '\n', x->in_len);
    struct uvh_slice raw = {x->in, eol ? (size_t)(eol - x->in) : x->in_len};
    if (raw.len && raw.ptr[raw.len - 1] == '\r')
        raw.len--;
    begin_response(c);
    c->close_after = true;
    c->linger = true;
    c->close_reason = why;
    uvh_clog(UVH_LOG_WARN, c->id, "Rejected request from %s: %d %s (%s; request line \"%s\")",
             c->peer, st, uvh_status_reason(st), why, uvh_log_escape(line, sizeof(line), raw));
    respond_error(c, st);
}

/* RFC 9112 section 3.2: the authority of an absolute-form target wins over Host. */
static enum uvh_status check_host(struct uvh_conn *c)
{
    struct exchange *x = c->x;
    struct uvh_request *req = &x->pub.req;
    struct uvh_slice auth = req->authority.ptr ? req->authority : req->hdr[UVH_HDR_HOST];
    struct uvh_slice name;
    unsigned port;
    char shown[300];
    const char *why = NULL;
    enum uvh_status st = UVH_STATUS_BAD_REQUEST;

    if (req->n_host > 1) {
        why = "more than one Host header";
    } else if (!auth.ptr) {
        if (llhttp_get_http_minor(&c->x->parser) == 0) {
            x->host_verdict = "absent (HTTP/1.0)";
            return UVH_STATUS_OK;
        }
        why = "missing";
    } else if (uvh_host_parse(auth, &name, &port) != 0) {
        why = "invalid syntax";
    } else if (uvh_host_match(c->env->hosts, name, port)) {
        why = NULL;
    } else if (c->env->wildcard && port == c->env->port && !c->pipe) {
        /* Bound to every address: the address this connection came in on names us too. */
        struct sockaddr_storage ss;
        int len = sizeof(ss);
        char ip[64] = "";
        if (uv_tcp_getsockname(&c->io.tcp, (struct sockaddr *)&ss, &len) == 0) {
            if (ss.ss_family == AF_INET6) {
                ip[0] = '[';
                uv_ip6_name((struct sockaddr_in6 *)&ss, ip + 1, sizeof(ip) - 2);
                /* An IPv4 client on a dual-stack "::" socket: compare the IPv4 form. */
                if (strncmp(ip + 1, "::ffff:", 7) == 0 && strchr(ip + 8, '.'))
                    memmove(ip, ip + 8, strlen(ip + 8) + 1);
                else
                    strcat(ip, "]");
            } else {
                uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof(ip));
            }
        }
        if (!uvh_slice_eq_nocase(name, uvh_slice_from(ip))) {
            why = "not a name of this server";
            st = UVH_STATUS_FORBIDDEN;
        }
    } else {
        why = "not a name of this server";
        st = UVH_STATUS_FORBIDDEN;
    }
    if (!why) {
        x->host_verdict = "ok";
        uvh_clog(UVH_LOG_DEBUG, c->id, "Host validation: %s \xe2\x9c\x93",
                 uvh_log_escape(shown, sizeof(shown), auth));
        return UVH_STATUS_OK;
    }
    x->host_verdict = st == UVH_STATUS_FORBIDDEN ? "rejected (foreign)" : "rejected (invalid)";
    uvh_clog(UVH_LOG_WARN, c->id, "Security: Host \"%s\" rejected (%s) for %s",
             uvh_log_escape(shown, sizeof(shown), auth), why, c->peer);
    return st;
}

static void dispatch(struct uvh_conn *c)
{
    struct exchange *x = c->x;
    struct uvh_request *req = &x->pub.req;
    enum uvh_status st = x->head_status;

    begin_response(c);
    if (uvh_log_threshold >= UVH_LOG_DEBUG) {
        char target[512];
        uvh_clog(UVH_LOG_DEBUG, c->id, "Request: %.*s %s HTTP/%.*s", (int)req->method.len,
                 req->method.ptr, uvh_log_escape(target, sizeof(target), req->target),
                 (int)req->version.len, req->version.ptr);
    }
    if (st == UVH_STATUS_OK) {
        x->handled = true; /* a handler answers; x may be gone once it returns NONE */
        st = uvh_router_dispatch(&x->pub);
        if (st == UVH_STATUS_NONE)
            return;
        x->handled = false;
    }
    if (st != UVH_STATUS_NONE)
        respond_error(c, st);
}

/* The head is complete and the parser paused before the body. Host comes before anything else
 * about the request (DNS rebinding); then the version (llhttp accepts any digit.digit, we speak
 * 1.0 and 1.1, RFC 9112 section 2.3); then the route may take the body. A refusal is answered
 * in order when the message completes, or at once (closing) when the body cannot or should not
 * be read. Returns false when answered here. */
static bool on_head(struct uvh_conn *c)
{
    struct exchange *x = c->x;
    llhttp_t *p = &x->parser;
    bool has_body = (p->flags & F_CHUNKED) || ((p->flags & F_CONTENT_LENGTH) && p->content_length);
    enum uvh_status st = check_host(c);

    x->body_start = x->in_parsed;
    /* llhttp 8 tolerates a bare LF ending the request line: every line of the head must end
     * in CRLF, and a CR appear nowhere else (RFC 9112 section 2.2). The head starts at in[0]. */
    for (const char *q = x->in, *end = x->in + x->body_start; q < end; q++) {
        if ((*q == '\n' && (q == x->in || q[-1] != '\r')) ||
            (*q == '\r' && (q + 1 == end || q[1] != '\n'))) {
            fail_request(c, UVH_STATUS_BAD_REQUEST, "bare CR or LF in the head");
            return false;
        }
    }
    if (st == UVH_STATUS_OK && (llhttp_get_http_major(p) != 1 || llhttp_get_http_minor(p) > 1))
        st = UVH_STATUS_HTTP_VERSION_NOT_SUPPORTED;
    if (st == UVH_STATUS_OK)
        st = uvh_router_head(&x->pub);
    /* A body nobody takes is dropped, up to a cap; past it 413 wins over a 405. */
    if ((st == UVH_STATUS_OK || st == UVH_STATUS_METHOD_NOT_ALLOWED) && !x->pub.req.sink &&
        (p->flags & F_CONTENT_LENGTH) && p->content_length > UVH_REQUEST_BODY_MAX)
        st = UVH_STATUS_CONTENT_TOO_LARGE;
    x->head_status = st;
    /* A refused body of known, small size is read and dropped so the connection stays usable;
     * one the client has not sent yet (Expect: 100-continue), or that is chunked or too large
     * to drop, is not waited for: answer now and close. */
    bool droppable = st != UVH_STATUS_CONTENT_TOO_LARGE && !(p->flags & F_CHUNKED) &&
                     p->content_length <= UVH_REQUEST_BODY_MAX &&
                     !x->pub.req.hdr[UVH_HDR_EXPECT].ptr;
    if (st == UVH_STATUS_OK || !has_body || droppable)
        return true;
    fail_request(c, st, "refused before its body");
    return false;
}

/* Sends FIN. Called only with no write in flight (after the last response's write completed,
 * or a refusal's uv_try_write took it whole), so the socket's own shutdown() needs no
 * uv_shutdown_t in the connection, which would outweigh everything else an idle one holds. */
static int shutdown_write(struct uvh_conn *c)
{
    uv_os_fd_t fd;
    if (uv_fileno(&c->io.handle, &fd) != 0)
        return -1;
#ifdef _WIN32
    return shutdown((SOCKET)fd, SD_SEND) == 0 ? 0 : -1;
#else
    return shutdown(fd, SHUT_WR) == 0 ? 0 : -1;
#endif
}

/* Closing a socket with unread input makes the kernel send RST, which can destroy responses
 * already sent before the client reads them (RFC 9112 section 9.6). Send FIN instead, and
 * drain what the client still sends until it closes or LINGER_MS pass (nginx's lingering
 * close). The exchange is given back: drained bytes go to a scratch buffer. */
static void linger(struct uvh_conn *c)
{
    release_exchange(c);
    c->linger_since_ms = uv_now(c->env->env.loop);
    set_state(c, UVH_CONN_LINGER);
    if (shutdown_write(c) != 0) {
        uvh_conn_close(c, c->close_reason);
        return;
    }
    start_reading(c);
}

/* True when the client sent bytes the server has not parsed: pipelined requests in the buffer,
 * or data waiting in the socket (nginx looks at its read event's readiness the same way). */
static bool input_pending(struct uvh_conn *c)
{
    uv_os_fd_t fd;
    if (c->x && c->x->in_len > c->x->in_parsed)
        return true;
    if (uv_fileno(&c->io.handle, &fd) != 0)
        return false;
#ifdef _WIN32
    u_long n = 0;
    return !c->pipe && ioctlsocket((SOCKET)fd, FIONREAD, &n) == 0 && n > 0;
#else
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 && n > 0;
#endif
}

void uvh_conn_reject(struct uvh_conn *c, enum uvh_status st)
{
    struct uvh_response res;

    /* A refusal holds no exchange: its few hundred bytes go straight into the socket's empty
     * send buffer, then the connection lingers like any other that closes with unread input. */
    c->close_reason = c->env->stopping ? "server shutting down" : "server full";
    uvh_response_reset(&res);
    uvh_response_add(&res, "Retry-After", "%u", c->env->env.cfg->retry_after_s);
    uvh_response_set_error(&res, st);
    int rc = uvh_response_format_head(&res);
    uv_buf_t b[2] = {uv_buf_init(res.head, (unsigned)res.head_len),
                     uv_buf_init(res.body, (unsigned)res.body_len)};
    int n = rc == 0 ? uv_try_write(&c->io.stream, b, 2) : UV_ENOBUFS;
    uvh_clog(UVH_LOG_INFO, c->id,
             "%s - host not read -> %d %s, no file, %llu bytes, close, 0.00 ms", c->peer, st,
             uvh_status_reason(st), (unsigned long long)(n > 0 ? n : 0));
    if (c->env->access_log)
        add_access_entry(c, NULL, st, n > (int)res.head_len ? (uint64_t)n - res.head_len : 0, 0);
    if (n != (int)(res.head_len + res.body_len)) {
        uvh_clog(UVH_LOG_DEBUG, c->id, "could not answer %s at once: %s", c->peer,
                 n < 0 ? uv_strerror(n) : "short write");
        uvh_conn_close(c, "could not be answered");
        return;
    }
    c->requests++;
    linger(c);
}

/* Nothing of a next request has arrived: only empty lines, which RFC 9112 section 2.2 says to
 * ignore before a request line, or nothing at all. */
static bool between_messages(const struct uvh_conn *c)
{
    return c->state == UVH_CONN_READ_HEAD && c->x && !c->x->pub.req.started && c->x->in_len == 0;
}

/* Keep-alive: waits for the next request holding no exchange. */
static void go_idle(struct uvh_conn *c)
{
    if (c->peer_eof) {
        uvh_conn_close(c, "client closed");
        return;
    }
    release_exchange(c);
    set_state(c, UVH_CONN_IDLE);
    start_reading(c);
}

/* A response is complete (written, or the connection is closing). Answered during parse()
 * (a response from memory that the socket took at once), it only leaves a note: parse()'s
 * caller comes back here, so a buffer of pipelined requests is answered in a loop, never by
 * recursion. */
static void response_done(struct uvh_conn *c)
{
    if (c->parsing) {
        c->done_pending = true;
        return;
    }
    for (;;) {
        struct exchange *x = c->x;

        c->done_pending = false;
        c->refs--;
        c->requests++;
        log_access(c);
        if (c->state == UVH_CONN_CLOSING) {
            maybe_free(c);
            return;
        }
        /* A response that went out as keep-alive before a stop began still ends the
         * connection. */
        if (c->close_after || c->env->stopping || c->linger) {
            if (!c->close_reason || c->env->stopping)
                c->close_reason = c->env->stopping ? "server shutting down" : "Connection: close";
            /* After the client's FIN nothing more can arrive: no RST to fear. */
            if (!c->peer_eof && (c->linger || input_pending(c)))
                linger(c);
            else
                uvh_conn_close(c, c->close_reason);
            return;
        }
        /* Pipelined bytes already received belong to the next request: move them to the
         * front (the old request's slices die here) and parse them before reading more. */
        size_t left = x->in_len - x->in_parsed;
        exchange_reset(x);
        if (left == 0) {
            go_idle(c);
            return;
        }
        memmove(x->in, x->in + x->in_parsed, left);
        x->in_len = left;
        x->in_parsed = 0;
        set_state(c, UVH_CONN_READ_HEAD);
        run_parser(c);
        if (c->done_pending)
            continue; /* that one was answered at once too */
        if (between_messages(c))
            go_idle(c);
        else if (c->peer_eof && (c->state == UVH_CONN_READ_HEAD || c->state == UVH_CONN_READ_BODY))
            uvh_conn_close(c, "client closed mid-request");
        else if (c->state == UVH_CONN_READ_HEAD || c->state == UVH_CONN_READ_BODY)
            start_reading(c);
        return;
    }
}

static void parse(struct uvh_conn *c)
{
    struct exchange *x = c->x;

    x->parser.data = &x->pub.req;
    for (;;) {
        const char *data = x->in + x->in_parsed;
        size_t len = x->in_len - x->in_parsed;
        llhttp_errno_t err = llhttp_execute(&x->parser, data, len);
        if (err == HPE_OK) {
            x->in_parsed = x->in_len;
            if (x->pub.req.headers_done) {
                /* on_body has taken these bytes: the space after the head takes more body. */
                x->in_len = x->in_parsed = x->body_start;
                if (c->state != UVH_CONN_READ_BODY)
                    set_state(c, UVH_CONN_READ_BODY);
                if (uvh_router_body_pause(&x->pub))
                    stop_reading(c); /* the upload resumes us once its buffer is on disk */
            } else if (!x->pub.req.started) {
                x->in_len = x->in_parsed = 0; /* empty lines before a request line */
            } else if (x->in_len == sizeof(x->in)) {
                bool in_line = !x->pub.req.version.ptr;
                fail_request(c,
                             in_line ? UVH_STATUS_URI_TOO_LONG : UVH_STATUS_HEADER_FIELDS_TOO_LARGE,
                             in_line ? "request line too long" : "request head too large");
            }
            return;
        }
        if (err != HPE_PAUSED)
            break;
        x->in_parsed = (size_t)(llhttp_get_error_pos(&x->parser) - x->in);
        llhttp_resume(&x->parser);
        if (x->pub.req.complete) { /* on_message_complete: one whole request */
            dispatch(c);
            return;
        }
        if (!on_head(c)) /* on_headers_complete */
            return;
    }
    uvh_clog(UVH_LOG_DEBUG, c->id, "parse error %s: %s",
             llhttp_errno_name(llhttp_get_errno(&x->parser)), llhttp_get_error_reason(&x->parser));
    /* Messages always start at the front of the buffer (pipelined leftovers are moved there). */
    /* A limit a callback enforced names itself; anything else is a framing or syntax error. */
    fail_request(c, uvh_request_error_status(&x->parser, &x->pub.req, x->in, x->in_len),
                 x->pub.req.error ? llhttp_get_error_reason(&x->parser) : "malformed request");
}

/* parse(), noting (in done_pending) a response that completed while it ran. */
static void run_parser(struct uvh_conn *c)
{
    c->parsing = true;
    parse(c);
    c->parsing = false;
}

static void resume_body(struct uvh_conn *c)
{
    if (c->state == UVH_CONN_READ_BODY) {
        set_state(c, UVH_CONN_READ_BODY);
        start_reading(c);
    }
}

static void on_continue_written(uv_write_t *w, int status)
{
    struct uvh_conn *c = w->data;
    if (status < 0 && status != UV_ECANCELED)
        uvh_conn_close(c, "client went away before its body");
}

static void send_continue(struct uvh_conn *c)
{
    static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";
    uv_buf_t b = uv_buf_init((char *)line, sizeof(line) - 1);
    /* Its own write request: libuv keeps queued writes in order, so the final response can
     * never overtake it. */
    c->x->wreq_continue.data = c;
    if (uv_write(&c->x->wreq_continue, &c->io.stream, &b, 1, on_continue_written) != 0)
        uvh_conn_close(c, "write failed");
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct uvh_conn *c = h->data;
    (void)suggested;

    if (c->state == UVH_CONN_LINGER) {
        *buf = uv_buf_init(discard_buf, sizeof(discard_buf));
        return;
    }
    if (!c->x && !take_exchange(c)) {
        *buf = uv_buf_init(NULL, 0); /* on_read gets UV_ENOBUFS */
        return;
    }
    *buf = uv_buf_init(c->x->in + c->x->in_len, (unsigned)(sizeof(c->x->in) - c->x->in_len));
}

/* A connection's first bytes. From a trusted proxy (--proxy-protocol) they must be a PROXY
 * header: its source address becomes the connection's peer (what every log line shows), and the
 * header leaves the buffer, so the request starts at in[0] as always. From anyone else a PROXY
 * header is refused, since it would forge the client's address. Returns true when the request
 * may be parsed; false while more bytes are needed, or when the connection was answered. */
static bool read_proxy(struct uvh_conn *c)
{
    struct exchange *x = c->x;
    struct uvh_proxy_header h;
    const char *why;

    if (!c->proxied) {
        enum uvh_proxy_result r = uvh_proxy_detect(x->in, x->in_len);
        if (r == UVH_PROXY_NEED_MORE)
            return false;
        if (r == UVH_PROXY_DONE) {
            uvh_clog(UVH_LOG_WARN, c->id,
                     "Security: PROXY header from %s, which is not a trusted proxy "
                     "(--proxy-protocol)",
                     c->peer);
            fail_request(c, UVH_STATUS_BAD_REQUEST, "PROXY header from an untrusted peer");
            return false;
        }
        set_state(c, UVH_CONN_READ_HEAD);
        return true;
    }
    switch (uvh_proxy_parse(x->in, x->in_len, &h, &why)) {
    case UVH_PROXY_NEED_MORE:
        return false;
    case UVH_PROXY_NONE:
        why = "no PROXY header from a trusted proxy";
        /* fall through */
    case UVH_PROXY_ERROR:
        fail_request(c, UVH_STATUS_BAD_REQUEST, why);
        return false;
    case UVH_PROXY_DONE:
        break;
    }
    if (h.has_addr) {
        char proxy[sizeof(c->peer)];
        memcpy(proxy, c->peer, sizeof(proxy));
        format_peer(&h.src, c->peer, sizeof(c->peer));
        uvh_clog(UVH_LOG_DEBUG, c->id, "PROXY v%d header from %s: client %s", h.version, proxy,
                 c->peer);
    } else {
        uvh_clog(UVH_LOG_DEBUG, c->id, "PROXY v%d header from %s without a client address",
                 h.version, c->peer);
    }
    x->in_len -= h.len;
    memmove(x->in, x->in + h.len, x->in_len);
    x->start_ns = uv_hrtime();
    set_state(c, UVH_CONN_READ_HEAD);
    return true;
}

/* A request is being answered (by a handler, or its response is being written). */
static bool busy(const struct uvh_conn *c)
{
    return c->state == UVH_CONN_HANDLE || c->state == UVH_CONN_WRITE;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct uvh_conn *c = s->data;
    (void)buf;

    if (c->state == UVH_CONN_LINGER) {
        uint64_t spent = uv_now(c->env->env.loop) - c->linger_since_ms;
        if (nread < 0 || spent >= LINGER_MS)
            uvh_conn_close(c, c->close_reason);
        else if (nread > 0) /* the bytes went to discard_buf: wait for more, within LINGER_MS */
            uvh_timeout_start_at(&c->env->t_linger, &c->deadline,
                                 c->linger_since_ms + (LINGER_MS - spent < LINGER_IDLE_MS
                                                           ? LINGER_MS
                                                           : spent + LINGER_IDLE_MS));
        return;
    }
    if (nread == 0)
        return;
    if (busy(c)) {
        /* A response is on its way: keep the bytes (pipelined requests) for after it. */
        if (nread > 0) {
            c->x->in_len += (size_t)nread;
            if (c->x->in_len == sizeof(c->x->in))
                stop_reading(c); /* full: the kernel's buffer holds the rest */
            return;
        }
        if (nread == UV_EOF) {
            c->peer_eof = true; /* answer what is buffered, then close */
            stop_reading(c);
            return;
        }
        if (nread == UV_ENOBUFS) { /* a head that filled the buffer is being refused */
            stop_reading(c);
            return;
        }
    }
    if (nread < 0) {
        bool mid_request = c->x && c->x->in_len > 0;
        if (c->x && !mid_request && c->state != UVH_CONN_CLOSING)
            release_exchange(c);
        if (nread == UV_ENOBUFS) {
            uvh_clog(UVH_LOG_ERROR, c->id, "out of memory for %s's request", c->peer);
            uvh_conn_close(c, "out of memory");
        } else if (nread == UV_EOF) {
            uvh_conn_close(c, mid_request ? "client closed mid-request" : "client closed");
        } else {
            uvh_clog(UVH_LOG_DEBUG, c->id, "read from %s failed: %s", c->peer,
                     uv_strerror((int)nread));
            uvh_conn_close(c, "connection reset");
        }
        return;
    }
    /* Empty lines while idle leave the keep-alive deadline where it was. */
    bool was_idle = c->state == UVH_CONN_IDLE;
    uint64_t idle_due = c->deadline.due_ms;
    if (c->x->in_len == 0 && c->state != UVH_CONN_READ_BODY) {
        c->x->start_ns = uv_hrtime();
        if (was_idle)
            set_state(c, UVH_CONN_READ_HEAD);
    } else if (c->state == UVH_CONN_READ_BODY) {
        set_state(c, UVH_CONN_READ_BODY); /* progress: restart the body timer */
    }
    c->x->in_len += (size_t)nread;
    if (c->state == UVH_CONN_READ_PROXY && !read_proxy(c))
        return;
    run_parser(c);
    if (c->done_pending) { /* answered at once: carry on with what follows it */
        response_done(c);
        return;
    }
    if (!between_messages(c))
        return;
    if (was_idle) {
        go_idle(c);
        uvh_timeout_start_at(&c->env->t_idle, &c->deadline, idle_due);
    } else {
        release_exchange(c); /* still bounded by the request timeout of a new connection */
    }
}

static void on_timeout(struct uvh_timeout_node *n)
{
    struct uvh_conn *c = container_of(n, struct uvh_conn, deadline);

    switch (c->state) {
    case UVH_CONN_READ_PROXY:
        if (!c->x || c->x->in_len == 0)
            uvh_conn_close(c, "no request before timeout");
        else if (c->proxied)
            fail_request(c, UVH_STATUS_BAD_REQUEST, "PROXY header incomplete");
        else
            fail_request(c, UVH_STATUS_REQUEST_TIMEOUT, "request timeout");
        break;
    case UVH_CONN_IDLE:
        uvh_clog(UVH_LOG_DEBUG, c->id, "Keep-alive timeout for %s", c->peer);
        uvh_conn_close(c, "idle timeout");
        break;
    case UVH_CONN_READ_HEAD:
        if (!c->x || c->x->in_len == 0) {
            uvh_conn_close(c, "no request before timeout");
            break;
        }
        /* fall through */
    case UVH_CONN_READ_BODY:
        fail_request(c, UVH_STATUS_REQUEST_TIMEOUT, "request timeout");
        break;
    case UVH_CONN_WRITE:
        uvh_conn_close(c, "write timeout");
        break;
    case UVH_CONN_QUEUED:
        c->env->unqueue(c->env, &c->link);
        uvh_clog(UVH_LOG_WARN, c->id, "Queued connection from %s waited %u s for a slot: 503",
                 c->peer, c->env->env.cfg->request_timeout_s);
        uvh_conn_reject(c, UVH_STATUS_SERVICE_UNAVAILABLE);
        break;
    case UVH_CONN_LINGER:
        uvh_conn_close(c, c->close_reason);
        break;
    case UVH_CONN_HANDLE:
        /* The handler still owns the exchange: it sees the close when its job returns. */
        uvh_clog(UVH_LOG_ERROR, c->id, "Request from %s not answered in %u s: closing", c->peer,
                 c->env->env.cfg->request_timeout_s * UVH_CONN_HANDLE_FACTOR);
        uvh_conn_close(c, "handler timeout");
        break;
    case UVH_CONN_CLOSING:
        break;
    }
}

/* ---- the exchange API: what handlers call ---- */

void uvh_exchange_respond(struct uvh_exchange *x)
{
    respond(conn_of(x));
}

void uvh_exchange_respond_body(struct uvh_exchange *x, const char *body, size_t len)
{
    respond_with(conn_of(x), body, len);
}

void uvh_exchange_respond_error(struct uvh_exchange *x, enum uvh_status st)
{
    respond_error(conn_of(x), st);
}

void uvh_exchange_write_head(struct uvh_exchange *x, const char *body, size_t len,
                             uvh_exchange_write_cb cb)
{
    write_head(conn_of(x), body, len, cb);
}

void uvh_exchange_write_body(struct uvh_exchange *x, const char *body, size_t len,
                             uvh_exchange_write_cb cb)
{
    write_body(conn_of(x), body, len, cb);
}

int uvh_exchange_send_file(struct uvh_exchange *x, uv_file file, uint64_t offset, uint64_t len,
                           uvh_exchange_file_cb cb)
{
    return send_file(conn_of(x), file, offset, len, cb);
}

void uvh_exchange_finish(struct uvh_exchange *x)
{
    response_done(conn_of(x));
}

bool uvh_exchange_gone(const struct uvh_exchange *x)
{
    return closing(container_of(x, const struct exchange, pub)->conn);
}

void uvh_exchange_abort(struct uvh_exchange *x, const char *reason)
{
    uvh_conn_close(conn_of(x), reason);
}

void uvh_exchange_send_continue(struct uvh_exchange *x)
{
    send_continue(conn_of(x));
}

void uvh_exchange_resume_body(struct uvh_exchange *x)
{
    resume_body(conn_of(x));
}

/* ---- birth: a connection from the listener or an adopted pipe ---- */

static void format_peer(const struct sockaddr_storage *ss, char *out, size_t cap)
{
    char ip[64] = "?";
    unsigned port;
    struct uvh_strbuf b = uvh_sb(out, cap - 1);
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        uv_ip6_name(a, ip, sizeof(ip));
        port = ntohs(a->sin6_port);
        uvh_sb_char(&b, '[');
        uvh_sb_str(&b, ip);
        uvh_sb_char(&b, ']');
    } else {
        /* Dotted quad by hand: uv_ip4_name formats with snprintf, the last printf each
         * connection paid for. */
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        const unsigned char *q = (const unsigned char *)&a->sin_addr;
        port = ntohs(a->sin_port);
        for (int i = 0; i < 4; i++) {
            if (i > 0)
                uvh_sb_char(&b, '.');
            uvh_sb_u64(&b, q[i]);
        }
    }
    uvh_sb_char(&b, ':');
    uvh_sb_u64(&b, port);
    out[b.len] = '\0';
}

static void on_unborn_closed(uv_handle_t *h)
{
    free(h->data);
}

/* The stream is open: the parser and the bookkeeping follow. */
static int conn_born(struct uvh_conn *c, struct uvh_conn **out)
{
    c->refs = 1; /* the stream */
    c->id = c->env->next_id + 1;
    c->env->next_id += c->env->id_step;
    if (uvh_log_enabled(UVH_LOG_INFO)) {
        char msg[80];
        struct uvh_strbuf b = uvh_sb(msg, sizeof(msg));
        uvh_sb_str(&b, "Connection from ");
        uvh_sb_str(&b, c->peer);
        uvh_log_write_msg(UVH_LOG_INFO, c->id, msg, b.len);
    }
    *out = c;
    return 0;
}

/* A TCP client: no Nagle delay (each response is one write; on Linux the socket has it from
 * the listener), and the peer's address. */
static int tcp_born(struct uvh_conn *c, struct uvh_conn **out)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    if (!uvh_listen_inherits_nodelay())
        uv_tcp_nodelay(&c->io.tcp, 1);
    if (uv_tcp_getpeername(&c->io.tcp, (struct sockaddr *)&ss, &len) == 0) {
        format_peer(&ss, c->peer, sizeof(c->peer));
        c->proxied = uvh_proxy_trusted(&c->env->proxy_trust, (const struct sockaddr *)&ss);
    } else {
        strcpy(c->peer, "unknown");
    }
    return conn_born(c, out);
}

static void close_socket(uv_os_sock_t sock)
{
#ifdef _WIN32
    closesocket(sock);
#else
    close(sock);
#endif
}

int uvh_conn_accept(struct uvh_conn_env *e, uv_stream_t *listener, struct uvh_conn **out)
{
    struct uvh_conn *c = calloc(1, sizeof(*c));

    if (!c) {
        uvh_log(UVH_LOG_ERROR, "out of memory accepting a connection");
        return UV_ENOMEM;
    }
    c->env = e;
    int rc = uv_tcp_init(e->env.loop, &c->io.tcp);
    if (rc < 0) {
        uvh_log_uv(UVH_LOG_ERROR, rc, "accept failed");
        free(c);
        return rc;
    }
    c->io.handle.data = c;
    rc = uv_accept(listener, &c->io.stream);
    if (rc < 0) {
        uvh_log_uv(UVH_LOG_ERROR, rc, "accept failed");
        uv_close(&c->io.handle, on_unborn_closed);
        return rc;
    }
    return tcp_born(c, out);
}

int uvh_conn_open_socket(struct uvh_conn_env *e, uv_os_sock_t sock, struct uvh_conn **out)
{
    struct uvh_conn *c = calloc(1, sizeof(*c));
    int rc = c ? uv_tcp_init(e->env.loop, &c->io.tcp) : UV_ENOMEM;

    if (rc < 0) {
        uvh_log_uv(UVH_LOG_ERROR, rc, "cannot take over a connection");
        free(c);
        close_socket(sock);
        return rc;
    }
    c->env = e;
    c->io.handle.data = c;
    rc = uv_tcp_open(&c->io.tcp, sock);
    if (rc < 0) {
        uvh_log_uv(UVH_LOG_ERROR, rc, "cannot take over a connection");
        close_socket(sock);
        uv_close(&c->io.handle, on_unborn_closed);
        return rc;
    }
    return tcp_born(c, out);
}

int uvh_conn_open_pipe(struct uvh_conn_env *e, uv_file fd, struct uvh_conn **out)
{
    struct uvh_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return UV_ENOMEM;
    c->env = e;
    c->pipe = true;
    int rc = uv_tcp_init(e->env.loop, &c->io.tcp);
    if (rc < 0) {
        free(c);
        return rc;
    }
    c->io.handle.data = c;
    /* A connected socketpair end (uv_socketpair): libuv's TCP stream reads and writes it as it
     * would a TCP socket. */
    rc = uv_tcp_open(&c->io.tcp, (uv_os_sock_t)fd);
    if (rc < 0) {
        uv_close(&c->io.handle, on_unborn_closed);
        return rc;
    }
    strcpy(c->peer, "pipe");
    c->proxied = uvh_proxy_trusted(&e->proxy_trust, NULL);
    return conn_born(c, out);
}

struct uvh_conn_link *uvh_conn_link(struct uvh_conn *c)
{
    return &c->link;
}

struct uvh_conn *uvh_link_conn(struct uvh_conn_link *l)
{
    return container_of(l, struct uvh_conn, link);
}

uint64_t uvh_conn_id(const struct uvh_conn *c)
{
    return c->id;
}

const char *uvh_conn_peer(const struct uvh_conn *c)
{
    return c->peer;
}

enum uvh_conn_state uvh_conn_state(const struct uvh_conn *c)
{
    return c->state;
}

bool uvh_conn_has_exchange(const struct uvh_conn *c)
{
    return c->x != NULL;
}

void uvh_conn_stop(struct uvh_conn *c)
{
    if (c->state == UVH_CONN_IDLE || c->state == UVH_CONN_READ_HEAD ||
        c->state == UVH_CONN_READ_PROXY)
        uvh_conn_close(c, "server shutting down");
}

size_t uvh_conn_idle_bytes(void)
{
    return sizeof(struct uvh_conn);
}

size_t uvh_conn_request_bytes(void)
{
    return sizeof(struct exchange);
}

int uvh_conn_env_start(struct uvh_conn_env *e)
{
    const struct uvh_config *cfg = e->env.cfg;
    e->proxy_trust.n = 0;
    for (size_t i = 0; i < cfg->n_proxy_from; i++)
        if (uvh_proxy_parse_cidr(cfg->proxy_from[i], &e->proxy_trust.cidrs[e->proxy_trust.n]) == 0)
            e->proxy_trust.n++; /* validated by the config parser */
    uint64_t request_ms = (uint64_t)cfg->request_timeout_s * 1000;
    int rc = uvh_timeout_list_init(e->env.loop, &e->t_request, request_ms, on_timeout);
    if (rc == 0)
        rc = uvh_timeout_list_init(e->env.loop, &e->t_handle, request_ms * UVH_CONN_HANDLE_FACTOR,
                                   on_timeout);
    if (rc == 0)
        rc = uvh_timeout_list_init(e->env.loop, &e->t_idle,
                                   (uint64_t)cfg->keep_alive_timeout_s * 1000, on_timeout);
    if (rc == 0)
        rc = uvh_timeout_list_init(e->env.loop, &e->t_linger, LINGER_IDLE_MS, on_timeout);
    return rc;
}
