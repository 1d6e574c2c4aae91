/* pool.h - the file threadpool: sizing, job submission and load accounting in one place. */
#ifndef UVH_POOL_H
#define UVH_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

/* The threadpool as one loop sees it: how many of its jobs are in flight. */
struct uvh_pool {
    uv_loop_t *loop;
    unsigned width;     /* threads in libuv's pool */
    unsigned jobs;      /* this loop's jobs in flight */
    bool saturated;     /* jobs >= width: new ones wait */
    bool reported;      /* this saturation episode was logged */
    uint64_t logged_ms; /* saturation last logged, at most once a second */
};

struct uvh_job;
typedef void (*uvh_job_fn)(struct uvh_job *j);                  /* on a pool thread */
typedef void (*uvh_job_done_fn)(struct uvh_job *j, int status); /* on the loop thread */

/* One unit of threadpool work, embedded in whatever owns it (container_of gets the owner). */
struct uvh_job {
    uv_work_t req;
    struct uvh_pool *pool;
    uvh_job_fn work;
    uvh_job_done_fn done;
};

/* Sets libuv's threadpool size; call before anything uses the threadpool. Returns 0 or an error. */
int uvh_pool_set_size(unsigned n);

/* Starts accounting for the jobs of `loop` on a pool `width` threads wide. */
void uvh_pool_init(struct uvh_pool *p, uv_loop_t *loop, unsigned width);

/* Runs work(j) on a pool thread, then done(j, status) on the loop thread (status: 0, or
 * UV_ECANCELED). Counts the job while it is in flight and logs the pool's load (debug) and
 * saturation (info/warn). Returns 0, or a negative libuv error (nothing was queued). */
int uvh_pool_submit(struct uvh_pool *p, struct uvh_job *j, uvh_job_fn work, uvh_job_done_fn done);

#endif
