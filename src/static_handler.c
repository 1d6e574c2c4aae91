/* static_handler.c - owns GET/HEAD of files: path -> open -> fstat -> validators, ranges ->
 * head -> body. Every file-system call runs in a threadpool job; one job or one write is in
 * flight at a time, and the descriptor is closed before the request ends. */
#include "static_handler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conditional.h"
#include "date.h"
#include "file_cache.h"
#include "log.h"
#include "mime.h"
#include "path.h"
#include "range.h"
#include "request.h"

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#define FREE_FILES_MAX 16

/* File states between requests, per loop thread. */
static _Thread_local struct uvh_static_file *free_files;
static _Thread_local unsigned n_free_files;

/* This thread's file cache (see cache_of). */
static _Thread_local struct uvh_fc cache;
static _Thread_local bool cache_on;

static struct uvh_static_file *file_new(struct uvh_exchange *x)
{
    struct uvh_static_file *f = free_files;
    if (f) {
        free_files = f->next_free;
        n_free_files--;
    } else if (!(f = malloc(sizeof(*f)))) {
        return NULL;
    }
    f->x = x;
    f->env = x->env;
    f->fd = -1;
    f->offset = 0;
    f->remaining = 0;
    f->chunk = NULL;
    f->chunk_len = 0;
    f->chunk_cap = 0;
    f->ranges.count = 0;
    f->part = 0;
    f->index_tried = 0;
    f->escaped = false;
    f->preloaded = false;
    f->cached_etag = f->cached_lm = NULL;
    f->cached_etag_len = 0;
    f->result = 0;
    f->path_len = 0;
    f->after_close = UVH_STATUS_NONE;
    return f;
}

void uvh_static_stop(void)
{
    if (cache_on) {
        uint64_t asked = cache.hits + cache.misses + cache.stale;
        uvh_log(UVH_LOG_INFO,
                "File cache: %llu entries, %llu of %llu bytes; %llu hits, %llu misses, %llu stale, "
                "%llu evicted (hit ratio %.1f%%)",
                (unsigned long long)cache.n, (unsigned long long)cache.used,
                (unsigned long long)cache.budget, (unsigned long long)cache.hits,
                (unsigned long long)cache.misses, (unsigned long long)cache.stale,
                (unsigned long long)cache.evictions,
                asked ? 100.0 * (double)cache.hits / (double)asked : 0.0);
        uvh_fc_deinit(&cache);
        cache_on = false;
    }
    while (free_files) {
        struct uvh_static_file *f = free_files;
        free_files = f->next_free;
        free(f);
    }
    n_free_files = 0;
}

void uvh_static_release(struct uvh_exchange *x)
{
    struct uvh_static_file *f = x->h.file;
    x->h.file = NULL;
    if (!f)
        return;
    if (n_free_files >= FREE_FILES_MAX) {
        free(f);
        return;
    }
    f->next_free = free_files;
    free_files = f;
    n_free_files++;
}

/* errno -> status and log level in one place (nginx ngx_http_static_module). */
static enum uvh_status status_for_error(int err, enum uvh_log_level *level)
{
    switch (err) {
    case UV_ENOENT:
    case UV_ENOTDIR:
    case UV_ENAMETOOLONG:
        *level = UVH_LOG_DEBUG;
        return UVH_STATUS_NOT_FOUND;
    case UV_EACCES:
    case UV_EPERM:
    case UV_ELOOP:
        *level = UVH_LOG_WARN;
        return UVH_STATUS_FORBIDDEN;
    case UV_EMFILE:
    case UV_ENFILE:
        *level = UVH_LOG_ERROR;
        return UVH_STATUS_SERVICE_UNAVAILABLE;
    default:
        *level = UVH_LOG_ERROR;
        return UVH_STATUS_INTERNAL_SERVER_ERROR;
    }
}

/* Ends the request once no descriptor is open: st NONE means everything was sent, OK sends
 * the prepared response, anything else sends that error page. */
static void finish(struct uvh_exchange *x, enum uvh_status st)
{
    struct uvh_static_file *f = x->h.file;
    free(f->chunk);
    f->chunk = NULL;
    if (st == UVH_STATUS_NONE || uvh_exchange_gone(x))
        uvh_exchange_finish(x);
    else if (st == UVH_STATUS_OK)
        uvh_exchange_respond(x);
    else
        uvh_exchange_respond_error(x, st);
}

