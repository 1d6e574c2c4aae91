/* pool.c - owns every submission to libuv's threadpool: a job is counted from its submission to
 * its completion in this file only, so the load and saturation logs cannot drift. */
#include "pool.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

int uvh_pool_set_size(unsigned n)
{
    char v[16];
    snprintf(v, sizeof(v), "%u", n);
    /* libuv reads UV_THREADPOOL_SIZE through the C runtime's getenv at the first threadpool use,
     * so uv_os_setenv (SetEnvironmentVariable on Windows) is not enough there. */
#ifdef _WIN32
    return _putenv_s("UV_THREADPOOL_SIZE", v) == 0 ? 0 : UV_EINVAL;
#else
    return setenv("UV_THREADPOOL_SIZE", v, 1) == 0 ? 0 : UV_EINVAL;
#endif
}

void uvh_pool_init(struct uvh_pool *p, uv_loop_t *loop, unsigned width)
{
    *p = (struct uvh_pool){.loop = loop, .width = width};
}

static unsigned busy(const struct uvh_pool *p)
{
    return p->jobs < p->width ? p->jobs : p->width;
}

static void job_started(struct uvh_pool *p)
{
    if (p->jobs >= p->width && !p->saturated) {
        /* Under steady load the pool flips in and out of saturation many times a second:
         * report it at most once a second. */
        uint64_t now = uv_now(p->loop);
        p->saturated = true;
        if (now - p->logged_ms >= 1000 || p->logged_ms == 0) {
            p->logged_ms = now;
            uvh_log(UVH_LOG_INFO, "Thread pool status: %u/%u active", p->width, p->width);
            uvh_log(UVH_LOG_WARN, "Warning: Thread pool saturated, queuing work");
            p->reported = true;
        }
    }
    p->jobs++;
    uvh_log(UVH_LOG_DEBUG, "Thread pool status: %u/%u active", busy(p), p->width);
}

static void job_ended(struct uvh_pool *p)
{
    p->jobs--;
    uvh_log(UVH_LOG_DEBUG, "Thread pool status: %u/%u active", busy(p), p->width);
    if (p->saturated && p->jobs < p->width) {
        p->saturated = false;
        if (p->reported)
            uvh_log(UVH_LOG_INFO, "Thread pool status: %u/%u active (no longer saturated)", p->jobs,
                    p->width);
        p->reported = false;
    }
}

static void on_work(uv_work_t *w)
{
    struct uvh_job *j = container_of(w, struct uvh_job, req);
    j->work(j);
}

static void on_after_work(uv_work_t *w, int status)
{
    struct uvh_job *j = container_of(w, struct uvh_job, req);
    job_ended(j->pool);
    j->done(j, status);
}

int uvh_pool_submit(struct uvh_pool *p, struct uvh_job *j, uvh_job_fn work, uvh_job_done_fn done)
{
    j->pool = p;
    j->work = work;
    j->done = done;
    job_started(p);
    int rc = uv_queue_work(p->loop, &j->req, on_work, on_after_work);
    if (rc != 0)
        job_ended(p);
    return rc;
}
