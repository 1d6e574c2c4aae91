/* file_cache.h - what the file system last said about a path under the root: the open job's
 * verdict, the file's metadata and, for a small regular file, its bytes. Bounded by a byte
 * budget with least-recently-used eviction, and trusted only for a validity window, like
 * lighttpd's stat cache and nginx's open_file_cache_valid. Pure data: no I/O, no clock. A
 * regular file's entry also holds its ETag and Last-Modified, formatted once. */
#ifndef UVH_FILE_CACHE_H
#define UVH_FILE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conditional.h"
#include "date.h"

/* One path's facts. The strings live in the same allocation as the entry. */
struct uvh_fc_entry {
    struct uvh_fc_entry *hnext;       /* the hash chain */
    struct uvh_fc_entry *prev, *next; /* the LRU list, most recently used first */
    uint64_t checked_ms;              /* when the file system last said this */
    uint32_t hash;
    int result;      /* 0, or the libuv error opening the path met (UV_ENOENT, ...) */
    bool escaped;    /* its real path leaves the root or names a hidden file */
    uint32_t mode;   /* st_mode when result is 0 */
    uint64_t size;   /* st_size */
    int64_t mtime_s; /* st_mtim */
    int64_t mtime_ns;
    /* The head's per-file parts, formatted once at store (regular files): the validators. */
    uint8_t etag_len;
    char etag[UVH_ETAG_MAX];
    char last_modified[UVH_DATE_LEN + 1];
    size_t bytes; /* what the entry costs against the budget */
    size_t key_len;
    size_t data_len;  /* bytes of the file in data (a regular file), else 0 */
    const char *data; /* the file's bytes when it is small enough to keep, else NULL */
    char key[];       /* the path, NUL-terminated; the data follows it */
};

/* The facts to store, as the open job found them (key and data are passed apart). */
struct uvh_fc_facts {
    int result;
    bool escaped;
    uint32_t mode;
    uint64_t size;
    int64_t mtime_s, mtime_ns;
    const char *data; /* NULL: not kept */
    size_t data_len;
};

struct uvh_fc {
    size_t budget;        /* bytes all entries may cost together */
    size_t entry_max;     /* the largest file whose bytes are kept */
    uint64_t validity_ms; /* how long an entry is trusted */
    size_t used;          /* bytes the entries cost now */
    size_t n;             /* entries */
    size_t nbuckets;      /* a power of two */
    struct uvh_fc_entry **buckets;
    struct uvh_fc_entry *head, *tail;
    uint64_t hits, misses, stale, evictions; /* counters for the logs and the benchmark */
};

/* Prepares an empty cache; budget 0 disables it (every lookup misses, nothing is stored).
 * Returns 0, or -1 when out of memory. */
int uvh_fc_init(struct uvh_fc *c, size_t budget, size_t entry_max, uint64_t validity_ms);

/* Frees every entry. */
void uvh_fc_deinit(struct uvh_fc *c);

/* The entry for key when one is there and was checked less than validity_ms before now_ms;
 * it becomes the most recently used. A stale entry is dropped. NULL otherwise. The entry stays
 * valid until the next store or deinit. */
const struct uvh_fc_entry *uvh_fc_lookup(struct uvh_fc *c, const char *key, size_t key_len,
                                         uint64_t now_ms);

/* Stores what the file system said about key, replacing any entry for it, then evicts the
 * least recently used entries until the cache is within its budget. The bytes are kept only
 * up to entry_max; an entry that could never fit the budget is not stored. Returns 0, or -1
 * when not stored. */
int uvh_fc_store(struct uvh_fc *c, const char *key, size_t key_len, const struct uvh_fc_facts *f,
                 uint64_t now_ms);

/* Drops the entry for key, if any. */
void uvh_fc_forget(struct uvh_fc *c, const char *key, size_t key_len);

#endif
