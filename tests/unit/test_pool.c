/* test_pool.c - uvh_pool_set_size: libuv's pool runs exactly that many jobs at once.
 * Criterion runs each Test in its own process, so every Test sees a fresh, unstarted pool. */
#include <criterion/criterion.h>

#include <stdbool.h>

#include <uv.h>

#include "pool.h"

#define HOLD_MS 60        /* a full pool keeps its jobs this long, so an extra thread shows */
#define WAIT_MAX_MS 1000u /* no job waits longer than this for the pool to fill */

/* Shared by the jobs (on pool threads) and the test (on the loop thread). */
struct pool_probe {
    uv_mutex_t mu;
    uv_cond_t cond;
    unsigned width; /* the size that was set */
    unsigned total; /* jobs queued */
    unsigned started, running, max_running;
    unsigned done;   /* after_work callbacks with status 0 (loop thread only) */
    unsigned failed; /* after_work callbacks with an error (loop thread only) */
};

struct pool_job {
    uv_work_t work;
    struct pool_probe *probe;
};

/* Holds its thread until the pool is full (or every job has started, for the last round), then
 * a little longer: a pool wider than `width` would start another job meanwhile. */
static void on_work(uv_work_t *w)
{
    struct pool_job *j = w->data;
    struct pool_probe *p = j->probe;
    uint64_t deadline = uv_hrtime() + (uint64_t)WAIT_MAX_MS * 1000000u;

    uv_mutex_lock(&p->mu);
    p->started++;
    p->running++;
    if (p->running > p->max_running)
        p->max_running = p->running;
    uv_cond_broadcast(&p->cond);
    while (p->running < p->width && p->started < p->total) {
        uint64_t now = uv_hrtime();
        if (now >= deadline || uv_cond_timedwait(&p->cond, &p->mu, deadline - now) != 0)
            break;
    }
    uv_mutex_unlock(&p->mu);
    uv_sleep(HOLD_MS);
    uv_mutex_lock(&p->mu);
    p->running--;
    uv_cond_broadcast(&p->cond);
    uv_mutex_unlock(&p->mu);
}

static void on_after_work(uv_work_t *w, int status)
{
    struct pool_job *j = w->data;
    if (status == 0)
        j->probe->done++;
    else
        j->probe->failed++;
}

/* Sets the pool to `width`, queues width + 2 jobs on a private loop and checks the peak. */
static void check_width(unsigned width)
{
    enum { MAX_JOBS = 16 };
    struct pool_probe p = {.width = width, .total = width + 2};
    struct pool_job jobs[MAX_JOBS];
    uv_loop_t loop;

    cr_assert_leq(p.total, MAX_JOBS);
    cr_assert_eq(uvh_pool_set_size(width), 0);
    cr_assert_eq(uv_mutex_init(&p.mu), 0);
    cr_assert_eq(uv_cond_init(&p.cond), 0);
    cr_assert_eq(uv_loop_init(&loop), 0);
    for (unsigned i = 0; i < p.total; i++) {
        jobs[i].probe = &p;
        jobs[i].work.data = &jobs[i];
        cr_assert_eq(uv_queue_work(&loop, &jobs[i].work, on_work, on_after_work), 0);
    }
    uint64_t t0 = uv_hrtime();
    cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    double ms = (double)(uv_hrtime() - t0) / 1e6;
    cr_assert_eq(uv_loop_close(&loop), 0);

    cr_expect_eq(p.done, p.total, "%u of %u jobs completed (%u failed)", p.done, p.total, p.failed);
    cr_expect_eq(p.started, p.total);
    cr_expect_eq(p.running, 0);
    cr_expect_eq(p.max_running, width, "pool size %u ran %u jobs at once", width, p.max_running);
    /* Two rounds at least: the last two jobs could not start with the first `width`. */
    cr_expect_geq(ms, 2.0 * HOLD_MS * 0.9, "%u jobs in %.0f ms: not two rounds", p.total, ms);
    uv_cond_destroy(&p.cond);
    uv_mutex_destroy(&p.mu);
}

Test(pool, width_1, .timeout = 20)
{
    check_width(1);
}

Test(pool, width_3, .timeout = 20)
{
    check_width(3);
}

Test(pool, width_5, .timeout = 20)
{
    check_width(5);
}
