/* conditional.h - validators (ETag, Last-Modified) and the preconditions of RFC 9110 section 13. */
#ifndef UVH_CONDITIONAL_H
#define UVH_CONDITIONAL_H

#include <stdbool.h>
#include <stdint.h>

#include "slice.h"

#define UVH_ETAG_MAX 48

/* Formats a strong ETag ("\"<mtime s hex>.<mtime ns hex>-<size hex>\"") into out; returns its
 * length. */
size_t uvh_etag_format(uint64_t size, int64_t mtime_sec, int64_t mtime_nsec,
                       char out[UVH_ETAG_MAX]);

/* If-None-Match: true when any listed tag (or "*") weakly matches etag, i.e. send 304. */
bool uvh_cond_none_match_hit(struct uvh_slice header, struct uvh_slice etag);

/* If-Modified-Since: true when the resource was not modified after the given date (send 304).
 * An unparsable date is ignored (false). */
bool uvh_cond_not_modified_since(struct uvh_slice header, int64_t mtime_sec);

/* If-Range: true when the Range header may be honoured: a strong ETag match, or an exact
 * Last-Modified date match. Absent header: true. */
bool uvh_cond_if_range_ok(struct uvh_slice header, struct uvh_slice etag, int64_t mtime_sec);

#endif