static void close_work(struct uvh_job *j)
{
    struct uvh_static_file *f = container_of(j, struct uvh_static_file, job);
    uv_fs_t req;
    uv_fs_close(NULL, &req, f->fd, NULL);
    uv_fs_req_cleanup(&req);
}

static void on_closed(struct uvh_job *j, int status)
{
    struct uvh_static_file *f = container_of(j, struct uvh_static_file, job);
    (void)status;
    f->fd = -1;
    finish(f->x, f->after_close);
}

/* Closes the descriptor (if open) on the threadpool, then finishes with st. */
static void close_then(struct uvh_exchange *x, enum uvh_status st)
{
    struct uvh_static_file *f = x->h.file;
    f->after_close = st;
    if (f->fd >= 0 && uvh_exchange_submit(x, &f->job, close_work, on_closed) == 0)
        return;
    f->fd = -1; /* cannot queue the close: the descriptor leaks rather than block the loop */
    finish(x, st);
}

static struct uvh_slice basename_of(const struct uvh_static_file *f)
{
    size_t i = f->path_len;
    while (i > 0 && f->path[i - 1] != '/')
        i--;
    return (struct uvh_slice){f->path + i, f->path_len - i};
}

static void read_next(struct uvh_exchange *x);
static void fill_parts(struct uvh_exchange *x);

static void on_chunk_written(struct uvh_exchange *x, int status)
{
    struct uvh_static_file *f = x->h.file;
    if (status < 0 || uvh_exchange_gone(x) || f->remaining == 0)
        close_then(x, UVH_STATUS_NONE);
    else
        read_next(x);
}

/* Sends what remains of the body through one buffer: a read job, then its write, then the next
 * read. The head goes with the first bytes unless it went out already. */
static void stream_chunks(struct uvh_exchange *x)
{
    struct uvh_static_file *f = x->h.file;
    if (f->remaining > sizeof(f->small)) {
        f->chunk = malloc(UVH_FILE_CHUNK);
        if (!f->chunk) {
            if (x->res.head_len > 0)
                uvh_exchange_abort(x, "out of memory");
            close_then(x, x->res.head_len > 0 ? UVH_STATUS_NONE : UVH_STATUS_SERVICE_UNAVAILABLE);
            return;
        }
        f->chunk_cap = UVH_FILE_CHUNK;
    }
    f->chunk_len = 0;
    read_next(x);
}

/* The sendfile of the body ended. A file error leaves the connection open: the rest goes
 * through reads, which report the error if it persists (a file that shrank: "unexpected end of
 * file", then the connection ends since the promised length cannot be met). */
static void on_file_sent(struct uvh_exchange *x, uint64_t sent, int status)
{
    struct uvh_static_file *f = x->h.file;
    f->offset += sent;
    f->remaining -= sent;
    if (status == 0 || status == UV_ECANCELED || uvh_exchange_gone(x)) {
        close_then(x, UVH_STATUS_NONE);
        return;
    }
    uvh_clog(UVH_LOG_DEBUG, x->id, "sendfile of %s stopped at offset %llu: %s; reading instead",
             f->path, (unsigned long long)f->offset, uv_strerror(status));
    stream_chunks(x);
}

/* Threadpool: one read into f->rbuf; the result is the byte count or a libuv error. */
static void read_work(struct uvh_job *j)
{
    struct uvh_static_file *f = container_of(j, struct uvh_static_file, job);
    uv_fs_t req;
    f->result = uv_fs_read(NULL, &req, f->fd, &f->rbuf, 1, (int64_t)f->offset, NULL);
    uv_fs_req_cleanup(&req);
}

/* A read failed or came up short: nothing sent yet means 500, else the promised length cannot
 * be met and the connection must end. */
static void read_failed(struct uvh_exchange *x)
{
    if (x->res.head_len == 0) {
        close_then(x, UVH_STATUS_INTERNAL_SERVER_ERROR);
    } else {
        uvh_exchange_abort(x, "file read error");
        close_then(x, UVH_STATUS_NONE);
    }
}

