/* strbuf.h - appends text to a fixed buffer the caller owns, without printf: the hot paths
 * (response heads, the access line) format a few strings and numbers per request, and
 * vsnprintf's machinery cost more than the rest of the request's user time together. Never
 * allocates; a piece that does not fit is cut and `full` is set, so the caller decides whether
 * a cut line is acceptable (a log line) or not (a response head). */
#ifndef UVH_STRBUF_H
#define UVH_STRBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "slice.h"

struct uvh_strbuf {
    char *p;
    size_t len, cap;
    bool full; /* something did not fit (and was cut) */
};

static inline struct uvh_strbuf uvh_sb(char *buf, size_t cap)
{
    return (struct uvh_strbuf){buf, 0, cap, false};
}

static inline void uvh_sb_mem(struct uvh_strbuf *b, const void *s, size_t n)
{
    if (n > b->cap - b->len) {
        n = b->cap - b->len;
        b->full = true;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static inline void uvh_sb_str(struct uvh_strbuf *b, const char *s)
{
    uvh_sb_mem(b, s, strlen(s));
}

static inline void uvh_sb_slice(struct uvh_strbuf *b, struct uvh_slice s)
{
    uvh_sb_mem(b, s.ptr, s.len);
}

static inline void uvh_sb_char(struct uvh_strbuf *b, char c)
{
    uvh_sb_mem(b, &c, 1);
}

/* Decimal, at least `width` digits (zero-padded). */
static inline void uvh_sb_uint(struct uvh_strbuf *b, uint64_t v, unsigned width)
{
    char tmp[20];
    unsigned n = 0;
    do {
        tmp[sizeof(tmp) - ++n] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < sizeof(tmp));
    while (n < width && n < sizeof(tmp))
        tmp[sizeof(tmp) - ++n] = '0';
    uvh_sb_mem(b, tmp + sizeof(tmp) - n, n);
}

static inline void uvh_sb_u64(struct uvh_strbuf *b, uint64_t v)
{
    uvh_sb_uint(b, v, 1);
}

/* Lower-case hexadecimal, no prefix. */
static inline void uvh_sb_hex(struct uvh_strbuf *b, uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[16];
    unsigned n = 0;
    do {
        tmp[sizeof(tmp) - ++n] = digits[v & 15];
        v >>= 4;
    } while (v);
    uvh_sb_mem(b, tmp + sizeof(tmp) - n, n);
}

/* A duration in nanoseconds as milliseconds with two decimals ("%.2f" of ns / 1e6, rounded
 * half up). */
static inline void uvh_sb_ms2(struct uvh_strbuf *b, uint64_t ns)
{
    uint64_t hundredths = (ns + 5000) / 10000;
    uvh_sb_u64(b, hundredths / 100);
    uvh_sb_char(b, '.');
    uvh_sb_uint(b, hundredths % 100, 2);
}

#endif
