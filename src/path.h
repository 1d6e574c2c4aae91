/* path.h - turns a request target's path into a safe path relative to the document root. */
#ifndef UVH_PATH_H
#define UVH_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include "http_status.h"
#include "slice.h"

/* Percent-decodes `raw` (the path part of the target, starting with '/') once and checks every
 * segment. On success writes the relative path ("" for "/", "a/b.txt", "dir/") NUL-terminated
 * into out and returns UVH_STATUS_OK. Bad encoding, NUL or control bytes -> 400; empty, "." or
 * ".." segments, dotfiles, backslashes, colons (and on Windows reserved device names or a
 * trailing dot or space) -> 403; longer than cap -> 404 (no such file), decided where it no
 * longer fits: pass cap > raw.len (decoding never lengthens) for every rule to see all of it. */
enum uvh_status uvh_path_resolve(struct uvh_slice raw, char *out, size_t cap, size_t *out_len);

/* The segment checks alone; `windows` adds the Windows-only rules. Returns OK or 403. */
enum uvh_status uvh_path_check_segment(struct uvh_slice seg, bool windows);

#endif