static void on_read_done(struct uvh_job *j, int status)
{
    struct uvh_static_file *f = container_of(j, struct uvh_static_file, job);
    struct uvh_exchange *x = f->x;
    ssize_t n = status < 0 ? status : f->result;
    bool head_sent = x->res.head_len > 0;
    char *buf = f->chunk ? f->chunk : f->small;

    if (uvh_exchange_gone(x)) {
        close_then(x, UVH_STATUS_NONE);
        return;
    }
    if (n <= 0) {
        uvh_clog(UVH_LOG_ERROR, x->id, "read of %s failed at offset %llu: %s", f->path,
                 (unsigned long long)f->offset,
                 n < 0 ? uv_strerror((int)n) : "unexpected end of file");
        read_failed(x);
        return;
    }
    f->offset += (uint64_t)n;
    f->remaining -= (uint64_t)n;
    f->chunk_len += (size_t)n;
    if (f->ranges.count > 1) {
        fill_parts(x);
        return;
    }
    if (!f->chunk && f->remaining > 0) { /* a short read of a small body: read the rest */
        read_next(x);
        return;
    }
    size_t len = f->chunk_len;
    f->chunk_len = 0;
    if (!head_sent)
        uvh_exchange_write_head(x, buf, len, on_chunk_written);
    else
        uvh_exchange_write_body(x, buf, len, on_chunk_written);
}

static void read_next(struct uvh_exchange *x)
{
    struct uvh_static_file *f = x->h.file;
    char *base = f->chunk ? f->chunk : f->small;
    size_t cap = f->chunk ? f->chunk_cap : sizeof(f->small);
    size_t want = f->remaining < cap - f->chunk_len ? (size_t)f->remaining : cap - f->chunk_len;

    f->rbuf = uv_buf_init(base + f->chunk_len, (unsigned)want);
    int rc = uvh_exchange_submit(x, &f->job, read_work, on_read_done);
    if (rc < 0) {
        uvh_clog(UVH_LOG_ERROR, x->id, "cannot read %s: %s", f->path, uv_strerror(rc));
        read_failed(x);
    }
}

/* The delimiter before part i with that part's head, or for i == ranges.count the close
 * delimiter (RFC 9110 section 14.6, RFC 2046 section 5.1.1). Every delimiter but the first
 * begins with the CRLF that ends the previous part. Returns its length, as snprintf does. */
static size_t format_delimiter(const struct uvh_static_file *f, size_t i, char *out, size_t cap)
{
    int n;
    if (i == f->ranges.count) {
        n = snprintf(out, cap, "\r\n--%s--\r\n", f->boundary);
    } else {
        const struct uvh_range *r = &f->ranges.r[i];
        n = snprintf(
            out, cap, "%s--%s\r\nContent-Type: %s\r\nContent-Range: bytes %llu-%llu/%llu\r\n\r\n",
            i > 0 ? "\r\n" : "", f->boundary, f->part_type, (unsigned long long)r->start,
            (unsigned long long)(r->start + r->len - 1), (unsigned long long)f->st.st_size);
    }
    return n > 0 ? (size_t)n : 0;
}

/* A fresh random boundary per response, so that no file can be made to contain it. Without an
 * entropy source the clock and the connection id still make it unique. */
static void make_boundary(const struct uvh_exchange *x, char *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char rnd[UVH_BOUNDARY_LEN / 2];

    if (uv_random(NULL, NULL, rnd, sizeof(rnd), 0, NULL) != 0) {
        uint64_t t = uv_hrtime(), id = x->id;
        memcpy(rnd, &t, sizeof(t));
        memcpy(rnd + sizeof(t), &id, sizeof(rnd) - sizeof(t));
    }
    for (size_t i = 0; i < sizeof(rnd); i++) {
        out[2 * i] = hex[rnd[i] >> 4];
        out[2 * i + 1] = hex[rnd[i] & 15];
    }
    out[UVH_BOUNDARY_LEN] = '\0';
}

static void on_parts_written(struct uvh_exchange *x, int status)
{
    struct uvh_static_file *f = x->h.file;
    bool done = f->part > f->ranges.count && f->remaining == 0;
    if (status < 0 || uvh_exchange_gone(x) || done)
        close_then(x, UVH_STATUS_NONE);
    else
        fill_parts(x);
}

/* Fills f->chunk with delimiters and part bytes, copied from f->small when preloaded and else
 * read on the threadpool (on_read_done comes back here), and writes it out when it is full or
 * holds the rest of the body; on_parts_written comes back here for the next buffer. */
