/* upload_handler.c - owns POST /upload: media-type and size checks at the head, the body
 * buffered in memory and, past 32 KiB, written to a temporary file with one write in flight,
 * JSON validation (jansson, or json_check for a body in a file) and the durable,
 * never-overwriting store on the threadpool. The loop thread never touches the disk
 * synchronously; the threadpool never logs. */
#include "upload_handler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <stddef.h>

#include <jansson.h>
#include <uv.h>

#include "json_check.h"
#include "log.h"

#define UPLOAD_BUF (64 * 1024)
#define UPLOAD_FLUSH_AT (32 * 1024) /* + one read (< 18 KiB) always fits in UPLOAD_BUF */
#define TMP_PREFIX ".upload-"
#define TMP_SUFFIX ".tmp"
#define SWEEP_AGE_S 120 /* a temporary file untouched this long is an interrupted upload */

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

struct uvh_upload {
    struct uvh_exchange *x; /* valid until released */
    struct uvh_pool *pool;  /* runs our threadpool jobs; outlives every upload */
    struct uvh_job job;     /* the one job in flight: open, write, finish, or the discard */
    int job_result;         /* what that job's file-system call returned */
    uv_file fd;             /* the temporary file, -1 while the body is only in buf */
    uint64_t max_body;
    uint64_t received;   /* body bytes taken from the parser */
    uint64_t written;    /* bytes in the temporary file */
    int io_error;        /* first failure writing the temporary file, 0 if none */
    bool busy;           /* an fs request or the finish job is in flight */
    bool finish_pending; /* the message completed while a flush was in flight */
    bool tmp_exists;
    bool stored;
    bool released;
    enum uvh_status result; /* from the finish job */
    char message[300];      /* its error text, for the JSON reply and the log */
    char name[64];          /* upload_YYYYMMDD_HHMMSS_xxxxxx.json */
    unsigned clashes;       /* names found taken before this one (another server's uploads) */
    char clashed[64];       /* the first name found taken */
    char dir[UVH_PATH_MAX + 16];
    char tmp_path[UVH_PATH_MAX + 64];
    size_t buf_len;
    char buf[UPLOAD_BUF];
};

static uv_once_t validate_once = UV_ONCE_INIT;
static uv_mutex_t validate_mutex; /* one file-backed validation at a time: bounds memory */

/* While a threadpool thread validates a large body, jansson allocates from this arena of big
 * blocks, which are mapped, never reused from malloc's heaps, and unmapped at once afterwards:
 * the tree of a large document would otherwise stay in that thread's malloc arena for good.
 * Frees inside the arena are no-ops. Outside a validation jansson uses malloc/free. jansson's
 * allocator is process-wide, so it is switched to these only by uvh_process_init (through
 * uvh_upload_set_json_allocator); without it the arena stays empty and jansson uses malloc. */
#define ARENA_BLOCK (1024 * 1024)
struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    max_align_t data[];
};
static _Thread_local struct arena_block *arena;
static _Thread_local bool arena_on;

static void *json_alloc(size_t n)
{
    if (!arena_on)
        return malloc(n);
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (!arena || arena->used + n > arena->cap) {
        size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        struct arena_block *b = malloc(sizeof(*b) + cap);
        if (!b)
            return NULL;
        b->next = arena;
        b->used = 0;
        b->cap = cap;
        arena = b;
    }
    void *p = (char *)arena->data + arena->used;
    arena->used += n;
    return p;
}

static void json_release(void *p)
{
    if (!arena_on)
        free(p);
}

static void arena_drop(void)
{
    while (arena) {
        struct arena_block *b = arena;
        arena = b->next;
        free(b);
    }
}

void uvh_upload_set_json_allocator(void)
{
    json_set_alloc_funcs(json_alloc, json_release);
}

static void validate_init(void)
{
    if (uv_mutex_init(&validate_mutex) != 0)
        abort();
}

