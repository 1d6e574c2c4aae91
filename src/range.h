/* range.h - the Range request header (RFC 9110 section 14.2), single byte ranges only. */
#ifndef UVH_RANGE_H
#define UVH_RANGE_H

#include <stdint.h>

#include "slice.h"

enum uvh_range_result {
    UVH_RANGE_FULL,          /* no usable Range: send the whole representation (200) */
    UVH_RANGE_PARTIAL,       /* one satisfiable range (206) */
    UVH_RANGE_UNSATISFIABLE, /* 416 with Content-Range: bytes * / SIZE */
};

struct uvh_range {
    uint64_t start;
    uint64_t len;
};

/* Interprets a Range header against a resource of `size` bytes. Syntax errors, other units and
 * multi-range requests yield UVH_RANGE_FULL, as RFC 9110 allows a server to ignore them. */
enum uvh_range_result uvh_range_parse(struct uvh_slice header, uint64_t size,
                                      struct uvh_range *out);

#endif
