/* sendfile.c - owns zero-copy transfers of a file range into a socket: the threadpool jobs that
 * call sendfile(2) (it reads the disk, so never on the loop thread), the poll handle that waits
 * for a full socket to drain, and the duplicated socket descriptor both use. It knows nothing
 * of HTTP or connections. */
#include "sendfile.h"

#include <stddef.h>

#ifdef __linux__
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#ifdef __linux__

bool uvh_sendfile_available(void)
{
    return true;
}

/* Threadpool: waits for room in the socket (or an error on it, which the next sendfile names)
 * for at most *left_ns, and takes the time it waited off it; false when none came. poll says
 * POLLOUT only once a third of the send buffer is free, so a slow client costs a wait per third
 * of a buffer, never one per byte. */
static bool wait_room(uv_os_fd_t sock, uint64_t *left_ns)
{
    struct pollfd p = {.fd = sock, .events = POLLOUT};
    if (*left_ns == 0)
        return false;
    uint64_t t0 = uv_hrtime();
    int n = poll(&p, 1, (int)((*left_ns + 999999) / 1000000));
    uint64_t spent = uv_hrtime() - t0;
    *left_ns = spent < *left_ns ? *left_ns - spent : 0;
    return n > 0;
}

/* Threadpool: sends until the budget is spent, the range is done, or the socket stays full for
 * longer than the job may wait (then the loop waits for room without holding a thread). */
static void send_work(struct uvh_job *j)
{
    struct uvh_sendfile *s = container_of(j, struct uvh_sendfile, job);
    uint64_t sent = 0;
    int err = 0;
    uint64_t wait_left = (uint64_t)s->wait_ms * 1000000; /* for all of the job's waits */

    while (s->remaining > 0 && sent < UVH_SENDFILE_BUDGET) {
        uint64_t want = UVH_SENDFILE_BUDGET - sent;
        if (want > s->remaining)
            want = s->remaining;
        off_t off = (off_t)s->offset;
        ssize_t n = sendfile(s->sock, s->file, &off, (size_t)want);
        if (n > 0) {
            s->offset += (uint64_t)n;
            s->remaining -= (uint64_t)n;
            sent += (uint64_t)n;
        } else if (n == 0) {
            err = UV_EOF; /* the file is shorter than the range */
            break;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (wait_room(s->sock, &wait_left))
                continue;
            err = UV_EAGAIN;
            break;
        } else if (errno != EINTR) {
            err = -errno;
            break;
        }
    }
    s->job_sent = sent;
    s->job_err = err;
}

static void on_sent(struct uvh_job *j, int status);

static void on_poll_closed(uv_handle_t *h)
{
    struct uvh_sendfile *s = container_of((uv_poll_t *)h, struct uvh_sendfile, poll);
    close(s->sock);
    s->sock = -1;
    s->done(s, s->status);
}

/* No job runs: closes the poll handle (its close callback finishes) or finishes at once. */
static void end(struct uvh_sendfile *s, int status)
{
    s->status = status;
    if (s->poll_open) {
        s->poll_open = false;
        uv_close((uv_handle_t *)&s->poll, on_poll_closed);
        return;
    }
    close(s->sock);
    s->sock = -1;
    s->done(s, status);
}

/* A job may wait for room itself only while another pool thread stays free for everything
 * else (opens, reads, other transfers): a trip through the loop costs three wake-ups (loop,
 * pool thread, loop), and on a busy machine the socket can drain meanwhile; the wait is
 * bounded (UVH_SENDFILE_WAIT_MS), so a slow client delays a queued job by at most that. */
static int submit(struct uvh_sendfile *s)
{
    s->wait_ms = s->pool->jobs + 1 < s->pool->width ? UVH_SENDFILE_WAIT_MS : 0;
    return uvh_pool_submit(s->pool, &s->job, send_work, on_sent);
}

