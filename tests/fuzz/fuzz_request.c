/* fuzz_request.c - libFuzzer target: arbitrary bytes through the server's own connection path.
 *
 * One process-wide unbound server (uvh_server_new_unbound) serves each input over one end of an
 * AF_UNIX socketpair (uvh_server_open_pipe): the real conn.c state machine, llhttp, Host checks,
 * routing, the static and upload handlers with their threadpool jobs, and no network. The other
 * end is a client pipe in the same loop that writes the input, shuts down its write side and
 * reads every response byte until the server closes. The output must frame as a sequence of
 * HTTP/1.1 responses; anything else aborts, like a sanitizer report does. See run.sh.
 *
 * PROXY protocol: an input whose first byte is 0x01 comes from a trusted proxy (the pipe peer
 * is trusted, as --proxy-protocol trusts an address), without that byte: the rest must start
 * with a PROXY v1 or v2 header. Any other input comes from an untrusted peer, which may not send
 * one. The access log (to /dev/null, in the format size % 3 picks) formats every request, and
 * /healthz is the health path.
 *
 * Environment: UVHTTPD_FUZZ_ROOT=DIR serves DIR instead of the build dir's scratch docroot (its
 * uploads/ is emptied after every input, so use a scratch directory); UVHTTPD_FUZZ_LOG=debug
 * shows the server's log; UVHTTPD_FUZZ_DUMP=1 copies each response stream to stderr. */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "config.h"
#include "log.h"
#include "process.h"
#include "server.h"

/* meson points this at a scratch copy of resources/ in the build dir (tests/fuzz/meson.build). */
#ifndef UVH_FUZZ_DEFAULT_ROOT
#error "build with tests/fuzz/meson.build (-Dfuzz=true)"
#endif

/* Output beyond this is drained but not checked (pipelined GETs of a large file). */
#define OUT_CHECK_MAX (8u * 1024 * 1024)

struct client {
    uv_pipe_t pipe;
    uv_write_t wreq;
    uv_shutdown_t sreq;
    bool closed;
    bool overflow;
    char *out;
    size_t out_len, out_cap;
};

static struct uvh_config cfg;
static struct uvh_server *srv;
static bool dump; /* UVHTTPD_FUZZ_DUMP=1: copy the server's output to stderr */
static char rbuf[64 * 1024];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *root = getenv("UVHTTPD_FUZZ_ROOT");
    const char *level = getenv("UVHTTPD_FUZZ_LOG");
    const char *d = getenv("UVHTTPD_FUZZ_DUMP");

    cfg = uvh_config_defaults;
    cfg.port = 8080;
    cfg.host = "127.0.0.1";
    cfg.threads = 2;
    cfg.root = root && *root ? root : UVH_FUZZ_DEFAULT_ROOT;
    cfg.log_level = UVH_LOG_ERROR;
    cfg.access_log = "/dev/null";
    cfg.health_path = "/healthz";
    if (level && uvh_log_parse_level(level, &cfg.log_level) != 0)
        fprintf(stderr, "fuzz_request: ignoring UVHTTPD_FUZZ_LOG=%s\n", level);
    uvh_log_threshold = cfg.log_level;
    dump = d && *d && strcmp(d, "0") != 0;
    uvh_process_init(); /* as main() does: SIGPIPE ignored, the binary's malloc and jansson setup */
    uvh_pool_set_size(cfg.threads);
    if (uvh_server_new_unbound(&cfg, &srv) != 0) {
        fprintf(stderr, "fuzz_request: cannot start a server on %s (set UVHTTPD_FUZZ_ROOT)\n",
                cfg.root);
        exit(1);
    }
    /* libFuzzer installs its SIGINT/SIGTERM handlers after this returns, but only where none is
     * set: give the signals back so Ctrl+C prints the final stats instead of stopping the server
     * (which would change how every later input is answered). */
    uv_signal_stop(&srv->sigint);
    uv_signal_stop(&srv->sigterm);
    /* Only uvh_server_stop needs the stop handle; unreferenced, it no longer keeps the loop
     * alive, so uv_run returns once every handle and request of an input has finished. */
    uv_unref((uv_handle_t *)&srv->w[0].mail);
    return 0;
}

/* Every input starts from the same docroot: what an upload stored is removed. */
static void clear_uploads(void)
{
    char dir[UVH_PATH_MAX + 16];
    snprintf(dir, sizeof(dir), "%s/uploads", srv->root);
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
}

static void on_client_closed(uv_handle_t *h)
{
    struct client *cl = h->data;
    cl->closed = true;
}

static void client_close(struct client *cl)
{
    if (!uv_is_closing((uv_handle_t *)&cl->pipe))
        uv_close((uv_handle_t *)&cl->pipe, on_client_closed);
}

static void on_written(uv_write_t *w, int status)
{
    (void)w;
    (void)status; /* EPIPE/ECONNRESET when the server closed first: reading ends it */
}

static void on_shutdown(uv_shutdown_t *r, int status)
{
    (void)r;
    (void)status;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(rbuf, sizeof(rbuf));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct client *cl = s->data;

    if (nread < 0) { /* EOF once the server has closed, or a reset */
        client_close(cl);
        return;
    }
    if (nread == 0 || cl->overflow)
        return;
    if (cl->out_len + (size_t)nread > OUT_CHECK_MAX) {
        cl->overflow = true;
        return;
    }
    if (cl->out_len + (size_t)nread > cl->out_cap) {
        size_t cap = cl->out_cap ? cl->out_cap : 4096;
        while (cap < cl->out_len + (size_t)nread)
            cap *= 2;
        char *p = realloc(cl->out, cap);
        if (!p)
            abort();
        cl->out = p;
        cl->out_cap = cap;
    }
    memcpy(cl->out + cl->out_len, buf->base, (size_t)nread);
    cl->out_len += (size_t)nread;
}

