/* range.c - parses byte-range sets: "bytes=" then a list of "first-last", "first-" and "-suffix"
 * (RFC 9110 section 14.1.1), sorted and coalesced into at most UVH_RANGE_MAX ranges. Pure: no I/O.
 */
#include "range.h"

#include <string.h>

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

enum spec_result { SPEC_INVALID, SPEC_OK, SPEC_UNSATISFIABLE };

/* One range-spec, already stripped of OWS, against a resource of `size` bytes. */
static enum spec_result parse_spec(struct uvh_slice h, uint64_t size, struct uvh_range *out)
{
    uint64_t first = 0, last = 0;
    bool suffix = false, open_end = false;

    if (h.len && h.ptr[0] == '-') {
        suffix = true;
        h.ptr++;
        h.len--;
        if (parse_u64(&h, &last) != 0)
            return SPEC_INVALID;
    } else {
        if (parse_u64(&h, &first) != 0 || h.len == 0 || h.ptr[0] != '-')
            return SPEC_INVALID;
        h.ptr++;
        h.len--;
        if (h.len == 0)
            open_end = true;
        else if (parse_u64(&h, &last) != 0)
            return SPEC_INVALID;
    }
    if (h.len != 0) /* junk after the spec */
        return SPEC_INVALID;

    if (suffix) {
        if (last == 0 || size == 0)
            return SPEC_UNSATISFIABLE;
        out->len = last < size ? last : size;
        out->start = size - out->len;
        return SPEC_OK;
    }
    if (!open_end && last < first)
        return SPEC_INVALID; /* invalid range-spec: the header is ignored */
    if (first >= size)
        return SPEC_UNSATISFIABLE;
    if (open_end || last >= size)
        last = size - 1;
    out->start = first;
    out->len = last - first + 1;
    return SPEC_OK;
}

/* Merges r into the sorted set together with every range it overlaps or touches; -1 when the
 * set would hold more than UVH_RANGE_MAX ranges. Ends never overflow: start + len <= size. */
static int add_range(struct uvh_range_set *set, struct uvh_range r)
{
    uint64_t start = r.start, end = r.start + r.len; /* end is exclusive */
    size_t i = 0, j;

    while (i < set->count && set->r[i].start + set->r[i].len < start)
        i++; /* r[i] is the first range that reaches start, or follows it */
    j = i;
    while (j < set->count && set->r[j].start <= end)
        j++; /* r[i..j-1] overlap or touch [start, end) */
    if (j > i) {
        if (set->r[i].start < start)
            start = set->r[i].start;
        if (set->r[j - 1].start + set->r[j - 1].len > end)
            end = set->r[j - 1].start + set->r[j - 1].len;
    }
    size_t count = set->count - (j - i) + 1;
    if (count > UVH_RANGE_MAX)
        return -1;
    memmove(&set->r[i + 1], &set->r[j], (set->count - j) * sizeof(set->r[0]));
    set->r[i] = (struct uvh_range){start, end - start};
    set->count = count;
    return 0;
}

enum uvh_range_result uvh_range_parse_set(struct uvh_slice h, uint64_t size,
                                          struct uvh_range_set *out)
{
    struct uvh_slice spec;
    bool any = false;

    out->count = 0;
    h = uvh_slice_trim(h);
    if (!uvh_slice_has_prefix_nocase(h, UVH_SLICE_LIT("bytes=")))
        return UVH_RANGE_FULL;
    h.ptr += 6;
    h.len -= 6;
    /* 1#range-spec: OWS around commas and empty elements are allowed (RFC 9110 5.6.1.2). */
    while (uvh_slice_next_list_item(&h, &spec)) {
        struct uvh_range r;
        switch (parse_spec(spec, size, &r)) {
        case SPEC_INVALID:
            out->count = 0;
            return UVH_RANGE_FULL;
        case SPEC_UNSATISFIABLE:
            break;
        case SPEC_OK:
            if (add_range(out, r) != 0) {
                out->count = 0;
                return UVH_RANGE_FULL; /* too many ranges: serving the whole file is allowed */
            }
            break;
        }
        any = true;
    }
    if (!any)
        return UVH_RANGE_FULL;
    return out->count ? UVH_RANGE_PARTIAL : UVH_RANGE_UNSATISFIABLE;
}

enum uvh_range_result uvh_range_parse(struct uvh_slice h, uint64_t size, struct uvh_range *out)
{
    struct uvh_range_set set;
    enum uvh_range_result res = uvh_range_parse_set(h, size, &set);
    if (res != UVH_RANGE_PARTIAL)
        return res;
    if (set.count != 1)
        return UVH_RANGE_FULL;
    *out = set.r[0];
    return UVH_RANGE_PARTIAL;
}
