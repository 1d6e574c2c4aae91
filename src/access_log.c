/* access_log.c - owns the access log file: formats one line per request (CLF, Combined, JSON),
 * batches lines in two bounded buffers and appends them through the threadpool, one write in
 * flight, and reopens the file on request. The loop thread never waits for the disk here, except
 * at start-up (open) and after the loop has ended (the last lines). */
#include "access_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

static const char *const format_names[] = {"combined", "common", "json"};
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

const char *uvh_access_log_format_name(enum uvh_access_format f)
{
    return format_names[f];
}

int uvh_access_log_parse_format(const char *s, enum uvh_access_format *out)
{
    for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
        if (strcmp(s, format_names[i]) == 0) {
            *out = (enum uvh_access_format)i;
            return 0;
        }
    }
    return UV_EINVAL;
}

/* ---- one line ---- */

/* Local time as CLF's "10/Oct/2000:13:55:36 -0700" and ISO 8601's "2000-10-10T13:55:36-07:00",
 * formatted again only when the second changes. The offset is computed from localtime and
 * gmtime: strftime's %z is not numeric on Windows. */
static _Thread_local time_t stamp_sec = (time_t)-1;
static _Thread_local char stamp_clf[64], stamp_iso[64];

static void format_times(time_t t)
{
    struct tm l, g;
    if (t == stamp_sec)
        return;
#ifdef _WIN32
    localtime_s(&l, &t);
    gmtime_s(&g, &t);
#else
    localtime_r(&t, &l);
    gmtime_r(&t, &g);
#endif
    int days = l.tm_year != g.tm_year ? (l.tm_year > g.tm_year ? 1 : -1) : l.tm_yday - g.tm_yday;
    int off = days * 1440 + (l.tm_hour - g.tm_hour) * 60 + (l.tm_min - g.tm_min);
    char sign = off < 0 ? '-' : '+';
    int a = off < 0 ? -off : off;
    snprintf(stamp_clf, sizeof(stamp_clf), "%02d/%s/%04d:%02d:%02d:%02d %c%02d%02d", l.tm_mday,
             months[l.tm_mon % 12], l.tm_year + 1900, l.tm_hour, l.tm_min, l.tm_sec, sign, a / 60,
             a % 60);
    snprintf(stamp_iso, sizeof(stamp_iso), "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d",
             l.tm_year + 1900, l.tm_mon + 1, l.tm_mday, l.tm_hour, l.tm_min, l.tm_sec, sign, a / 60,
             a % 60);
    stamp_sec = t;
}

/* The client's address without its port: "1.2.3.4:5" -> "1.2.3.4", "[::1]:5" -> "::1". */
static struct uvh_slice peer_host(const char *peer)
{
    struct uvh_slice s = uvh_slice_from(peer ? peer : "-");
    if (s.len > 2 && s.ptr[0] == '[') {
        const char *close = memchr(s.ptr, ']', s.len);
        if (close)
            return (struct uvh_slice){s.ptr + 1, (size_t)(close - s.ptr - 1)};
    }
    const char *colon = memchr(s.ptr, ':', s.len);
    if (colon && !memchr(colon + 1, ':', s.len - (size_t)(colon + 1 - s.ptr)))
        s.len = (size_t)(colon - s.ptr);
    return s;
}

/* A CLF field: escaped as the diagnostic log does (quotes, backslashes, control and non-ASCII
 * bytes become \xNN), "-" when absent. */
static const char *clf_field(char *dst, size_t cap, struct uvh_slice v)
{
    if (!v.ptr)
        return "-";
    return uvh_log_escape(dst, cap, v);
}

/* A JSON string value with its quotes, or null; every byte outside printable ASCII, and '"' and
 * '\', is escaped, so the line is valid JSON whatever the client sent (a byte >= 0x80 is
 * written as the code point of the same value). Shortened with "..." to fit cap. */