/* "application/json", any case, parameters allowed (RFC 9110 section 8.3.1). */
static bool is_json_type(struct uvh_slice ct)
{
    const char *semi = ct.ptr ? memchr(ct.ptr, ';', ct.len) : NULL;
    struct uvh_slice type = {ct.ptr, semi ? (size_t)(semi - ct.ptr) : ct.len};
    return ct.ptr && uvh_slice_eq_nocase(uvh_slice_trim(type), UVH_SLICE_LIT("application/json"));
}

static void upload_free(struct uvh_upload *u)
{
    free(u);
}

/* ---- discarding: close and remove the temporary file, then free ---- */

static void discard_work(struct uvh_job *j)
{
    struct uvh_upload *u = container_of(j, struct uvh_upload, job);
    uv_fs_t req;
    if (u->fd >= 0) {
        uv_fs_close(NULL, &req, u->fd, NULL);
        uv_fs_req_cleanup(&req);
    }
    if (u->tmp_exists) {
        uv_fs_unlink(NULL, &req, u->tmp_path, NULL);
        uv_fs_req_cleanup(&req);
    }
}

static void on_discarded(struct uvh_job *j, int status)
{
    (void)status;
    upload_free(container_of(j, struct uvh_upload, job));
}

/* Runs once nothing is in flight and the request is over: one job closes and removes. */
static void discard(struct uvh_upload *u)
{
    if ((u->fd >= 0 || u->tmp_exists) &&
        uvh_pool_submit(u->pool, &u->job, discard_work, on_discarded) == 0)
        return;
    upload_free(u);
}

void uvh_upload_release(struct uvh_exchange *x)
{
    struct uvh_upload *u = x->h.upload;
    x->h.upload = NULL;
    if (!u)
        return;
    u->released = true;
    u->x = NULL;
    if (!u->busy)
        discard(u);
}

/* ---- streaming the body ---- */

static int on_body_bytes(void *ctx, const char *at, size_t len)
{
    struct uvh_upload *u = ctx;
    u->received += len;
    if (u->received > u->max_body)
        return UVH_STATUS_CONTENT_TOO_LARGE; /* a chunked body grew past the cap */
    if (u->io_error)
        return 0; /* the answer is 500 already: drain the rest */
    if (u->buf_len + len > sizeof(u->buf))
        return UVH_STATUS_INTERNAL_SERVER_ERROR; /* cannot happen: see UPLOAD_FLUSH_AT */
    memcpy(u->buf + u->buf_len, at, len);
    u->buf_len += len;
    return 0;
}

static void start_finish(struct uvh_upload *u);
static void flush(struct uvh_upload *u);

/* After a write or the open: either more of the buffer goes out, or the body may flow again. */
static void flush_done(struct uvh_upload *u)
{
    u->busy = false;
    if (u->released) {
        discard(u);
        return;
    }
    if (u->finish_pending) {
        u->finish_pending = false;
        start_finish(u);
        return;
    }
    uvh_exchange_resume_body(u->x);
}

static void write_work(struct uvh_job *j)
{
    struct uvh_upload *u = container_of(j, struct uvh_upload, job);
    uv_fs_t req;
    uv_buf_t b = uv_buf_init(u->buf, (unsigned)u->buf_len);
    u->job_result = uv_fs_write(NULL, &req, u->fd, &b, 1, (int64_t)u->written, NULL);
    uv_fs_req_cleanup(&req);
}

static void on_written(struct uvh_job *j, int status)
{
    struct uvh_upload *u = container_of(j, struct uvh_upload, job);
    ssize_t n = status < 0 ? status : u->job_result;
    if (n < 0 && !u->io_error)
        u->io_error = (int)n;
    if (n > 0) {
        u->written += (uint64_t)n;
        memmove(u->buf, u->buf + n, u->buf_len - (size_t)n);
        u->buf_len -= (size_t)n;
        if (u->buf_len && !u->released && !u->io_error) { /* a short write: the rest */
            flush(u);
            return;
        }
    }
    if (u->io_error)
        u->buf_len = 0;
    flush_done(u);
}

