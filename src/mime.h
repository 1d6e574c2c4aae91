/* mime.h - file extension to media type, from one sorted table plus --mime overrides. */
#ifndef UVH_MIME_H
#define UVH_MIME_H

#include <stdbool.h>

#include "config.h"
#include "slice.h"

struct uvh_mime_type {
    const char *type; /* NULL: not in the table */
    bool download;    /* sent with Content-Disposition: attachment */
};

/* Looks up a file name's extension (case-insensitive); overrides win over the defaults. */
struct uvh_mime_type uvh_mime_lookup(const struct uvh_config *cfg, struct uvh_slice filename);

#endif
