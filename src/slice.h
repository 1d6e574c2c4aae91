/* slice.h - a pointer and a length into memory someone else owns; never allocates. */
#ifndef UVH_SLICE_H
#define UVH_SLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* A view of bytes owned elsewhere; its lifetime is the owner's (see each field's comment). */
struct uvh_slice {
    const char *ptr;
    size_t len;
};

#define UVH_SLICE_LIT(s) ((struct uvh_slice){(s), sizeof(s) - 1})
/* The same, for static initializers. */
#define UVH_SLICE_INIT(s)                                                                          \
    {                                                                                              \
        (s), sizeof(s) - 1                                                                         \
    }

static inline struct uvh_slice uvh_slice_from(const char *s)
{
    return (struct uvh_slice){s, s ? strlen(s) : 0};
}

static inline char uvh_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

static inline bool uvh_slice_eq(struct uvh_slice a, struct uvh_slice b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline bool uvh_slice_eq_nocase(struct uvh_slice a, struct uvh_slice b)
{
    if (a.len != b.len)
        return false;
    for (size_t i = 0; i < a.len; i++)
        if (uvh_lower(a.ptr[i]) != uvh_lower(b.ptr[i]))
            return false;
    return true;
}

static inline bool uvh_slice_has_prefix_nocase(struct uvh_slice s, struct uvh_slice prefix)
{
    return s.len >= prefix.len &&
           uvh_slice_eq_nocase((struct uvh_slice){s.ptr, prefix.len}, prefix);
}

/* Strips spaces and horizontal tabs (RFC 9110 OWS) from both ends. */
static inline struct uvh_slice uvh_slice_trim(struct uvh_slice s)
{
    while (s.len && (s.ptr[0] == ' ' || s.ptr[0] == '\t')) {
        s.ptr++;
        s.len--;
    }
    while (s.len && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t'))
        s.len--;
    return s;
}

/* Splits off the next comma-separated element of a header list; returns false when none is left. */
static inline bool uvh_slice_next_list_item(struct uvh_slice *list, struct uvh_slice *item)
{
    while (list->len) {
        const char *comma = memchr(list->ptr, ',', list->len);
        size_t n = comma ? (size_t)(comma - list->ptr) : list->len;
        *item = uvh_slice_trim((struct uvh_slice){list->ptr, n});
        list->ptr += comma ? n + 1 : n;
        list->len -= comma ? n + 1 : n;
        if (item->len)
            return true;
    }
    return false;
}

#endif