static void fill_parts(struct uvh_exchange *x)
{
    struct uvh_static_file *f = x->h.file;

    for (;;) {
        size_t space = f->chunk_cap - f->chunk_len;
        if (f->remaining > 0) { /* bytes of the current part */
            if (space == 0)
                break;
            if (!f->preloaded) {
                read_next(x);
                return;
            }
            size_t n = f->remaining < space ? (size_t)f->remaining : space;
            memcpy(f->chunk + f->chunk_len, f->small + f->offset, n);
            f->chunk_len += n;
            f->offset += n;
            f->remaining -= n;
            continue;
        }
        if (f->part > f->ranges.count) /* the close delimiter is in the buffer */
            break;
        size_t n = format_delimiter(f, f->part, NULL, 0);
        if (n > space)
            break;
        format_delimiter(f, f->part, f->chunk + f->chunk_len, space + 1); /* + 1: the NUL */
        f->chunk_len += n;
        if (f->part < f->ranges.count) {
            f->offset = f->ranges.r[f->part].start;
            f->remaining = f->ranges.r[f->part].len;
        }
        f->part++;
    }
    /* The buffer holds at least one delimiter or byte: it is never smaller than one of them. */
    size_t len = f->chunk_len;
    f->chunk_len = 0;
    if (x->res.head_len == 0)
        uvh_exchange_write_head(x, f->chunk, len, on_parts_written);
    else
        uvh_exchange_write_body(x, f->chunk, len, on_parts_written);
}

/* Two or more ranges in f->ranges: 206 with a multipart/byteranges body (RFC 9110 section
 * 14.6), its exact length summed up front, streamed through one buffer of at most
 * UVH_FILE_CHUNK bytes. */
static void respond_multipart(struct uvh_exchange *x, const char *type)
{
    struct uvh_static_file *f = x->h.file;
    struct uvh_response *res = &x->res;
    uint64_t total = 0;

    make_boundary(x, f->boundary);
    snprintf(f->content_type, sizeof(f->content_type), "multipart/byteranges; boundary=%s",
             f->boundary);
    f->part_type = type;
    for (size_t i = 0; i <= f->ranges.count; i++)
        total += format_delimiter(f, i, NULL, 0) + (i < f->ranges.count ? f->ranges.r[i].len : 0);
    res->status = UVH_STATUS_PARTIAL_CONTENT;
    res->content_type = f->content_type;
    res->content_length = total;
    uvh_clog(UVH_LOG_DEBUG, x->id, "Sending %llu ranges of %s (%llu bytes)",
             (unsigned long long)f->ranges.count, res->served, (unsigned long long)total);
    if (res->head_only) {
        close_then(x, UVH_STATUS_OK);
        return;
    }
    f->part = 0;
    f->remaining = 0;
    f->chunk_len = 0;
    f->chunk_cap = total < UVH_FILE_CHUNK ? (size_t)total : UVH_FILE_CHUNK;
    f->chunk = malloc(f->chunk_cap + 1); /* + 1: snprintf ends a delimiter with a NUL */
    if (!f->chunk) {
        close_then(x, UVH_STATUS_SERVICE_UNAVAILABLE);
        return;
    }
    fill_parts(x);
}

