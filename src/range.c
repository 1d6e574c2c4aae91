/* range.c - parses "bytes=first-last", "bytes=first-" and "bytes=-suffix". Pure: no I/O. */
#include "range.h"

/* Reads 1..19 digits; returns -1 if there are none or too many. */
static int parse_u64(struct uvh_slice *s, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;
    while (i < s->len && s->ptr[i] >= '0' && s->ptr[i] <= '9') {
        if (i == 19)
            return -1;
        v = v * 10 + (uint64_t)(s->ptr[i] - '0');
        i++;
    }
    if (i == 0)
        return -1;
    s->ptr += i;
    s->len -= i;
    *out = v;
    return 0;
}

enum uvh_range_result uvh_range_parse(struct uvh_slice h, uint64_t size, struct uvh_range *out)
{
    uint64_t first = 0, last = 0;
    bool suffix = false, open_end = false;

    h = uvh_slice_trim(h);
    if (!uvh_slice_has_prefix_nocase(h, UVH_SLICE_LIT("bytes=")))
        return UVH_RANGE_FULL;
    h.ptr += 6;
    h.len -= 6;
    h = uvh_slice_trim(h);
    if (h.len && h.ptr[0] == '-') {
        suffix = true;
        h.ptr++;
        h.len--;
        if (parse_u64(&h, &last) != 0)
            return UVH_RANGE_FULL;
    } else {
        if (parse_u64(&h, &first) != 0 || h.len == 0 || h.ptr[0] != '-')
            return UVH_RANGE_FULL;
        h.ptr++;
        h.len--;
        if (h.len == 0 || h.ptr[0] < '0' || h.ptr[0] > '9')
            open_end = true;
        else if (parse_u64(&h, &last) != 0)
            return UVH_RANGE_FULL;
    }
    h = uvh_slice_trim(h);
    if (h.len != 0) /* a second range, or junk: serve the whole file */
        return UVH_RANGE_FULL;

    if (suffix) {
        if (last == 0 || size == 0)
            return UVH_RANGE_UNSATISFIABLE;
        out->len = last < size ? last : size;
        out->start = size - out->len;
        return UVH_RANGE_PARTIAL;
    }
    if (!open_end && last < first)
        return UVH_RANGE_FULL; /* invalid range-spec: ignore the header */
    if (first >= size)
        return UVH_RANGE_UNSATISFIABLE;
    if (open_end || last >= size)
        last = size - 1;
    out->start = first;
    out->len = last - first + 1;
    return UVH_RANGE_PARTIAL;
}
