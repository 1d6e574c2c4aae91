/* upload_handler.c - owns POST /upload: media-type and size checks at the head, the body
 * streamed to a temporary file with one write in flight, JSON validation (jansson) and the
 * durable, never-overwriting store on the threadpool. The loop thread never touches the disk
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

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

struct uvh_upload {
    struct uvh_exchange *x; /* valid until released */
    struct uvh_pool *pool;  /* runs our threadpool jobs; outlives every upload */
    struct uvh_job job;     /* the one job in flight: open, write, finish, close or unlink */
    int job_result;         /* what that job's file-system call returned */
    uv_file fd;     /* the temporary file, -1 while the body is only in buf */
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
 * Frees inside the arena are no-ops. Outside a validation jansson uses malloc/free. */
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

static void validate_init(void)
{
    if (uv_mutex_init(&validate_mutex) != 0)
        abort();
    json_set_alloc_funcs(json_alloc, json_release);
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
    if ((u->fd >= 0 || u->tmp_exists) && uvh_pool_submit(u->pool, &u->job, discard_work, on_discarded) == 0)
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

void uvh_upload_sweep(const char *dir)
{
    uv_fs_t req;
    uv_dirent_t ent;
    char path[UVH_PATH_MAX + 320];
    int removed = 0;

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
        if (uv_fs_unlink(NULL, &un, path, NULL) == 0)
            removed++;
        uv_fs_req_cleanup(&un);
    }
    uv_fs_req_cleanup(&req);
    if (removed)
        uvh_log(UVH_LOG_WARN, "Removed %d incomplete upload%s left in %s", removed,
                removed == 1 ? "" : "s", dir);
}
