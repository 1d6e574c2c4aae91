/* access_log.h - the access log file (--access-log): one line per request in the Common or
 * Combined Log Format, or JSON, batched in memory and appended from the threadpool. */
#ifndef UVH_ACCESS_LOG_H
#define UVH_ACCESS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <uv.h>

#include "slice.h"

enum uvh_access_format {
    UVH_ACCESS_COMBINED, /* CLF + "Referer" "User-Agent" (GoAccess's COMBINED) */
    UVH_ACCESS_COMMON,   /* CLF: host ident user [time] "request" status bytes */
    UVH_ACCESS_JSON,     /* one JSON object per line */
};

#define UVH_ACCESS_LINE_MAX 4096    /* client fields are shortened to keep a line within this */
#define UVH_ACCESS_BUF (256 * 1024) /* each of the two batch buffers */

/* The facts of one finished request; slices are the request's, valid only during the call. */
struct uvh_access_entry {
    const char *peer;                         /* "IP:PORT", "[IPv6]:PORT", or a name */
    struct uvh_slice method, target, version; /* method.ptr NULL: no request line was read */
    struct uvh_slice raw_line; /* the first line as received (JSON's "request"); CLF's "%r"
                                  when the parser did not get method, target and version */
    struct uvh_slice referer, user_agent, host;
    int status;
    uint64_t body_bytes; /* response body bytes sent */
    double ms;           /* from the request's first byte to the end of the response */
    time_t when;
};

/* Called once a reopen (SIGHUP) has finished, whether it succeeded or not. */
typedef void (*uvh_access_log_reopened_cb)(void *arg);

/* One open access log, owned by one loop. Lines are appended to one buffer while the other is
 * being written: one write in flight, bounded memory; a full buffer drops lines and counts them. */
struct uvh_access_log {
    uv_loop_t *loop;
    const char *path; /* from the configuration: lives as long as the process */
    enum uvh_access_format format;
    uv_file fd; /* -1 when closed */
    uv_fs_t wreq, oreq, creq;
    char *buf[2];
    size_t len[2];
    int fill;           /* the buffer lines go into; the other one is written */
    size_t written;     /* bytes of the buffer in flight already written */
    bool writing;       /* wreq in flight */
    bool reopen_wanted; /* SIGHUP: reopen once no write is in flight */
    bool opening;       /* oreq in flight: the new file */
    bool closing_old;   /* creq in flight: the file before the reopen */
    uint64_t dropped, dropped_reported, drop_logged_ms;
    uvh_access_log_reopened_cb on_reopened;
    void *on_reopened_arg;
};

/* "combined", "common" or "json". */
const char *uvh_access_log_format_name(enum uvh_access_format f);

/* Parses "common|combined|json"; returns 0 or UV_EINVAL. */
int uvh_access_log_parse_format(const char *s, enum uvh_access_format *out);

/* Formats one line, '\n' included, into dst (at least UVH_ACCESS_LINE_MAX bytes); client bytes
 * are escaped (\xNN in CLF, \u00NN in JSON). Returns its length. */
size_t uvh_access_log_format_line(enum uvh_access_format f, const struct uvh_access_entry *e,
                                  char *dst);

/* Opens path for appending (created 0644 if missing), synchronously: call it at start-up, before
 * the loop serves. Returns 0 or a libuv error (logged). */
int uvh_access_log_open(struct uvh_access_log *l, uv_loop_t *loop, const char *path,
                        enum uvh_access_format f);

/* Adds one line to the batch; never blocks. No-op when the log is not open. */
void uvh_access_log_add(struct uvh_access_log *l, const struct uvh_access_entry *e);

/* Once per loop iteration: starts writing the batch (or the pending reopen) unless a write is in
 * flight, and reports dropped lines. */
void uvh_access_log_flush(struct uvh_access_log *l);

/* SIGHUP: reopens the file by its path once the write in flight has finished (logrotate renames
 * it first); lines are never split between the two files nor lost. cb (may be NULL) runs when
 * that is done. */
void uvh_access_log_reopen(struct uvh_access_log *l, uvh_access_log_reopened_cb cb, void *arg);

/* After the loop has ended: writes what is left synchronously and closes the file. */
void uvh_access_log_close(struct uvh_access_log *l);

#endif