/* The temporary file starts with a dot: never served, and swept at start-up. */
static void open_tmp_work(struct uvh_job *j)
{
    struct uvh_upload *u = container_of(j, struct uvh_upload, job);
    uv_fs_t req;
    u->job_result = uv_fs_open(NULL, &req, u->tmp_path, UV_FS_O_RDWR | UV_FS_O_CREAT | UV_FS_O_EXCL,
                               0644, NULL);
    uv_fs_req_cleanup(&req);
}

static void on_tmp_opened(struct uvh_job *j, int status)
{
    struct uvh_upload *u = container_of(j, struct uvh_upload, job);
    int rc = status < 0 ? status : u->job_result;
    if (rc >= 0) {
        u->fd = rc;
        u->tmp_exists = true;
    }
    if (rc < 0 || u->released) {
        if (rc < 0)
            u->io_error = rc;
        u->buf_len = 0;
        flush_done(u);
        return;
    }
    flush(u);
}

/* Opens the temporary file first, then writes the buffer to it; one job at a time. */
static void flush(struct uvh_upload *u)
{
    u->busy = true;
    int rc = u->fd >= 0 ? uvh_pool_submit(u->pool, &u->job, write_work, on_written)
                        : uvh_pool_submit(u->pool, &u->job, open_tmp_work, on_tmp_opened);
    if (rc < 0) {
        u->io_error = rc;
        u->buf_len = 0;
        flush_done(u);
    }
}

bool uvh_upload_body_pause(struct uvh_exchange *x)
{
    struct uvh_upload *u = x->h.upload;
    if (!u) /* refused at the head: the body is being dropped */
        return false;
    if (u->busy)
        return true;
    if (u->buf_len < UPLOAD_FLUSH_AT || u->io_error)
        return false;
    flush(u);
    return true;
}

enum uvh_status uvh_upload_begin(struct uvh_exchange *x)
{
    struct uvh_request *req = &x->req;
    const struct uvh_env *s = x->env;
    struct uvh_slice expect = req->hdr[UVH_HDR_EXPECT];
    char why[160];

    if (!is_json_type(req->hdr[UVH_HDR_CONTENT_TYPE])) {
        uvh_log_escape(why, sizeof(why), req->hdr[UVH_HDR_CONTENT_TYPE]);
        uvh_clog(UVH_LOG_INFO, x->id, "Upload from %s rejected: Content-Type \"%s\" is not JSON",
                 x->peer, req->hdr[UVH_HDR_CONTENT_TYPE].ptr ? why : "(none)");
        return UVH_STATUS_UNSUPPORTED_MEDIA_TYPE;
    }
    if (expect.ptr && !uvh_slice_eq_nocase(expect, UVH_SLICE_LIT("100-continue"))) {
        uvh_clog(UVH_LOG_INFO, x->id, "Upload from %s rejected: unknown expectation", x->peer);
        return UVH_STATUS_EXPECTATION_FAILED;
    }
    if (req->has_length && req->content_length > s->cfg->max_body) {
        uvh_clog(UVH_LOG_INFO, x->id, "Upload from %s rejected: %llu bytes, over --max-body %u",
                 x->peer, (unsigned long long)req->content_length, s->cfg->max_body);
        return UVH_STATUS_CONTENT_TOO_LARGE;
    }
    uv_once(&validate_once, validate_init);
    struct uvh_upload *u = malloc(sizeof(*u));
    if (!u)
        return UVH_STATUS_SERVICE_UNAVAILABLE;
    memset(u, 0, offsetof(struct uvh_upload, buf));
    u->x = x;
    u->pool = s->pool;
    u->fd = -1;
    u->max_body = s->cfg->max_body;
    snprintf(u->dir, sizeof(u->dir), "%s/uploads", s->root);
    snprintf(u->tmp_path, sizeof(u->tmp_path), "%s/" TMP_PREFIX "%llu-%llx" TMP_SUFFIX, u->dir,
             (unsigned long long)x->id, (unsigned long long)uv_hrtime());
    x->h.upload = u;
    req->sink = on_body_bytes;
    req->sink_ctx = u;
    if (expect.ptr)
        uvh_exchange_send_continue(x);
    return UVH_STATUS_OK;
}