/* Validators, preconditions (RFC 9110 section 13.2.2 order) and ranges, then the head. */
static void respond_file(struct uvh_exchange *x, const uv_stat_t *st, struct uvh_mime_type mime)
{
    struct uvh_static_file *f = x->h.file;
    struct uvh_request *req = &x->req;
    struct uvh_response *res = &x->res;
    struct uvh_slice name = basename_of(f);
    uint64_t size = st->st_size;
    int64_t mtime = st->st_mtim.tv_sec;
    char etag_buf[UVH_ETAG_MAX], lm_buf[UVH_DATE_LEN + 1];
    struct uvh_slice etag, lm = {f->cached_lm, UVH_DATE_LEN};

    if (f->cached_etag) { /* formatted when the cache entry was stored */
        etag = (struct uvh_slice){f->cached_etag, f->cached_etag_len};
    } else {
        etag = (struct uvh_slice){etag_buf,
                                  uvh_etag_format(size, mtime, st->st_mtim.tv_nsec, etag_buf)};
        uvh_date_format(mtime, lm_buf);
        lm.ptr = lm_buf;
    }
    uvh_response_add_slice(res, "ETag", etag);
    uvh_response_add_slice(res, "Last-Modified", lm);
    res->served = name.ptr;
    res->served_size = size;

    struct uvh_slice inm = req->hdr[UVH_HDR_IF_NONE_MATCH];
    struct uvh_slice ims = req->hdr[UVH_HDR_IF_MODIFIED_SINCE];
    if (inm.ptr ? uvh_cond_none_match_hit(inm, etag)
                : ims.ptr && uvh_cond_not_modified_since(ims, mtime)) {
        res->status = UVH_STATUS_NOT_MODIFIED;
        close_then(x, UVH_STATUS_OK);
        return;
    }

    uvh_response_add_slice(res, "Accept-Ranges", UVH_SLICE_LIT("bytes"));
    if (mime.download)
        uvh_response_add_disposition(res, name);
    res->content_type = mime.type;
    res->status = UVH_STATUS_OK;
    f->offset = 0;
    f->remaining = size;

    struct uvh_slice range = req->hdr[UVH_HDR_RANGE];
    if (range.ptr && x->req.method_id == UVH_METHOD_GET &&
        uvh_cond_if_range_ok(req->hdr[UVH_HDR_IF_RANGE], etag, mtime)) {
        struct uvh_range r;
        switch (uvh_range_parse_set(range, size, &f->ranges)) {
        case UVH_RANGE_PARTIAL:
            if (f->ranges.count > 1) {
                respond_multipart(x, mime.type);
                return;
            }
            r = f->ranges.r[0];
            res->status = UVH_STATUS_PARTIAL_CONTENT;
            uvh_response_add(res, "Content-Range", "bytes %llu-%llu/%llu",
                             (unsigned long long)r.start, (unsigned long long)(r.start + r.len - 1),
                             (unsigned long long)size);
            f->offset = r.start;
            f->remaining = r.len;
            break;
        case UVH_RANGE_UNSATISFIABLE:
            uvh_response_add(res, "Content-Range", "bytes */%llu", (unsigned long long)size);
            close_then(x, UVH_STATUS_RANGE_NOT_SATISFIABLE);
            return;
        case UVH_RANGE_FULL:
            break;
        }
    }
    res->content_length = f->remaining;
    uvh_clog(UVH_LOG_DEBUG, x->id, "Sending %s: %.*s (%llu bytes)",
             mime.download ? "binary file" : "file", (int)name.len, name.ptr,
             (unsigned long long)res->content_length);
    if (res->head_only || f->remaining == 0) {
        close_then(x, UVH_STATUS_OK);
        return;
    }
    if (f->preloaded) { /* the whole file is in f->small and its descriptor closed */
        size_t len = (size_t)f->remaining;
        f->remaining = 0;
        uvh_exchange_respond_body(x, f->small + f->offset, len);
        return;
    }
    /* A large body goes from the file to the socket in the kernel where it can (no copy, no
     * buffer); a smaller one costs one read and a write that carries the head too. */
    if (f->remaining >= UVH_SENDFILE_MIN &&
        uvh_exchange_send_file(x, f->fd, f->offset, f->remaining, on_file_sent) == 0)
        return;
    stream_chunks(x);
}

/* Both paths are real (canonical) paths. On Windows they compare case-insensitively and with
 * either separator, as the file system does. */
static bool inside_root(const char *real, const char *root, size_t root_len)
{
#ifdef _WIN32
    for (size_t i = 0; i < root_len; i++) {
        char a = real[i] == '\\' ? '/' : uvh_lower(real[i]);
        char b = root[i] == '\\' ? '/' : uvh_lower(root[i]);
        if (a != b)
            return false;
    }
#else
    if (strncmp(real, root, root_len) != 0)
        return false;
#endif
    return real[root_len] == '/' || real[root_len] == '\\' ||
           (real[root_len] == '\0' && root_len > 0);
}

/* The part of a real path below the root must pass the same segment rules as the request
 * path: a symlink may not lead to a dotfile or a reserved name. */
static bool real_segments_ok(const char *rel)
{
#ifdef _WIN32
    const bool windows = true;
#else
    const bool windows = false;
#endif
    while (*rel == '/' || *rel == '\\')
        rel++;
    while (*rel) {
        size_t n = strcspn(rel, "/\\");
        if (uvh_path_check_segment((struct uvh_slice){rel, n}, windows) != UVH_STATUS_OK)
            return false;
        rel += n;
        while (*rel == '/' || *rel == '\\')
            rel++;
    }
    return true;
}

