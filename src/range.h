/* range.h - the Range request header (RFC 9110 section 14.2): byte-range sets, sorted and
 * coalesced, of at most UVH_RANGE_MAX ranges. */
#ifndef UVH_RANGE_H
#define UVH_RANGE_H

#include <stddef.h>
#include <stdint.h>

#include "slice.h"

/* At most this many ranges after coalescing; a request for more gets the whole file (200), as
 * RFC 9110 section 14.2 lets a server ignore a Range header. */
#define UVH_RANGE_MAX 8

enum uvh_range_result {
    UVH_RANGE_FULL,          /* no usable Range: send the whole representation (200) */
    UVH_RANGE_PARTIAL,       /* one or more satisfiable ranges (206) */
    UVH_RANGE_UNSATISFIABLE, /* 416 with Content-Range: bytes * / SIZE */
};

struct uvh_range {
    uint64_t start;
    uint64_t len;
};

/* The satisfiable ranges of a request, sorted by start; overlapping and adjacent ones are merged
 * (RFC 9110 section 14.6 allows it), so any two are at least one byte apart. */
struct uvh_range_set {
    size_t count;
    struct uvh_range r[UVH_RANGE_MAX];
};

/* Interprets a Range header against a resource of `size` bytes. PARTIAL fills `out` with one or
 * more ranges; unsatisfiable members are dropped, and UNSATISFIABLE means none was left. Syntax
 * errors in any member, other units, and sets that grow past UVH_RANGE_MAX separate ranges while
 * being read in order yield UVH_RANGE_FULL. */
enum uvh_range_result uvh_range_parse_set(struct uvh_slice header, uint64_t size,
                                          struct uvh_range_set *out);

/* The same for a caller that serves one range only: a set that does not coalesce into a single
 * range yields UVH_RANGE_FULL. */
enum uvh_range_result uvh_range_parse(struct uvh_slice header, uint64_t size,
                                      struct uvh_range *out);

#endif
