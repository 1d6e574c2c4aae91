/* conditional.c - owns ETag formatting and If-None-Match / If-Modified-Since / If-Range
 * evaluation. Pure functions over slices; the static handler decides what to send. */
#include "conditional.h"

#include <stdio.h>

#include "date.h"
#include "strbuf.h"

size_t uvh_etag_format(uint64_t size, int64_t mtime_sec, int64_t mtime_nsec, char out[UVH_ETAG_MAX])
{
    /* "\"MTIME.NSEC-SIZE\"" in hex: at most 2 + 3 * 16 + 2 = 52 > UVH_ETAG_MAX - 1, so the
     * buffer cuts it as snprintf did; real values are far shorter. */
    struct uvh_strbuf b = uvh_sb(out, UVH_ETAG_MAX - 1);
    uvh_sb_char(&b, '"');
    uvh_sb_hex(&b, (uint64_t)mtime_sec);
    uvh_sb_char(&b, '.');
    uvh_sb_hex(&b, (uint64_t)mtime_nsec);
    uvh_sb_char(&b, '-');
    uvh_sb_hex(&b, size);
    uvh_sb_char(&b, '"');
    out[b.len] = '\0';
    return b.len;
}

/* Drops a W/ prefix: weak comparison looks at the opaque tag only (RFC 9110 section 8.8.3.2). */
static struct uvh_slice opaque(struct uvh_slice tag)
{
    if (tag.len >= 2 && tag.ptr[0] == 'W' && tag.ptr[1] == '/') {
        tag.ptr += 2;
        tag.len -= 2;
    }
    return tag;
}

bool uvh_cond_none_match_hit(struct uvh_slice header, struct uvh_slice etag)
{
    struct uvh_slice item;
    header = uvh_slice_trim(header);
    if (header.len == 1 && header.ptr[0] == '*')
        return true;
    while (uvh_slice_next_list_item(&header, &item))
        if (uvh_slice_eq(opaque(item), opaque(etag)))
            return true;
    return false;
}

bool uvh_cond_not_modified_since(struct uvh_slice header, int64_t mtime_sec)
{
    int64_t since;
    if (uvh_date_parse(uvh_slice_trim(header), &since) != 0)
        return false;
    return mtime_sec <= since;
}

bool uvh_cond_if_range_ok(struct uvh_slice header, struct uvh_slice etag, int64_t mtime_sec)
{
    int64_t date;
    header = uvh_slice_trim(header);
    if (header.ptr == NULL)
        return true;
    if (header.len && header.ptr[0] == '"') /* strong comparison: a weak tag never matches */
        return uvh_slice_eq(header, etag);
    if (header.len >= 2 && header.ptr[0] == 'W' && header.ptr[1] == '/')
        return false;
    return uvh_date_parse(header, &date) == 0 && date == mtime_sec;
}