/* Threadpool: resolve the real path, confine it to the root, stat, open and fstat it, in one job
 * so a request costs one trip to the pool. Synchronous uv_fs calls (no loop, no callback) keep it
 * portable. Nothing here logs: the loop thread reports the outcome. */
static void open_work(struct uvh_job *j)
{
    struct uvh_static_file *f = container_of(j, struct uvh_static_file, job);
    const struct uvh_env *s = f->env;
    uv_fs_t req;

    f->result = uv_fs_realpath(NULL, &req, f->path, NULL);
    if (f->result < 0) {
        uv_fs_req_cleanup(&req);
        return;
    }
    const char *real = req.ptr;
    if (!inside_root(real, s->root, s->root_len) || !real_segments_ok(real + s->root_len)) {
        f->escaped = true;
        f->result = UV_EACCES;
        uv_fs_req_cleanup(&req);
        return;
    }
    /* Only a regular file is opened (nginx's is_file): opening a FIFO waits for a writer and
     * would hold this pool thread for good; a directory needs no descriptor. on_opened answers
     * from f->st: a redirect or index for a directory, 404 for anything else. */
    uv_fs_t op;
    f->result = uv_fs_stat(NULL, &op, real, NULL);
    f->st = op.statbuf;
    uv_fs_req_cleanup(&op);
    if (f->result < 0 || (f->st.st_mode & S_IFMT) != S_IFREG) {
        uv_fs_req_cleanup(&req);
        return;
    }
    /* The name may be swapped for a FIFO or device after the stat: a non-blocking open cannot
     * wait (UV_FS_O_NONBLOCK is 0 on Windows, which has no FIFOs in the file system), and the
     * fstat of what was opened decides. */
    f->result = uv_fs_open(NULL, &op, real, UV_FS_O_RDONLY | UV_FS_O_NONBLOCK, 0, NULL);
    uv_fs_req_cleanup(&op);
    uv_fs_req_cleanup(&req);
    if (f->result < 0)
        return;
    f->fd = (uv_file)f->result;
    f->result = uv_fs_fstat(NULL, &op, f->fd, NULL);
    f->st = op.statbuf;
    uv_fs_req_cleanup(&op);
    if (f->result < 0 || (f->st.st_mode & S_IFMT) != S_IFREG) {
        uv_fs_close(NULL, &op, f->fd, NULL); /* never read from anything but a regular file */
        uv_fs_req_cleanup(&op);
        f->fd = -1;
        return;
    }
    /* A small file is read and closed here too, so its whole request costs one trip to the
     * threadpool. A size that changed under us is taken as what was read. */
    if (f->result == 0 && (uint64_t)f->st.st_size <= sizeof(f->small)) {
        size_t got = 0;
        while (got < (size_t)f->st.st_size) {
            uv_buf_t b = uv_buf_init(f->small + got, (unsigned)((size_t)f->st.st_size - got));
            int n = uv_fs_read(NULL, &op, f->fd, &b, 1, (int64_t)got, NULL);
            uv_fs_req_cleanup(&op);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        f->st.st_size = got;
        f->preloaded = true;
        uv_fs_close(NULL, &op, f->fd, NULL);
        uv_fs_req_cleanup(&op);
        f->fd = -1;
    }
}

/* What the static handler puts in the extra headers must fit them: a redirect's Location is the
 * target's path and query plus a '/', and a download's Content-Disposition holds the longest
 * file name (255 UTF-16 units on NTFS, up to 765 bytes of UTF-8; NAME_MAX is 255 bytes on
 * Linux) once quoted and once percent-encoded, beside ETag, Last-Modified, Accept-Ranges and
 * Content-Range. */
#define FILE_NAME_MAX_UTF8 765
_Static_assert(UVH_RESPONSE_EXTRA_MAX >= sizeof("Location: /\r\n") + UVH_REQUEST_LINE_MAX,
               "a redirect for a whole target must fit the extra headers");
_Static_assert(UVH_RESPONSE_EXTRA_MAX >= 4 * FILE_NAME_MAX_UTF8 + 512,
               "Content-Disposition for the longest file name must fit the extra headers");

/* ---- the file cache: what the open job found, kept per loop thread ---- */

/* This thread's cache, set up from the configuration at first use; NULL when it is off. */
static struct uvh_fc *cache_of(const struct uvh_env *env)
{
    if (!cache_on && env->cfg->file_cache > 0) {
        if (uvh_fc_init(&cache, env->cfg->file_cache, UVH_FILE_SMALL,
                        (uint64_t)env->cfg->file_cache_validity_s * 1000) != 0) {
            uvh_log(UVH_LOG_ERROR, "out of memory for the file cache: serving without it");
            return NULL;
        }
        cache_on = true;
    }
    return cache_on ? &cache : NULL;
}

/* Keeps what the open job found, when it says something lasting about the path: a file (with
 * its bytes when small), a directory, a special file, or a refusal by the path rules or by the
 * file system. Transient failures (out of descriptors, I/O errors) are not kept. */
static void cache_store(struct uvh_exchange *x, const struct uvh_static_file *f)
{
    struct uvh_fc *c = cache_of(x->env);
    enum uvh_log_level level;
    if (!c)
        return;
    if (!f->escaped && f->result < 0) {
        enum uvh_status st = status_for_error(f->result, &level);
        if (st != UVH_STATUS_NOT_FOUND && st != UVH_STATUS_FORBIDDEN) {
            uvh_fc_forget(c, f->path, f->path_len);
            return;
        }
    }
    bool regular = f->result == 0 && (f->st.st_mode & S_IFMT) == S_IFREG;
    struct uvh_fc_facts facts = {
        .result = f->result,
        .escaped = f->escaped,
        .mode = (uint32_t)f->st.st_mode,
        .size = f->st.st_size,
        .mtime_s = f->st.st_mtim.tv_sec,
        .mtime_ns = f->st.st_mtim.tv_nsec,
        .data = regular && f->preloaded ? f->small : NULL,
        .data_len = regular && f->preloaded ? (size_t)f->st.st_size : 0,
    };
    if (f->escaped || f->result < 0)
        facts.mode = 0;
    /* A large file still needs its descriptor: only what makes a request cost no pool trip is
     * worth its memory. */
    if (regular && !facts.data)
        return;
    uvh_fc_store(c, f->path, f->path_len, &facts, uv_now(x->env->loop));
}

/* A fresh cache entry answers for the open job: the same verdict, the same bytes. */
static void from_cache(struct uvh_static_file *f, const struct uvh_fc_entry *e)
{
    f->result = e->result;
    f->escaped = e->escaped;
    memset(&f->st, 0, sizeof(f->st));
    f->st.st_mode = e->mode;
    f->st.st_size = e->size;
    f->st.st_mtim.tv_sec = e->mtime_s;
    f->st.st_mtim.tv_nsec = e->mtime_ns;
    f->fd = -1;
    if (e->etag_len) { /* valid until the next store: this request's head is built first */
        f->cached_etag = e->etag;
        f->cached_etag_len = e->etag_len;
        f->cached_lm = e->last_modified;
    }
    if (e->data) {
        memcpy(f->small, e->data, e->data_len);
        f->preloaded = true;
    }
}

static void opened(struct uvh_exchange *x);

static void on_opened(struct uvh_job *j, int status)
{
    struct uvh_static_file *f = container_of(j, struct uvh_static_file, job);
    struct uvh_exchange *x = f->x;

    if (uvh_exchange_gone(x) || status < 0) {
        close_then(x, UVH_STATUS_NONE);
        return;
    }
    cache_store(x, f);
    opened(x);
}

/* What the file system said about the path (from the open job or the cache) decides the
 * answer: 403, an error, a redirect, 404 for what is not a regular file, 415, or the file. */
static void opened(struct uvh_exchange *x)
{
    struct uvh_static_file *f = x->h.file;
    const uv_stat_t *st = &f->st;

    if (f->escaped) {
        char target[512];
        uvh_clog(UVH_LOG_WARN, x->id,
                 "Security: path traversal blocked for %s: %s (real path leaves the root or "
                 "names a hidden file)",
                 x->peer, uvh_log_escape(target, sizeof(target), x->req.target));
        close_then(x, UVH_STATUS_FORBIDDEN);
        return;
    }
    if (f->result < 0) {
        enum uvh_log_level level;
        enum uvh_status s = status_for_error(f->result, &level);
        uvh_clog(level, x->id, "open %s: %s", f->path, uv_strerror(f->result));
        close_then(x, s);
        return;
    }
    if ((st->st_mode & S_IFMT) == S_IFDIR) {
        if (f->index_tried) { /* index.html is a directory */
            close_then(x, UVH_STATUS_NOT_FOUND);
            return;
        }
        /* A directory named without its slash: redirect so relative links resolve. */
        struct uvh_slice p = x->req.path, q = x->req.query;
        uvh_response_add(&x->res, "Location", "%.*s/%s%.*s", (int)p.len, p.ptr, q.ptr ? "?" : "",
                         (int)q.len, q.ptr ? q.ptr : "");
        close_then(x, UVH_STATUS_MOVED_PERMANENTLY);
        return;
    }
    if ((st->st_mode & S_IFMT) != S_IFREG) { /* a FIFO, socket or device */
        uvh_clog(UVH_LOG_DEBUG, x->id, "%s is not a regular file", f->path);
        close_then(x, UVH_STATUS_NOT_FOUND);
        return;
    }
    struct uvh_mime_type mime = uvh_mime_lookup(x->env->cfg, basename_of(f));
    if (!mime.type) {
        uvh_clog(UVH_LOG_INFO, x->id, "no MIME type for %s", f->path);
        close_then(x, UVH_STATUS_UNSUPPORTED_MEDIA_TYPE);
        return;
    }
    respond_file(x, st, mime);
}

int uvh_static_build_path(char *buf, size_t cap, const char *root, size_t root_len, const char *rel,
                          size_t rel_len, size_t *len, bool *index)
{
    static const char index_name[] = "index.html";
    bool dir = rel_len == 0 || rel[rel_len - 1] == '/';
    size_t tail = dir ? sizeof(index_name) - 1 : 0;

    /* root, '/', rel, index.html, NUL: checked piece by piece so nothing can wrap. */
    if (cap < 2 || root_len > cap - 2)
        return UV_ENAMETOOLONG;
    size_t room = cap - 2 - root_len;
    if (rel_len > room || tail > room - rel_len)
        return UV_ENAMETOOLONG;
    memcpy(buf, root, root_len);
    buf[root_len] = '/';
    memcpy(buf + root_len + 1, rel, rel_len);
    memcpy(buf + root_len + 1 + rel_len, index_name, tail);
    *len = root_len + 1 + rel_len + tail;
    buf[*len] = '\0';
    *index = dir;
    return 0;
}

enum uvh_status uvh_static_handle(struct uvh_exchange *x)
{
    const struct uvh_env *s = x->env;
    struct uvh_static_file *f = file_new(x);
    char rel[UVH_REQUEST_LINE_MAX + 1]; /* the decoded path is never longer than the target */
    if (!f)
        return UVH_STATUS_SERVICE_UNAVAILABLE;
    x->h.file = f;
    size_t rel_len;
    bool index;

    /* Decoded whole, so the path rules (400, 403) judge all of it before its length does. */
    enum uvh_status st = uvh_path_resolve(x->req.path, rel, sizeof(rel), &rel_len);
    if (st != UVH_STATUS_OK) {
        char target[512];
        uvh_log_escape(target, sizeof(target), x->req.target);
        if (st == UVH_STATUS_FORBIDDEN)
            uvh_clog(UVH_LOG_WARN, x->id, "Security: path traversal blocked for %s: %s", x->peer,
                     target);
        else
            uvh_clog(UVH_LOG_INFO, x->id, "Malformed path from %s: %s", x->peer, target);
        return st;
    }
    /* Every byte goes through the bound of f->path itself: a long root leaves less room for the
     * relative path, and a path that cannot fit names no file (ENAMETOOLONG: 404). */
    int rc = uvh_static_build_path(f->path, sizeof(f->path), s->root, s->root_len, rel, rel_len,
                                   &f->path_len, &index);
    if (rc < 0) {
        enum uvh_log_level level;
        f->path_len = 0;
        st = status_for_error(rc, &level);
        uvh_clog(level, x->id, "open of a %llu-byte path under the root: %s",
                 (unsigned long long)rel_len, uv_strerror(rc));
        return st;
    }
    f->index_tried = index;
    struct uvh_fc *c = cache_of(s);
    const struct uvh_fc_entry *e =
        c ? uvh_fc_lookup(c, f->path, f->path_len, uv_now(s->loop)) : NULL;
    if (e) { /* no trip to the pool: the answer is built on the loop thread from memory */
        from_cache(f, e);
        opened(x);
        return UVH_STATUS_NONE;
    }
    if (uvh_exchange_submit(x, &f->job, open_work, on_opened) != 0)
        return UVH_STATUS_INTERNAL_SERVER_ERROR;
    return UVH_STATUS_NONE;
}