/* The socket has room again (or reports an error, which the next job's sendfile will name). */
static void on_writable(uv_poll_t *p, int status, int events)
{
    struct uvh_sendfile *s = container_of(p, struct uvh_sendfile, poll);
    (void)status;
    (void)events;
    uv_poll_stop(p);
    int rc = submit(s);
    if (rc < 0)
        end(s, rc);
}

/* The socket is full: libuv has no "tell me when writable" on a stream it owns, so a poll
 * handle watches our duplicate (epoll and kqueue key their registrations by descriptor number,
 * so it does not meet the stream's own). */
static void wait_writable(struct uvh_sendfile *s)
{
    int rc = 0;
    s->waits++;
    if (!s->poll_open) {
        rc = uv_poll_init_socket(s->loop, &s->poll, s->sock);
        s->poll_open = rc == 0;
    }
    if (rc == 0)
        rc = uv_poll_start(&s->poll, UV_WRITABLE, on_writable);
    if (rc < 0)
        end(s, rc);
}

static void on_sent(struct uvh_job *j, int status)
{
    struct uvh_sendfile *s = container_of(j, struct uvh_sendfile, job);
    int err = status < 0 ? status : s->job_err;

    s->sent += s->job_sent;
    if (s->stopping) {
        end(s, UV_ECANCELED);
        return;
    }
    if (s->job_sent > 0)
        s->progress(s);
    if (s->remaining == 0) {
        end(s, 0);
    } else if (err == UV_EAGAIN) {
        wait_writable(s);
    } else if (err < 0) {
        end(s, err);
    } else { /* the budget is spent: queue behind whatever else waits for the pool */
        int rc = submit(s);
        if (rc < 0)
            end(s, rc);
    }
}

int uvh_sendfile_start(struct uvh_sendfile *s, uv_loop_t *loop, struct uvh_pool *pool,
                       uv_os_fd_t sock, uv_file file, uint64_t offset, uint64_t len,
                       uvh_sendfile_progress_cb progress, uvh_sendfile_done_cb done)
{
    *s = (struct uvh_sendfile){.loop = loop,
                               .pool = pool,
                               .file = file,
                               .offset = offset,
                               .remaining = len,
                               .progress = progress,
                               .done = done};
    s->sock = fcntl(sock, F_DUPFD_CLOEXEC, 0);
    if (s->sock < 0)
        return -errno;
#ifdef TCP_NOTSENT_LOWAT
    /* Best effort: a kernel without it (before 3.12) sends as before. The option stays on the
     * socket for the rest of the connection, which only makes later writes wake up sooner. */
    int lowat = UVH_SENDFILE_NOTSENT_LOWAT;
    (void)setsockopt(s->sock, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat));
#endif
    int rc = submit(s);
    if (rc < 0) {
        close(s->sock);
        s->sock = -1;
    }
    return rc;
}

void uvh_sendfile_stop(struct uvh_sendfile *s)
{
    if (s->stopping)
        return;
    s->stopping = true;
    /* A job's completion ends it; a wait for room ends here (done runs from the close cb). */
    if (s->poll_open && uv_is_active((uv_handle_t *)&s->poll))
        end(s, UV_ECANCELED);
}

#else /* no sendfile(2) with these semantics: callers write the bytes themselves */

bool uvh_sendfile_available(void)
{
    return false;
}

int uvh_sendfile_start(struct uvh_sendfile *s, uv_loop_t *loop, struct uvh_pool *pool,
                       uv_os_fd_t sock, uv_file file, uint64_t offset, uint64_t len,
                       uvh_sendfile_progress_cb progress, uvh_sendfile_done_cb done)
{
    (void)s;
    (void)loop;
    (void)pool;
    (void)sock;
    (void)file;
    (void)offset;
    (void)len;
    (void)progress;
    (void)done;
    return UV_ENOSYS;
}

void uvh_sendfile_stop(struct uvh_sendfile *s)
{
    (void)s;
}

#endif
