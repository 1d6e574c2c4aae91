/* log.h - leveled, timestamped, batched logging to stderr; escaping of client bytes. */
#ifndef UVH_LOG_H
#define UVH_LOG_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "slice.h"

enum uvh_log_level { UVH_LOG_ERROR, UVH_LOG_WARN, UVH_LOG_INFO, UVH_LOG_DEBUG };

/* The only mutable global besides the sink: set in main before the loop starts. */
extern enum uvh_log_level uvh_log_threshold;

#if defined(__GNUC__)
#define UVH_PRINTF(fmt_idx, arg_idx) __attribute__((format(printf, fmt_idx, arg_idx)))
#else
#define UVH_PRINTF(fmt_idx, arg_idx)
#endif

/* Checks the level before any formatting work is done (redis serverLog). */
#define uvh_log(level, ...)                                                                        \
    do {                                                                                           \
        if ((level) <= uvh_log_threshold)                                                          \
            uvh_log_write((level), 0, __VA_ARGS__);                                                \
    } while (0)

/* Like uvh_log, tagged with a connection id. */
#define uvh_clog(level, conn_id, ...)                                                              \
    do {                                                                                           \
        if ((level) <= uvh_log_threshold)                                                          \
            uvh_log_write((level), (conn_id), __VA_ARGS__);                                        \
    } while (0)

/* Like uvh_log, with ": <uv_err_name>: <uv_strerror>" appended for a libuv error code. */
#define uvh_log_uv(level, err, ...)                                                                \
    do {                                                                                           \
        if ((level) <= uvh_log_threshold)                                                          \
            uvh_log_write_uv((level), 0, (err), __VA_ARGS__);                                      \
    } while (0)

/* Like uvh_log, whatever the threshold: for the readiness line ("HTTP Server started on URL"),
 * which scripts wait for at every --log-level. */
#define uvh_log_always(level, ...) uvh_log_write((level), 0, __VA_ARGS__)

/* Formats one line into the batch buffer; lines are written out by uvh_log_flush. */
void uvh_log_write(enum uvh_log_level level, uint64_t conn_id, const char *fmt, ...)
    UVH_PRINTF(3, 4);

/* Like uvh_log_write, for a message the caller built already (strbuf.h): no printf on the
 * per-request lines. The caller checks the level (uvh_log_enabled). */
void uvh_log_write_msg(enum uvh_log_level level, uint64_t conn_id, const char *msg, size_t len);

/* True when lines of this level are written. */
#define uvh_log_enabled(level) ((level) <= uvh_log_threshold)

/* uvh_log_write plus the libuv error's name and message. */
void uvh_log_write_uv(enum uvh_log_level level, uint64_t conn_id, int err, const char *fmt, ...)
    UVH_PRINTF(4, 5);

/* Names this thread's worker (1..N) in its lines, "[w2#17]" instead of "[#17]"; 0 names none.
 */
void uvh_log_set_worker(unsigned worker);

/* Writes out buffered lines; called once per loop iteration and at exit. */
void uvh_log_flush(void);

/* Parses "error|warn|info|debug"; returns 0 or UV_EINVAL. */
int uvh_log_parse_level(const char *s, enum uvh_log_level *out);

/* Copies client bytes into dst as printable ASCII: control bytes, quotes, backslashes and bytes
 * >= 0x7f become \xNN. Always NUL-terminates; a truncated result ends in "...". Returns dst. */
char *uvh_log_escape(char *dst, size_t cap, struct uvh_slice src);

#endif