static size_t json_str(char *dst, size_t cap, struct uvh_slice v)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (!v.ptr) {
        memcpy(dst, "null", 4);
        return 4;
    }
    dst[o++] = '"';
    for (size_t i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.ptr[i];
        if (o + 6 + 4 + 1 > cap) { /* room for this escape, "..." and the quote */
            memcpy(dst + o, "...", 3);
            o += 3;
            break;
        }
        if (c == '"' || c == '\\') {
            dst[o++] = '\\';
            dst[o++] = (char)c;
        } else if (c >= 0x20 && c < 0x7f) {
            dst[o++] = (char)c;
        } else {
            memcpy(dst + o, "\\u00", 4);
            dst[o + 4] = hex[c >> 4];
            dst[o + 5] = hex[c & 15];
            o += 6;
        }
    }
    dst[o++] = '"';
    return o;
}

static size_t format_clf(const struct uvh_access_entry *e, bool combined, char *dst)
{
    char host[80], method[40], target[2048], version[24], referer[1024], agent[512];
    char request[sizeof(method) + sizeof(target) + sizeof(version) + 8] = "-", bytes[24] = "-";
    struct uvh_slice h = peer_host(e->peer);

    if (e->method.ptr && e->target.ptr && e->version.ptr)
        snprintf(request, sizeof(request), "%s %s HTTP/%s",
                 uvh_log_escape(method, sizeof(method), e->method),
                 uvh_log_escape(target, sizeof(target), e->target),
                 uvh_log_escape(version, sizeof(version), e->version));
    else if (e->raw_line.len) /* a malformed or cut request: what came, escaped */
        uvh_log_escape(request, sizeof(target), e->raw_line);
    if (e->body_bytes)
        snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)e->body_bytes);
    int n = snprintf(dst, UVH_ACCESS_LINE_MAX, "%s - - [%s] \"%s\" %d %s",
                     uvh_log_escape(host, sizeof(host), h), stamp_clf, request, e->status, bytes);
    size_t len = n < 0 ? 0 : (size_t)n;
    if (combined && len < UVH_ACCESS_LINE_MAX) {
        n = snprintf(dst + len, UVH_ACCESS_LINE_MAX - len, " \"%s\" \"%s\"",
                     clf_field(referer, sizeof(referer), e->referer),
                     clf_field(agent, sizeof(agent), e->user_agent));
        len += n < 0 ? 0 : (size_t)n;
    }
    if (len > UVH_ACCESS_LINE_MAX - 1)
        len = UVH_ACCESS_LINE_MAX - 1;
    dst[len++] = '\n';
    return len;
}

static size_t format_json(const struct uvh_access_entry *e, char *dst)
{
    char *p = dst;
    struct uvh_slice none = {NULL, 0};
    /* Field budgets (3,376 bytes) and the fixed text stay under UVH_ACCESS_LINE_MAX. */
    p += sprintf(p, "{\"time\":\"%s\",\"client\":", stamp_iso);
    p += json_str(p, 80, peer_host(e->peer));
    p += sprintf(p, ",\"request\":");
    p += json_str(p, 900, e->raw_line.len ? e->raw_line : none);
    p += sprintf(p, ",\"method\":");
    p += json_str(p, 40, e->method.ptr ? e->method : none);
    p += sprintf(p, ",\"target\":");
    p += json_str(p, 900, e->method.ptr ? e->target : none);
    p += sprintf(p, ",\"protocol\":");
    if (e->method.ptr && e->version.ptr && e->version.len <= 8)
        p += sprintf(p, "\"HTTP/%.*s\"", (int)e->version.len, e->version.ptr);
    else
        p += sprintf(p, "null");
    p += sprintf(p, ",\"status\":%d,\"bytes\":%llu,\"host\":", e->status,
                 (unsigned long long)e->body_bytes);
    p += json_str(p, 256, e->host);
    p += sprintf(p, ",\"referer\":");
    p += json_str(p, 700, e->referer);
    p += sprintf(p, ",\"user_agent\":");
    p += json_str(p, 500, e->user_agent);
    p += sprintf(p, ",\"duration_ms\":%.3f}\n", e->ms < 0 ? 0.0 : e->ms > 1e9 ? 1e9 : e->ms);
    return (size_t)(p - dst);
}

size_t uvh_access_log_format_line(enum uvh_access_format f, const struct uvh_access_entry *e,
                                  char *dst)
{
    format_times(e->when);
    switch (f) {
    case UVH_ACCESS_COMMON:
        return format_clf(e, false, dst);
    case UVH_ACCESS_JSON:
        return format_json(e, dst);
    case UVH_ACCESS_COMBINED:
        break;
    }
    return format_clf(e, true, dst);
}