static void framing_error(const char *why, const char *out, size_t len, size_t at)
{
    fprintf(stderr, "fuzz_request: bad response framing at byte %zu of %zu: %s\n", at, len, why);
    fprintf(stderr, "----- output from there (up to 512 bytes) -----\n");
    fwrite(out + at, 1, len - at < 512 ? len - at : 512, stderr);
    fprintf(stderr, "\n-----\n");
    abort();
}

static bool starts_response(const char *p, size_t n)
{
    return n >= 9 && memcmp(p, "HTTP/1.1 ", 9) == 0;
}

/* Finds "\r\nName:" in the head and parses its value as a decimal; -1 when absent or bad. */
static long long header_number(const char *head, size_t len, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i + 2 + nl + 1 <= len; i++) {
        if (head[i] != '\r' || head[i + 1] != '\n')
            continue;
        const char *f = head + i + 2;
        size_t k = 0;
        while (k < nl && (f[k] | 0x20) == (name[k] | 0x20))
            k++;
        if (k < nl || f[nl] != ':')
            continue;
        const char *v = f + nl + 1, *end = head + len;
        while (v < end && *v == ' ')
            v++;
        long long n = 0;
        if (v == end || *v < '0' || *v > '9')
            return -1;
        while (v < end && *v >= '0' && *v <= '9' && n < (1LL << 50))
            n = n * 10 + (*v++ - '0');
        return n < (1LL << 50) ? n : -1;
    }
    return -1;
}

/* The server only ever writes whole HTTP/1.1 responses: a status line, a head ending in an
 * empty line, and for statuses with a body exactly Content-Length bytes, or none after HEAD
 * (which request was a HEAD is not tracked: the next bytes tell). */
static void check_framing(const char *out, size_t len)
{
    size_t at = 0;
    while (at < len) {
        const char *p = out + at;
        size_t n = len - at;
        if (!starts_response(p, n) || n < 13 || p[9] < '1' || p[9] > '5' || p[10] < '0' ||
            p[10] > '9' || p[11] < '0' || p[11] > '9' || p[12] != ' ')
            framing_error("no HTTP/1.1 status line", out, len, at);
        const char *end = NULL;
        for (size_t i = 0; i + 4 <= n; i++)
            if (memcmp(p + i, "\r\n\r\n", 4) == 0) {
                end = p + i + 4;
                break;
            }
        if (!end)
            framing_error("head not terminated", out, len, at);
        size_t head_len = (size_t)(end - p);
        int status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
        long long cl = header_number(p, head_len, "Content-Length");
        bool bodyless = status < 200 || status == 204 || status == 304;
        at += head_len;
        if (bodyless) {
            if (cl >= 0)
                framing_error("Content-Length on a bodyless status", out, len, at - head_len);
            continue;
        }
        if (cl < 0)
            framing_error("no Content-Length", out, len, at - head_len);
        size_t rest = len - at, body = (size_t)cl;
        if (body <= rest && (rest == body || starts_response(out + at + body, rest - body)))
            at += body; /* the body, then the end or the next response */
        else if (rest > 0 && !starts_response(out + at, rest))
            framing_error("body does not match Content-Length", out, len, at - head_len);
        /* else no body: a HEAD response (or a cut-off last one) */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uv_os_sock_t fds[2];
    struct client cl = {0};
    bool proxied = size > 0 && data[0] == 0x01;

    if (proxied) {
        data++;
        size--;
    }
    srv->w[0].cenv.proxy_trust.pipes = proxied;
    srv->w[0].access_log.format = (enum uvh_access_format)(size % 3);

    if (uv_socketpair(SOCK_STREAM, 0, fds, 0, 0) != 0)
        abort();
    if (uvh_server_open_pipe(srv, fds[0]) != 0)
        abort();
    uv_pipe_init(&srv->w[0].loop, &cl.pipe, 0);
    cl.pipe.data = &cl;
    if (uv_pipe_open(&cl.pipe, fds[1]) != 0)
        abort();

    uv_buf_t b = uv_buf_init((char *)data, (unsigned)size);
    if (size > 0)
        uv_write(&cl.wreq, (uv_stream_t *)&cl.pipe, &b, 1, on_written);
    uv_shutdown(&cl.sreq, (uv_stream_t *)&cl.pipe, on_shutdown);
    uv_read_start((uv_stream_t *)&cl.pipe, on_alloc, on_read);

    /* Runs until nothing is left: both ends closed, and every file-system request and
     * threadpool job the input started has called back. A hang here is a bug; libFuzzer's
     * -timeout reports it. */
    uv_run(&srv->w[0].loop, UV_RUN_DEFAULT);
    if (!cl.closed || srv->n_conns != 0) {
        fprintf(stderr,
                "fuzz_request: the loop went idle with the client %s and %zu connection%s "
                "not freed\n",
                cl.closed ? "closed" : "open", srv->n_conns, srv->n_conns == 1 ? "" : "s");
        abort();
    }

    if (dump) {
        fwrite(cl.out, 1, cl.out_len, stderr);
        fprintf(stderr, "\n[fuzz_request: %zu response bytes%s]\n", cl.out_len,
                cl.overflow ? ", more not kept" : "");
    }
    if (!cl.overflow)
        check_framing(cl.out, cl.out_len);
    free(cl.out);
    clear_uploads();
    return 0;
}
