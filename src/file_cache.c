/* file_cache.c - owns the file cache's entries: a chained hash table for lookups and one
 * doubly linked list for recency; every entry is one allocation, charged to the budget with
 * its key, its bytes and its share of the table. */
#include "file_cache.h"

#include <stdlib.h>
#include <string.h>

/* About one bucket for each kilobyte of budget: short chains for the small entries (a miss or
 * a small page costs a few hundred bytes), bounded for large budgets. */
#define BUCKET_BYTES 1024
#define BUCKETS_MIN 64
#define BUCKETS_MAX (1u << 20)

static uint32_t hash_of(const char *p, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 16777619u;
    return h;
}

int uvh_fc_init(struct uvh_fc *c, size_t budget, size_t entry_max, uint64_t validity_ms)
{
    memset(c, 0, sizeof(*c));
    c->budget = budget;
    c->entry_max = entry_max;
    c->validity_ms = validity_ms;
    if (budget == 0)
        return 0;
    size_t want = budget / BUCKET_BYTES, n = BUCKETS_MIN;
    while (n < want && n < BUCKETS_MAX)
        n *= 2;
    c->buckets = calloc(n, sizeof(*c->buckets));
    if (!c->buckets)
        return -1;
    c->nbuckets = n;
    return 0;
}

static void lru_unlink(struct uvh_fc *c, struct uvh_fc_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push_front(struct uvh_fc *c, struct uvh_fc_entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (!c->tail)
        c->tail = e;
}

static struct uvh_fc_entry **slot_of(struct uvh_fc *c, const char *key, size_t len, uint32_t h)
{
    struct uvh_fc_entry **pp = &c->buckets[h & (c->nbuckets - 1)];
    while (*pp && !((*pp)->hash == h && (*pp)->key_len == len && memcmp((*pp)->key, key, len) == 0))
        pp = &(*pp)->hnext;
    return pp;
}

static void drop(struct uvh_fc *c, struct uvh_fc_entry **pp)
{
    struct uvh_fc_entry *e = *pp;
    *pp = e->hnext;
    lru_unlink(c, e);
    c->used -= e->bytes;
    c->n--;
    free(e);
}

void uvh_fc_deinit(struct uvh_fc *c)
{
    while (c->head) {
        struct uvh_fc_entry *e = c->head;
        drop(c, slot_of(c, e->key, e->key_len, e->hash));
    }
    free(c->buckets);
    c->buckets = NULL;
    c->nbuckets = 0;
}

const struct uvh_fc_entry *uvh_fc_lookup(struct uvh_fc *c, const char *key, size_t key_len,
                                         uint64_t now_ms)
{
    if (!c->nbuckets)
        return NULL;
    uint32_t h = hash_of(key, key_len);
    struct uvh_fc_entry **pp = slot_of(c, key, key_len, h);
    if (!*pp) {
        c->misses++;
        return NULL;
    }
    if (now_ms - (*pp)->checked_ms >= c->validity_ms) {
        c->stale++;
        drop(c, pp);
        return NULL;
    }
    struct uvh_fc_entry *e = *pp;
    c->hits++;
    lru_unlink(c, e);
    lru_push_front(c, e);
    return e;
}

void uvh_fc_forget(struct uvh_fc *c, const char *key, size_t key_len)
{
    if (!c->nbuckets)
        return;
    struct uvh_fc_entry **pp = slot_of(c, key, key_len, hash_of(key, key_len));
    if (*pp)
        drop(c, pp);
}

int uvh_fc_store(struct uvh_fc *c, const char *key, size_t key_len, const struct uvh_fc_facts *f,
                 uint64_t now_ms)
{
    if (!c->nbuckets)
        return -1;
    size_t data_len = f->data && f->data_len <= c->entry_max ? f->data_len : 0;
    size_t bytes = sizeof(struct uvh_fc_entry) + key_len + 1 + data_len;
    uint32_t h = hash_of(key, key_len);
    struct uvh_fc_entry **pp = slot_of(c, key, key_len, h);
    if (*pp)
        drop(c, pp);
    if (bytes > c->budget)
        return -1;
    struct uvh_fc_entry *e = malloc(bytes);
    if (!e)
        return -1;
    e->checked_ms = now_ms;
    e->hash = h;
    e->result = f->result;
    e->escaped = f->escaped;
    e->mode = f->mode;
    e->size = f->size;
    e->mtime_s = f->mtime_s;
    e->mtime_ns = f->mtime_ns;
    e->etag_len = 0;
    e->last_modified[0] = '\0';
    if (f->result == 0 && !f->escaped) {
        e->etag_len = (uint8_t)uvh_etag_format(f->size, f->mtime_s, f->mtime_ns, e->etag);
        uvh_date_format(f->mtime_s, e->last_modified);
    }
    e->bytes = bytes;
    e->key_len = key_len;
    memcpy(e->key, key, key_len);
    e->key[key_len] = '\0';
    e->data_len = data_len;
    e->data = NULL;
    if (data_len) {
        memcpy(e->key + key_len + 1, f->data, data_len);
        e->data = e->key + key_len + 1;
    } else if (f->data && f->data_len == 0) {
        e->data = e->key + key_len; /* an empty file, kept: "" */
    }
    /* Make room first: the least recently used entries go. */
    while (c->used + bytes > c->budget && c->tail) {
        struct uvh_fc_entry *old = c->tail;
        drop(c, slot_of(c, old->key, old->key_len, old->hash));
        c->evictions++;
    }
    e->hnext = NULL;
    *slot_of(c, key, key_len, h) = e;
    lru_push_front(c, e);
    c->used += bytes;
    c->n++;
    return 0;
}