/* ---- the file ---- */

int uvh_access_log_open(struct uvh_access_log *l, uv_loop_t *loop, const char *path,
                        enum uvh_access_format f)
{
    uv_fs_t req;
    memset(l, 0, sizeof(*l));
    l->fd = -1;
    l->buf[0] = malloc(UVH_ACCESS_BUF);
    l->buf[1] = malloc(UVH_ACCESS_BUF);
    if (!l->buf[0] || !l->buf[1]) {
        free(l->buf[0]);
        free(l->buf[1]);
        l->buf[0] = l->buf[1] = NULL;
        uvh_log(UVH_LOG_ERROR, "out of memory for the access log");
        return UV_ENOMEM;
    }
    int rc =
        uv_fs_open(NULL, &req, path, UV_FS_O_WRONLY | UV_FS_O_APPEND | UV_FS_O_CREAT, 0644, NULL);
    uv_fs_req_cleanup(&req);
    if (rc < 0) {
        uvh_log_uv(UVH_LOG_ERROR, rc, "Cannot open the access log %s", path);
        free(l->buf[0]);
        free(l->buf[1]);
        l->buf[0] = l->buf[1] = NULL;
        return rc;
    }
    l->loop = loop;
    l->path = path;
    l->format = f;
    l->fd = rc;
    return 0;
}

static void on_written(uv_fs_t *req);

static void write_rest(struct uvh_access_log *l)
{
    int w = l->fill ^ 1;
    uv_buf_t b = uv_buf_init(l->buf[w] + l->written, (unsigned)(l->len[w] - l->written));
    /* Offset -1: the file position, which O_APPEND puts at the end for every write. */
    int rc = uv_fs_write(l->loop, &l->wreq, l->fd, &b, 1, -1, on_written);
    if (rc < 0) {
        l->wreq.result = rc;
        on_written(&l->wreq);
    }
}