/* ---- the finish job (threadpool): validate, make durable, name without overwriting ---- */

static int write_all(uv_file fd, const char *p, size_t len, int64_t off)
{
    uv_fs_t r;
    while (len) {
        uv_buf_t b = uv_buf_init((char *)p, (unsigned)len);
        int n = uv_fs_write(NULL, &r, fd, &b, 1, off, NULL);
        uv_fs_req_cleanup(&r);
        if (n <= 0)
            return n < 0 ? n : UV_EIO;
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

struct file_reader {
    uv_file fd;
    int64_t off;
};

static size_t read_chunk(void *buf, size_t len, void *data)
{
    struct file_reader *fr = data;
    uv_fs_t r;
    uv_buf_t b = uv_buf_init(buf, (unsigned)len);
    int n = uv_fs_read(NULL, &r, fr->fd, &b, 1, fr->off, NULL);
    uv_fs_req_cleanup(&r);
    if (n < 0)
        return (size_t)-1;
    fr->off += n;
    return (size_t)n;
}

static int fail_job(struct uvh_upload *u, enum uvh_status st, int err, const char *what)
{
    u->result = st;
    snprintf(u->message, sizeof(u->message), "%s: %s", what, uv_strerror(err));
    return -1;
}

/* RFC 8259: any JSON text at top level, UTF-8 without BOM, no NUL, no duplicate keys. */
/* jansson on the file, one at a time and in the released arena: for its error text. */
static json_t *jansson_load_file(struct uvh_upload *u, json_error_t *e)
{
    struct file_reader fr = {u->fd, 0};
    uv_mutex_lock(&validate_mutex);
    arena_on = true;
    json_t *root = json_load_callback(read_chunk, &fr, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, e);
    json_decref(root);
    arena_on = false;
    arena_drop();
    uv_mutex_unlock(&validate_mutex);
    return root; /* only its NULL-ness may be used */
}

/* Streams the temporary file through the bounded-memory checker (which accepts exactly what
 * jansson accepts within its key budget): a large document never becomes a tree. Returns 1
 * valid, 0 invalid, UV_E2BIG over the key budget, or another negative libuv error. */
static int check_file(struct uvh_upload *u)
{
    struct uvh_json_check jc;
    uv_fs_t r;
    int64_t off = 0;
    int verdict = 1;

    uvh_json_check_init(&jc);
    for (;;) {
        uv_buf_t b = uv_buf_init(u->buf, sizeof(u->buf));
        int n = uv_fs_read(NULL, &r, u->fd, &b, 1, off, NULL);
        uv_fs_req_cleanup(&r);
        if (n < 0) {
            verdict = n;
            break;
        }
        if (n == 0) {
            verdict = uvh_json_check_finish(&jc) == 0;
            break;
        }
        off += n;
        if (uvh_json_check_feed(&jc, u->buf, (size_t)n) != 0) {
            verdict = uvh_json_check_nomem(&jc)         ? UV_ENOMEM
                      : uvh_json_check_over_budget(&jc) ? UV_E2BIG
                                                        : 0;
            break;
        }
    }
    uvh_json_check_deinit(&jc);
    return verdict;
}

/* RFC 8259: any JSON text at top level, UTF-8 without BOM, no NUL, no duplicate keys. A body
 * still in memory is loaded by jansson; a large one is checked in a stream, and jansson only
 * describes what is wrong with an invalid one. */
static int validate(struct uvh_upload *u)
{
    json_error_t e;
    json_t *root;

    if (u->fd < 0) {
        root = json_loadb(u->buf, u->buf_len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
        json_decref(root);
    } else {
        int verdict = check_file(u);
        if (verdict == UV_E2BIG) { /* maybe valid, but jansson's tree would be just as big */
            u->result = UVH_STATUS_CONTENT_TOO_LARGE;
            snprintf(u->message, sizeof(u->message),
                     "Too many distinct object keys: the duplicate-key check holds at most %u "
                     "MiB of keys per upload",
                     UVH_JSON_CHECK_MEM_MAX >> 20);
            return -1;
        }
        if (verdict < 0)
            return fail_job(u,
                            verdict == UV_ENOMEM ? UVH_STATUS_SERVICE_UNAVAILABLE
                                                 : UVH_STATUS_INTERNAL_SERVER_ERROR,
                            verdict, "cannot check the file");
        if (verdict == 1)
            return 0;
        root = jansson_load_file(u, &e);
    }
    if (!root) { /* only the pointer's NULL-ness is used after the decref */
        u->result = UVH_STATUS_BAD_REQUEST;
        snprintf(u->message, sizeof(u->message), "Invalid JSON: %s at line %d, column %d", e.text,
                 e.line, e.column);
        return -1;
    }
    return 0;
}

static void random_suffix(unsigned char *buf, size_t n)
{
    uv_random(NULL, NULL, buf, n, 0, NULL);
}

/* The source of the names' random digits: tests replace it to force a clash. */
static uvh_upload_random_fn random_fill = random_suffix;

void uvh_upload_set_random(uvh_upload_random_fn fn)
{
    random_fill = fn ? fn : random_suffix;
}

static void make_name(struct uvh_upload *u)
{
    time_t now = time(NULL);
    struct tm tm;
    unsigned char rnd[3] = {0, 0, 0};
    random_fill(rnd, sizeof(rnd));
#ifdef _WIN32
    gmtime_s(&tm, &now);
#else
    gmtime_r(&now, &tm);
#endif
    snprintf(u->name, sizeof(u->name), "upload_%04d%02d%02d_%02d%02d%02d_%02x%02x%02x.json",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, rnd[0],
             rnd[1], rnd[2]);
}

static int store(struct uvh_upload *u)
{
    uv_fs_t r;
    int rc;

    if (u->fd < 0) { /* the whole body is still in memory */
        rc = uv_fs_open(NULL, &r, u->tmp_path, UV_FS_O_WRONLY | UV_FS_O_CREAT | UV_FS_O_EXCL, 0644,
                        NULL);
        uv_fs_req_cleanup(&r);
        if (rc < 0)
            return fail_job(u, UVH_STATUS_INTERNAL_SERVER_ERROR, rc, "cannot create the file");
        u->fd = rc;
        u->tmp_exists = true;
        rc = write_all(u->fd, u->buf, u->buf_len, 0);
        if (rc < 0)
            return fail_job(u, UVH_STATUS_INTERNAL_SERVER_ERROR, rc, "cannot write the file");
    }
    rc = uv_fs_fsync(NULL, &r, u->fd, NULL);
    uv_fs_req_cleanup(&r);
    if (rc < 0)
        return fail_job(u, UVH_STATUS_INTERNAL_SERVER_ERROR, rc, "cannot flush the file");
    uv_fs_close(NULL, &r, u->fd, NULL);
    uv_fs_req_cleanup(&r);
    u->fd = -1;

    /* A hard link is an exclusive create of the final name: it never replaces a file, and the
     * data is already on disk under the temporary name. A clash draws a new suffix. */
    char final_path[sizeof(u->dir) + sizeof(u->name) + 1];
    for (int attempt = 0;; attempt++) {
        make_name(u);
        snprintf(final_path, sizeof(final_path), "%s/%s", u->dir, u->name);
        rc = uv_fs_link(NULL, &r, u->tmp_path, final_path, NULL);
        uv_fs_req_cleanup(&r);
        if (rc != UV_EEXIST || attempt == 32)
            break;
        if (u->clashes++ == 0) /* logged on the loop thread when the upload is answered */
            memcpy(u->clashed, u->name, sizeof(u->clashed));
    }
    if (rc < 0)
        return fail_job(u, UVH_STATUS_INTERNAL_SERVER_ERROR, rc, "cannot name the file");
    u->stored = true;
    uv_fs_unlink(NULL, &r, u->tmp_path, NULL);
    uv_fs_req_cleanup(&r);
    u->tmp_exists = false;
#ifndef _WIN32
    /* The new directory entry must survive a power loss too. */
    rc = uv_fs_open(NULL, &r, u->dir, UV_FS_O_RDONLY, 0, NULL);
    uv_fs_req_cleanup(&r);
    if (rc >= 0) {
        uv_fs_fsync(NULL, &r, rc, NULL);
        uv_fs_req_cleanup(&r);
        uv_fs_close(NULL, &r, rc, NULL);
        uv_fs_req_cleanup(&r);
    }
#endif
    return 0;
}

static void finish_work(struct uvh_job *j)
{
    struct uvh_upload *u = container_of(j, struct uvh_upload, job);
    uv_fs_t r;

    u->result = UVH_STATUS_CREATED;
    if (u->io_error) {
        fail_job(u, UVH_STATUS_INTERNAL_SERVER_ERROR, u->io_error, "cannot write the file");
    } else if (u->fd >= 0 && u->buf_len &&
               (u->io_error = write_all(u->fd, u->buf, u->buf_len, (int64_t)u->written)) < 0) {
        fail_job(u, UVH_STATUS_INTERNAL_SERVER_ERROR, u->io_error, "cannot write the file");
    } else if (validate(u) == 0) {
        store(u);
    }
    if (u->result != UVH_STATUS_CREATED) { /* nothing partial stays visible */
        if (u->fd >= 0) {
            uv_fs_close(NULL, &r, u->fd, NULL);
            uv_fs_req_cleanup(&r);
            u->fd = -1;
        }
        if (u->tmp_exists) {
            uv_fs_unlink(NULL, &r, u->tmp_path, NULL);
            uv_fs_req_cleanup(&r);
            u->tmp_exists = false;
        }
    }
}

static void reply_json_error(struct uvh_response *res, enum uvh_status st, const char *message)
{
    json_t *o = json_pack("{s:s, s:s}", "status", "error", "message", message);
    res->status = st;
    res->content_type = "application/json";
    res->body_len = o ? json_dumpb(o, res->body, sizeof(res->body), JSON_COMPACT) : 0;
    if (res->body_len > sizeof(res->body))
        res->body_len = 0;
    res->content_length = res->body_len;
    json_decref(o);
}

static void on_finished(struct uvh_job *j, int status)
{
    struct uvh_upload *u = container_of(j, struct uvh_upload, job);

    u->busy = false;
    if (u->released) { /* the request ended while the job ran: nobody to answer */
        discard(u);
        return;
    }
    struct uvh_exchange *x = u->x;
    struct uvh_response *res = &x->res;
    if (status < 0 && u->result == UVH_STATUS_CREATED && !u->stored)
        u->result = UVH_STATUS_INTERNAL_SERVER_ERROR;
    if (uvh_exchange_gone(x)) {
        uvh_exchange_finish(x);
        return;
    }
    res->served = "upload";
    res->served_size = u->received;
    if (u->clashes)
        uvh_clog(UVH_LOG_WARN, x->id,
                 "Upload name uploads/%s was taken (another server sharing the root?): drew a new "
                 "suffix %u time%s",
                 u->clashed, u->clashes, u->clashes == 1 ? "" : "s");
    if (u->result == UVH_STATUS_CREATED) {
        uvh_clog(UVH_LOG_INFO, x->id, "Upload from %s saved as uploads/%s (%llu bytes)", x->peer,
                 u->name, (unsigned long long)u->received);
        res->status = UVH_STATUS_CREATED;
        res->content_type = "application/json";
        uvh_response_add(res, "Location", "/uploads/%s", u->name);
        int n = snprintf(res->body, sizeof(res->body),
                         "{\"status\": \"success\", \"message\": \"File created successfully\", "
                         "\"filepath\": \"/uploads/%s\"}",
                         u->name);
        res->body_len = (size_t)n;
        res->content_length = res->body_len;
    } else {
        uvh_clog(u->result == UVH_STATUS_BAD_REQUEST ? UVH_LOG_INFO : UVH_LOG_ERROR, x->id,
                 "Upload from %s rejected (%llu bytes): %s", x->peer,
                 (unsigned long long)u->received, u->message);
        reply_json_error(res, u->result, u->message);
    }
    uvh_exchange_respond(x);
}

static void start_finish(struct uvh_upload *u)
{
    u->busy = true;
    if (uvh_pool_submit(u->pool, &u->job, finish_work, on_finished) != 0) {
        u->busy = false;
        uvh_exchange_respond_error(u->x, UVH_STATUS_INTERNAL_SERVER_ERROR);
    }
}

enum uvh_status uvh_upload_finish(struct uvh_exchange *x)
{
    struct uvh_upload *u = x->h.upload;
    if (!u) /* the head was not accepted: cannot happen, the router refused it then */
        return UVH_STATUS_INTERNAL_SERVER_ERROR;
    uvh_clog(UVH_LOG_INFO, x->id, "Upload received from %s: %llu bytes", x->peer,
             (unsigned long long)u->received);
    if (u->busy)
        u->finish_pending = true; /* the flush in flight starts the job */
    else
        start_finish(u);
    return UVH_STATUS_NONE;
}

static void sweep(const char *dir)
{
    uv_fs_t req;
    uv_dirent_t ent;
    char path[UVH_PATH_MAX + 320];
    int removed = 0, kept = 0;
    int64_t now = (int64_t)time(NULL);

    if (uv_fs_scandir(NULL, &req, dir, 0, NULL) < 0) {
        uv_fs_req_cleanup(&req);
        return;
    }
    while (uv_fs_scandir_next(&req, &ent) != UV_EOF) {
        size_t n = strlen(ent.name);
        if (strncmp(ent.name, TMP_PREFIX, strlen(TMP_PREFIX)) != 0 || n < strlen(TMP_SUFFIX) ||
            strcmp(ent.name + n - strlen(TMP_SUFFIX), TMP_SUFFIX) != 0)
            continue;
        uv_fs_t un;
        snprintf(path, sizeof(path), "%s/%s", dir, ent.name);
        /* Another server sharing this root may be writing it right now: only a file nobody
         * has written for SWEEP_AGE_S is an interrupted upload. */
        bool fresh =
            uv_fs_stat(NULL, &un, path, NULL) == 0 && un.statbuf.st_mtim.tv_sec > now - SWEEP_AGE_S;
        uv_fs_req_cleanup(&un);
        if (fresh) {
            kept++;
            continue;
        }
        if (uv_fs_unlink(NULL, &un, path, NULL) == 0)
            removed++;
        uv_fs_req_cleanup(&un);
    }
    uv_fs_req_cleanup(&req);
    if (removed)
        uvh_log(UVH_LOG_WARN, "Removed %d incomplete upload%s left in %s", removed,
                removed == 1 ? "" : "s", dir);
    if (kept)
        uvh_log(UVH_LOG_INFO,
                "Kept %d temporary upload file%s in %s written in the last %d s (another server "
                "may be using them)",
                kept, kept == 1 ? "" : "s", dir, SWEEP_AGE_S);
}

void uvh_upload_start(const struct uvh_env *env)
{
    char uploads[UVH_PATH_MAX + 16];
    uv_fs_t req;

    snprintf(uploads, sizeof(uploads), "%s/uploads", env->root);
    int rc = uv_fs_mkdir(NULL, &req, uploads, 0755, NULL);
    uv_fs_req_cleanup(&req);
    if (rc < 0 && rc != UV_EEXIST)
        uvh_log_uv(UVH_LOG_WARN, rc, "Cannot create %s", uploads);
    if (rc == UV_EEXIST) {
        rc = uv_fs_stat(NULL, &req, uploads, NULL);
        if (rc == 0 && (req.statbuf.st_mode & S_IFMT) != S_IFDIR)
            uvh_log(UVH_LOG_WARN, "%s is not a directory: uploads will fail with 500", uploads);
        uv_fs_req_cleanup(&req);
    }
    sweep(uploads);
}
