/* path.c - owns request-path decoding and confinement rules. It never touches the file system:
 * symlink containment is checked by the static handler on the real path. */
#include "path.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = uvh_lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static bool is_reserved_device(struct uvh_slice seg)
{
    static const char *const names[] = {"con", "prn", "aux", "nul"};
    size_t base = 0;
    while (base < seg.len && seg.ptr[base] != '.')
        base++;
    struct uvh_slice stem = {seg.ptr, base};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (uvh_slice_eq_nocase(stem, uvh_slice_from(names[i])))
            return true;
    if (stem.len == 4 && stem.ptr[3] >= '1' && stem.ptr[3] <= '9' &&
        (uvh_slice_has_prefix_nocase(stem, UVH_SLICE_LIT("com")) ||
         uvh_slice_has_prefix_nocase(stem, UVH_SLICE_LIT("lpt"))))
        return true;
    return false;
}

enum uvh_status uvh_path_check_segment(struct uvh_slice seg, bool windows)
{
    if (seg.len == 0 || seg.ptr[0] == '.') /* "", ".", "..", dotfiles and dot-directories */
        return UVH_STATUS_FORBIDDEN;
    for (size_t i = 0; i < seg.len; i++)
        if (seg.ptr[i] == '\\' || seg.ptr[i] == ':')
            return UVH_STATUS_FORBIDDEN;
    if (windows &&
        (seg.ptr[seg.len - 1] == '.' || seg.ptr[seg.len - 1] == ' ' || is_reserved_device(seg)))
        return UVH_STATUS_FORBIDDEN;
    return UVH_STATUS_OK;
}

enum uvh_status uvh_path_resolve(struct uvh_slice raw, char *out, size_t cap, size_t *out_len)
{
#ifdef _WIN32
    const bool windows = true;
#else
    const bool windows = false;
#endif
    size_t o = 0;

    if (raw.len == 0 || raw.ptr[0] != '/')
        return UVH_STATUS_BAD_REQUEST;
    for (size_t i = 1; i < raw.len; i++) {
        char c = raw.ptr[i];
        if (c == '%') {
            int hi = i + 2 < raw.len ? hexval(raw.ptr[i + 1]) : -1;
            int lo = hi >= 0 ? hexval(raw.ptr[i + 2]) : -1;
            if (lo < 0)
                return UVH_STATUS_BAD_REQUEST;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if ((unsigned char)c < 0x20 || c == 0x7f)
            return UVH_STATUS_BAD_REQUEST;
        if (o + 1 >= cap) /* no file has this name: ENAMETOOLONG */
            return UVH_STATUS_NOT_FOUND;
        out[o++] = c;
    }
    out[o] = '\0';

    /* Every segment must pass; only the last may be empty (a trailing slash). */
    size_t start = 0;
    for (size_t i = 0; i <= o; i++) {
        if (i < o && out[i] != '/')
            continue;
        struct uvh_slice seg = {out + start, i - start};
        bool last_empty = i == o && seg.len == 0;
        if (!last_empty) {
            enum uvh_status st = uvh_path_check_segment(seg, windows);
            if (st != UVH_STATUS_OK)
                return st;
        }
        start = i + 1;
    }
    *out_len = o;
    return UVH_STATUS_OK;
}