static uint64_t count_lines(const char *p, size_t n)
{
    uint64_t lines = 0;
    for (const char *q = p, *end = p + n; (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++)
        lines++;
    return lines;
}

static void on_written(uv_fs_t *req)
{
    struct uvh_access_log *l = container_of(req, struct uvh_access_log, wreq);
    ssize_t r = req->result;
    int w = l->fill ^ 1;

    uv_fs_req_cleanup(req);
    if (r < 0) {
        /* Disk full, I/O error: the batch is lost; say how many lines, and keep going. */
        uint64_t lost = count_lines(l->buf[w] + l->written, l->len[w] - l->written);
        l->dropped += lost;
        uvh_log_uv(UVH_LOG_ERROR, (int)r, "Cannot write %llu line(s) to the access log %s",
                   (unsigned long long)lost, l->path);
    } else {
        l->written += (size_t)r;
        if (l->written < l->len[w] && r > 0) {
            write_rest(l); /* a short write: the rest of the batch, before anything else */
            return;
        }
    }
    l->len[w] = 0;
    l->writing = false;
}

static void start_write(struct uvh_access_log *l)
{
    l->fill ^= 1; /* the other buffer is empty: its write finished */
    l->written = 0;
    l->writing = true;
    write_rest(l);
}

static void reopen_finished(struct uvh_access_log *l)
{
    if (l->reopen_wanted) /* another SIGHUP came meanwhile: report once that one is done */
        return;
    uvh_access_log_reopened_cb cb = l->on_reopened;
    l->on_reopened = NULL;
    if (cb)
        cb(l->on_reopened_arg);
}

static void on_old_closed(uv_fs_t *req)
{
    struct uvh_access_log *l = container_of(req, struct uvh_access_log, creq);
    uv_fs_req_cleanup(req);
    l->closing_old = false;
    uvh_log(UVH_LOG_INFO, "Access log reopened: %s", l->path);
    reopen_finished(l);
}

static void on_reopen_open(uv_fs_t *req)
{
    struct uvh_access_log *l = container_of(req, struct uvh_access_log, oreq);
    ssize_t r = req->result;
    uv_fs_req_cleanup(req);
    l->opening = false;
    if (r < 0) {
        uvh_log_uv(UVH_LOG_ERROR, (int)r,
                   "Cannot reopen the access log %s (lines go on to the file already open)",
                   l->path);
        reopen_finished(l);
        return;
    }
    uv_file old = l->fd;
    l->fd = (uv_file)r; /* from here on every batch goes to the new file */
    l->closing_old = true;
    if (uv_fs_close(l->loop, &l->creq, old, on_old_closed) < 0) {
        l->creq.result = 0;
        on_old_closed(&l->creq);
    }
}

static void start_reopen(struct uvh_access_log *l)
{
    l->reopen_wanted = false;
    l->opening = true;
    int rc = uv_fs_open(l->loop, &l->oreq, l->path, UV_FS_O_WRONLY | UV_FS_O_APPEND | UV_FS_O_CREAT,
                        0644, on_reopen_open);
    if (rc < 0) {
        l->oreq.result = rc;
        on_reopen_open(&l->oreq);
    }
}

void uvh_access_log_flush(struct uvh_access_log *l)
{
    if (l->fd < 0)
        return;
    if (l->dropped > l->dropped_reported) {
        uint64_t now = uv_now(l->loop);
        if (l->drop_logged_ms == 0 || now - l->drop_logged_ms >= 1000) {
            uvh_log(UVH_LOG_WARN,
                    "Warning: %llu access log line(s) dropped (the disk is not keeping up)",
                    (unsigned long long)(l->dropped - l->dropped_reported));
            l->dropped_reported = l->dropped;
            l->drop_logged_ms = now ? now : 1;
        }
    }
    /* A reopen waits for the write in flight, and batches wait while the new file is opened: a
     * batch always goes whole to one file. The old file is closed while batches go on. */
    if (l->writing || l->opening)
        return;
    if (l->reopen_wanted && !l->closing_old) {
        start_reopen(l);
        return;
    }
    if (l->len[l->fill] > 0)
        start_write(l);
}

void uvh_access_log_add(struct uvh_access_log *l, const struct uvh_access_entry *e)
{
    static _Thread_local char line[UVH_ACCESS_LINE_MAX];

    if (l->fd < 0)
        return;
    size_t n = uvh_access_log_format_line(l->format, e, line);
    if (l->len[l->fill] + n > UVH_ACCESS_BUF && !l->writing && !l->opening)
        start_write(l); /* a burst within one iteration: write now, fill the other buffer */
    if (l->len[l->fill] + n > UVH_ACCESS_BUF) {
        l->dropped++;
        return;
    }
    memcpy(l->buf[l->fill] + l->len[l->fill], line, n);
    l->len[l->fill] += n;
}

void uvh_access_log_reopen(struct uvh_access_log *l, uvh_access_log_reopened_cb cb, void *arg)
{
    if (l->fd < 0) {
        if (cb)
            cb(arg);
        return;
    }
    l->on_reopened = cb;
    l->on_reopened_arg = arg;
    l->reopen_wanted = true;
    uvh_access_log_flush(l);
}

void uvh_access_log_close(struct uvh_access_log *l)
{
    uv_fs_t req;
    if (l->fd < 0)
        return;
    /* The loop has ended, so nothing is in flight: the filling buffer is all that is left. */
    for (size_t off = 0; off < l->len[l->fill];) {
        uv_buf_t b = uv_buf_init(l->buf[l->fill] + off, (unsigned)(l->len[l->fill] - off));
        int rc = uv_fs_write(NULL, &req, l->fd, &b, 1, -1, NULL);
        uv_fs_req_cleanup(&req);
        if (rc <= 0) {
            uvh_log_uv(UVH_LOG_ERROR, rc, "Cannot write the access log %s", l->path);
            break;
        }
        off += (size_t)rc;
    }
    if (l->dropped > 0)
        uvh_log(UVH_LOG_WARN, "Access log: %llu line(s) dropped in all",
                (unsigned long long)l->dropped);
    uv_fs_close(NULL, &req, l->fd, NULL);
    uv_fs_req_cleanup(&req);
    l->fd = -1;
    free(l->buf[0]);
    free(l->buf[1]);
    l->buf[0] = l->buf[1] = NULL;
}
