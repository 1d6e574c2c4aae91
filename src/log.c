/* log.c - owns the log threshold and the batch buffer behind stderr. It must not block on
 * anything but the final write, and never formats a line whose level is filtered out. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "strbuf.h"

enum uvh_log_level uvh_log_threshold = UVH_LOG_INFO;

/* Lines wait here until a loop's prepare phase (or a full buffer) writes them in one call.
 * Every thread formats its line on its own stack, then copies it whole into the batch under
 * log_mutex: lines from several loops never mix. Two batches: a flush swaps them under
 * log_mutex and writes the full one under write_mutex only, so loops go on logging into the
 * other while stderr is being written; write_mutex keeps the batches in order. */
#define LOG_BATCH 16384
#define LOG_LINE_MAX 2048

static uv_once_t log_once = UV_ONCE_INIT;
static uv_mutex_t log_mutex;   /* the batch being filled: log_buf[log_cur], log_len */
static uv_mutex_t write_mutex; /* one flush at a time */
static char log_buf[2][LOG_BATCH];
static unsigned log_cur;
static size_t log_len;
static _Thread_local time_t stamp_sec = (time_t)-1;
static _Thread_local char stamp[32];
static _Thread_local unsigned log_worker; /* this thread's worker number, 0: none shown */

static const char *const level_names[] = {"error", "warn", "info", "debug"};

static void log_init(void)
{
    if (uv_mutex_init(&log_mutex) != 0 || uv_mutex_init(&write_mutex) != 0)
        abort();
}

void uvh_log_set_worker(unsigned worker)
{
    log_worker = worker;
}

static void flush(void)
{
    uv_mutex_lock(&write_mutex);
    uv_mutex_lock(&log_mutex);
    const char *full = log_buf[log_cur];
    size_t n = log_len;
    log_cur ^= 1;
    log_len = 0;
    uv_mutex_unlock(&log_mutex);
    if (n) {
        fwrite(full, 1, n, stderr);
        fflush(stderr);
    }
    uv_mutex_unlock(&write_mutex);
}

/* Local time, re-formatted only when the second changes. */
static const char *timestamp(void)
{
    time_t now = time(NULL);
    if (now != stamp_sec) {
        struct tm tm;
#ifdef _WIN32
        localtime_s(&tm, &now);
#else
        localtime_r(&now, &tm);
#endif
        strftime(stamp, sizeof(stamp), "[%Y-%m-%d %H:%M:%S]", &tm);
        stamp_sec = now;
    }
    return stamp;
}

/* "[date] [level] [wN#id] " into line (the worker only with several loops, the id only for a
 * connection's line); returns its length. Outside the lock: the timestamp is per thread. */
static size_t format_prefix(char *line, size_t cap, enum uvh_log_level level, uint64_t conn_id)
{
    struct uvh_strbuf b = uvh_sb(line, cap);
    uvh_sb_str(&b, timestamp());
    uvh_sb_str(&b, " [");
    uvh_sb_str(&b, level_names[level]);
    uvh_sb_str(&b, "] ");
    if (conn_id || log_worker) {
        uvh_sb_char(&b, '[');
        if (log_worker) {
            uvh_sb_char(&b, 'w');
            uvh_sb_u64(&b, log_worker);
        }
        if (conn_id) {
            uvh_sb_char(&b, '#');
            uvh_sb_u64(&b, conn_id);
        }
        uvh_sb_str(&b, "] ");
    }
    return b.len;
}

/* Copies one finished line (its newline included) whole into the batch. */
static void append(enum uvh_log_level level, const char *line, size_t len)
{
    uv_mutex_lock(&log_mutex);
    while (log_len + len > LOG_BATCH) { /* another thread may fill the fresh batch first */
        uv_mutex_unlock(&log_mutex);
        flush();
        uv_mutex_lock(&log_mutex);
    }
    memcpy(log_buf[log_cur] + log_len, line, len);
    log_len += len;
    uv_mutex_unlock(&log_mutex);
    /* Errors are rare and may precede an exit: never leave them in the buffer. */
    if (level == UVH_LOG_ERROR)
        flush();
}

static void write_line(enum uvh_log_level level, uint64_t conn_id, int err, const char *fmt,
                       va_list ap)
{
    char line[LOG_LINE_MAX];
    int n;

    uv_once(&log_once, log_init);
    size_t len = format_prefix(line, sizeof(line), level, conn_id);
    n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
    len = n < 0 ? len : len + (size_t)n;
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    if (err) {
        n = snprintf(line + len, sizeof(line) - len, ": %s: %s", uv_err_name(err),
                     uv_strerror(err));
        len = n < 0 ? len : len + (size_t)n;
        if (len > sizeof(line) - 2)
            len = sizeof(line) - 2;
    }
    line[len++] = '\n';
    append(level, line, len);
}

void uvh_log_write_msg(enum uvh_log_level level, uint64_t conn_id, const char *msg, size_t len)
{
    char line[LOG_LINE_MAX];

    uv_once(&log_once, log_init);
    size_t n = format_prefix(line, sizeof(line), level, conn_id);
    if (len > sizeof(line) - 1 - n)
        len = sizeof(line) - 1 - n;
    memcpy(line + n, msg, len);
    n += len;
    line[n++] = '\n';
    append(level, line, n);
}

void uvh_log_write(enum uvh_log_level level, uint64_t conn_id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    write_line(level, conn_id, 0, fmt, ap);
    va_end(ap);
}

void uvh_log_write_uv(enum uvh_log_level level, uint64_t conn_id, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    write_line(level, conn_id, err, fmt, ap);
    va_end(ap);
}

void uvh_log_flush(void)
{
    uv_once(&log_once, log_init);
    flush();
}

int uvh_log_parse_level(const char *s, enum uvh_log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum uvh_log_level)i;
            return 0;
        }
    }
    return UV_EINVAL;
}

char *uvh_log_escape(char *dst, size_t cap, struct uvh_slice src)
{
    static const char hex[] = "0123456789abcdef";
    size_t total = 0, o = 0;

    if (cap == 0)
        return dst;
    for (size_t i = 0; i < src.len; i++) {
        unsigned char c = (unsigned char)src.ptr[i];
        total += (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? 1 : 4;
    }
    if (total == src.len && total < cap) { /* the usual case: nothing to escape, all fits */
        if (total)
            memcpy(dst, src.ptr, total);
        dst[total] = '\0';
        return dst;
    }
    /* Everything fits: no ellipsis. Otherwise keep room for "..." and the NUL. */
    size_t limit = total < cap ? total : (cap > 4 ? cap - 4 : 0);
    for (size_t i = 0; i < src.len; i++) {
        unsigned char c = (unsigned char)src.ptr[i];
        bool plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
        if (o + (plain ? 1 : 4) > limit)
            break;
        if (plain) {
            dst[o++] = (char)c;
        } else {
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 15];
        }
    }
    if (total >= cap && cap >= 4) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
    return dst;
}
