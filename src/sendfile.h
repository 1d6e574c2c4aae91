/* sendfile.h - a file range copied into a connected socket by the kernel (sendfile(2)), never
 * through the loop thread and never through a user-space buffer. Linux only: elsewhere
 * uvh_sendfile_available() is false and callers write the bytes themselves. */
#ifndef UVH_SENDFILE_H
#define UVH_SENDFILE_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "pool.h"

/* Bytes one threadpool job may send before it hands the loop back its turn (other connections'
 * jobs wait behind it on a busy pool). */
#define UVH_SENDFILE_BUDGET (4u * 1024 * 1024)
/* How long one job may wait in all for room in a full socket; past it the loop takes over the
 * wait, without holding a thread. */
#define UVH_SENDFILE_WAIT_MS 10
/* TCP_NOTSENT_LOWAT on the socket while it carries a file: at most this many bytes wait unsent
 * in it (what is in flight on the network is not limited, so a long fat link keeps its
 * window). Without it the send buffer autotunes to megabytes per connection, and a client
 * that cannot keep up is flooded: measured on loopback, 5 MB files went out at 1.20 GB/s with
 * the client's core saturated, and at 2.59 GB/s with 128 KiB (64 KiB: 2.44, 256 KiB: 1.91). */
#define UVH_SENDFILE_NOTSENT_LOWAT (128 * 1024)

struct uvh_sendfile;

/* Bytes went out (s->sent grew): on the loop thread, after each job that sent any. */
typedef void (*uvh_sendfile_progress_cb)(struct uvh_sendfile *s);

/* The transfer ended: 0 when every byte went out, UV_ECANCELED after uvh_sendfile_stop, or the
 * error that stopped it (a socket error, UV_EOF for a file shorter than promised, a read
 * error). s->sent says how far it got. No job runs and nothing is open any more. */
typedef void (*uvh_sendfile_done_cb)(struct uvh_sendfile *s, int status);

/* One transfer, embedded in its owner (container_of gets it back). Sending runs in threadpool
 * jobs, each calling sendfile on the non-blocking socket until the budget is spent or the range
 * is done; a job that finds the socket full waits for room itself (up to UVH_SENDFILE_WAIT_MS
 * in all, and only while another pool thread stays free), and past that a poll handle on the
 * loop waits before the next job. Only one job runs at a time. */
struct uvh_sendfile {
    struct uvh_job job;
    uv_poll_t poll; /* on `sock`; initialised the first time the socket is full */
    uv_loop_t *loop;
    struct uvh_pool *pool;
    uv_os_fd_t sock;    /* a dup of the caller's socket, ours: the caller may close its own
                           while a job still writes (the socket then lives until we close it) */
    uv_file file;       /* the caller's, open until done runs */
    uint64_t offset;    /* next file byte to send */
    uint64_t remaining; /* bytes still to send */
    uint64_t sent;      /* bytes sent so far */
    uint64_t waits;     /* times the socket was full and the poll handle waited */
    uint64_t job_sent;  /* what the last job sent (written by it, read after it) */
    int job_err;        /* the last job's error: 0, UV_EAGAIN (socket full) or another */
    int wait_ms;        /* how long the next job may wait for room itself (see submit) */
    int status;         /* what done will hear, once the poll handle is closed */
    bool poll_open;
    bool stopping; /* uvh_sendfile_stop was called: end after the running job */
    uvh_sendfile_progress_cb progress;
    uvh_sendfile_done_cb done;
};

/* True when this build sends files with sendfile(2) (Linux). */
bool uvh_sendfile_available(void);

/* Starts sending len > 0 bytes of `file` from `offset` into the connected, non-blocking socket
 * `sock` (duplicated: the caller keeps its descriptor). Returns 0 (done will run), or a
 * negative libuv error and nothing started (UV_ENOSYS where unavailable). */
int uvh_sendfile_start(struct uvh_sendfile *s, uv_loop_t *loop, struct uvh_pool *pool,
                       uv_os_fd_t sock, uv_file file, uint64_t offset, uint64_t len,
                       uvh_sendfile_progress_cb progress, uvh_sendfile_done_cb done);

/* Ends a started transfer early (the connection is closing): done runs with UV_ECANCELED once
 * the running job, if any, has returned. Never calls done before it returns itself. */
void uvh_sendfile_stop(struct uvh_sendfile *s);

#endif
