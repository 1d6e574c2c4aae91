/* date.h - HTTP dates (RFC 9110 section 5.6.7): IMF-fixdate out, all three formats in. */
#ifndef UVH_DATE_H
#define UVH_DATE_H

#include <stdint.h>

#include "slice.h"

#define UVH_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/* Writes the IMF-fixdate for a Unix time into out (UVH_DATE_LEN chars plus a NUL). */
void uvh_date_format(int64_t unix_seconds, char out[UVH_DATE_LEN + 1]);

/* Parses an IMF-fixdate, RFC 850 or asctime date; returns 0 or -1. */
int uvh_date_parse(struct uvh_slice s, int64_t *unix_seconds);

#endif
