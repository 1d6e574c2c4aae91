/* mime.c - owns the extension -> media type table. Lookups never allocate; the table is
 * sorted so it can be searched with bsearch. */
#include "mime.h"

#include <stdlib.h>
#include <string.h>

#define OCTET "application/octet-stream"

struct mime_row {
    const char *ext;
    const char *type;
};

/* Sorted by extension; application/octet-stream means a download. */
static const struct mime_row mime_table[] = {
    {"htm", "text/html; charset=utf-8"},
    {"html", "text/html; charset=utf-8"},
    {"jpeg", OCTET},
    {"jpg", OCTET},
    {"json", "application/json"},
    {"png", OCTET},
    {"txt", OCTET},
};

static int cmp_row(const void *key, const void *row)
{
    return strcmp((const char *)key, ((const struct mime_row *)row)->ext);
}

static bool eq_nocase_cstr(const char *a, const char *b)
{
    while (*a && *b && uvh_lower(*a) == uvh_lower(*b)) {
        a++;
        b++;
    }
    return *a == '\0' && *b == '\0';
}

struct uvh_mime_type uvh_mime_lookup(const struct uvh_config *cfg, struct uvh_slice filename)
{
    struct uvh_mime_type none = {NULL, false};
    char ext[17];
    size_t i = filename.len;

    while (i > 0 && filename.ptr[i - 1] != '.' && filename.ptr[i - 1] != '/')
        i--;
    if (i == 0 || filename.ptr[i - 1] != '.' || filename.len - i == 0 ||
        filename.len - i >= sizeof(ext))
        return none;
    size_t n = filename.len - i;
    for (size_t k = 0; k < n; k++)
        ext[k] = uvh_lower(filename.ptr[i + k]);
    ext[n] = '\0';

    const char *type = NULL;
    for (size_t k = cfg ? cfg->n_mime : 0; k > 0 && !type; k--)
        if (eq_nocase_cstr(cfg->mime[k - 1].ext, ext))
            type = cfg->mime[k - 1].type;
    if (!type) {
        const struct mime_row *row =
            bsearch(ext, mime_table, sizeof(mime_table) / sizeof(mime_table[0]),
                    sizeof(mime_table[0]), cmp_row);
        type = row ? row->type : NULL;
    }
    if (!type)
        return none;
    return (struct uvh_mime_type){type, strcmp(type, OCTET) == 0};
}
