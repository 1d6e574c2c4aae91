/* static_handler.h - GET/HEAD of files under the document root, all disk work on the threadpool. */
#ifndef UVH_STATIC_HANDLER_H
#define UVH_STATIC_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "exchange.h"
#include "http_status.h"
#include "range.h"

#define UVH_FILE_CHUNK                                                                             \
    (256 * 1024)             /* bytes read per step when a body does not fit the head write */
#define UVH_FILE_SMALL 16384 /* bodies up to this go out in the same write as the head */
#define UVH_SENDFILE_MIN (64 * 1024) /* bodies from this size go out with sendfile if they can */
#define UVH_BOUNDARY_LEN 32          /* hex digits of a multipart/byteranges boundary */

/* Per-request state of the static handler, owned by it (x->h.file) from the request's start to
 * its release; kept on a free list between requests. */
struct uvh_static_file {
    struct uvh_static_file *next_free;
    struct uvh_job job; /* the one threadpool job in flight: open, read or close */
    struct uvh_exchange *x;
    const struct uvh_env *env; /* read-only from the threadpool: root, root_len */
    int result;                /* the last job's outcome: 0, bytes read, or a libuv error */
    bool escaped;              /* the real path left the root or names a hidden file */
    bool preloaded; /* a small file: read whole into `small` by the job, descriptor closed */
    uv_stat_t st;   /* fstat of the opened file */
    /* From a cache entry, for this request's head only: its ETag and Last-Modified, formatted
     * when it was stored (NULL: format them from st). */
    const char *cached_etag, *cached_lm;
    size_t cached_etag_len;
    uv_file fd;         /* -1 when closed */
    uint64_t offset;    /* next byte to read */
    uint64_t remaining; /* body bytes still to read */
    char *chunk;        /* chunk_cap bytes while streaming a large or multipart body, else NULL */
    size_t chunk_len;
    size_t chunk_cap;
    uv_buf_t rbuf; /* what the read job reads into */
    /* multipart/byteranges: the parts (count > 1 only then), the next delimiter to send
     * (ranges.count is the closing one), and the strings the delimiters repeat. */
    struct uvh_range_set ranges;
    size_t part;
    const char *part_type; /* the file's media type: static or from the config */
    char boundary[UVH_BOUNDARY_LEN + 1];
    char content_type[UVH_BOUNDARY_LEN + 40]; /* "multipart/byteranges; boundary=..." */

    enum uvh_status after_close; /* what to answer once the descriptor is closed */
    uint8_t index_tried;
    size_t path_len;
    char path[UVH_PATH_MAX + 64]; /* root + "/" + relative path (+ "index.html"), NUL-terminated,
                                     bounded by uvh_static_build_path */
    char small[UVH_FILE_SMALL];   /* a small body, sent together with the head */
};

/* Answers GET or HEAD for the exchange. Returns UVH_STATUS_NONE when the answer will come
 * asynchronously, or a status for the connection to answer with at once. */
enum uvh_status uvh_static_handle(struct uvh_exchange *x);

/* Writes root + "/" + rel, plus "index.html" when rel is empty or ends in '/', NUL-terminated
 * into buf of cap bytes; sets *len (without the NUL) and *index (index.html was appended).
 * Returns 0, or UV_ENAMETOOLONG when it does not fit (buf then holds nothing usable). */
int uvh_static_build_path(char *buf, size_t cap, const char *root, size_t root_len, const char *rel,
                          size_t rel_len, size_t *len, bool *index);

/* The exchange ended: its file state goes back to the free list. */
void uvh_static_release(struct uvh_exchange *x);

/* The loop has ended: frees this thread's free list. */
void uvh_static_stop(void);

#endif
