/* test_timeouts.c - the timeout lists on a real loop: deadlines fire in order, once; a node
 * moved or stopped does not fire; a kept deadline is honoured; an empty list's timer neither
 * fires nor keeps the loop alive. */
#include <criterion/criterion.h>

#include <uv.h>

#include "timeouts.h"

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

struct item {
    struct uvh_timeout_node node;
    int id;
    uint64_t fired_ms; /* 0: not fired */
    int fired;
};

static uv_loop_t loop;
static int order[16], n_order;

static void on_expire(struct uvh_timeout_node *n)
{
    struct item *it = container_of(n, struct item, node);
    it->fired++;
    it->fired_ms = uv_now(&loop);
    order[n_order++] = it->id;
}

/* Keeps the loop alive (the lists' timers do not) until ms have passed. */
static void on_stop(uv_timer_t *t)
{
    uv_close((uv_handle_t *)t, NULL);
}

static void run_for(uint64_t ms)
{
    uv_timer_t keep;
    uv_timer_init(&loop, &keep);
    uv_timer_start(&keep, on_stop, ms, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
}

static void setup(void)
{
    cr_assert_eq(uv_loop_init(&loop), 0);
    n_order = 0;
}

static void teardown(void)
{
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_expect_eq(uv_loop_close(&loop), 0, "a handle was left open");
}

Test(timeouts, fire_in_order_once, .init = setup, .fini = teardown)
{
    struct uvh_timeout_list l;
    struct item a = {.id = 1}, b = {.id = 2}, c = {.id = 3};
    cr_assert_eq(uvh_timeout_list_init(&loop, &l, 30, on_expire), 0);
    uint64_t t0 = uv_now(&loop);
    uvh_timeout_start(&l, &a.node);
    uvh_timeout_start(&l, &b.node);
    uvh_timeout_start(&l, &c.node);
    uvh_timeout_stop(&b.node); /* stopped: never fires */
    run_for(100);
    cr_expect_eq(a.fired, 1);
    cr_expect_eq(b.fired, 0);
    cr_expect_eq(c.fired, 1);
    cr_expect_eq(n_order, 2);
    cr_expect_eq(order[0], 1);
    cr_expect_eq(order[1], 3);
    cr_expect_geq(a.fired_ms - t0, 30, "fired after %llu ms",
                  (unsigned long long)(a.fired_ms - t0));
    cr_expect_null(l.head);
    uvh_timeout_list_close(&l);
    uv_run(&loop, UV_RUN_DEFAULT); /* the close, while l is still in scope */
}

Test(timeouts, restart_moves_the_deadline, .init = setup, .fini = teardown)
{
    struct uvh_timeout_list shortl, longl;
    struct item a = {.id = 1}, b = {.id = 2};
    cr_assert_eq(uvh_timeout_list_init(&loop, &shortl, 20, on_expire), 0);
    cr_assert_eq(uvh_timeout_list_init(&loop, &longl, 60, on_expire), 0);
    uint64_t t0 = uv_now(&loop);
    uvh_timeout_start(&shortl, &a.node);
    uvh_timeout_start(&shortl, &b.node);
    uvh_timeout_start(&longl, &a.node); /* moved to the longer list */
    run_for(100);
    cr_expect_eq(b.fired, 1);
    cr_expect_eq(a.fired, 1);
    cr_expect_geq(b.fired_ms - t0, 20);
    cr_expect_geq(a.fired_ms - t0, 60, "a node moved to a longer list fired after %llu ms",
                  (unsigned long long)(a.fired_ms - t0));
    uvh_timeout_list_close(&shortl);
    uvh_timeout_list_close(&longl);
    uv_run(&loop, UV_RUN_DEFAULT);
}

Test(timeouts, kept_deadline_in_order, .init = setup, .fini = teardown)
{
    struct uvh_timeout_list l;
    struct item a = {.id = 1}, b = {.id = 2};
    cr_assert_eq(uvh_timeout_list_init(&loop, &l, 10000, on_expire), 0);
    uvh_timeout_start(&l, &a.node);                        /* due in 10 s */
    uvh_timeout_start_at(&l, &b.node, uv_now(&loop) + 20); /* an earlier kept deadline */
    cr_expect_eq(l.head, &b.node, "the earlier deadline is not first");
    run_for(60);
    cr_expect_eq(b.fired, 1);
    cr_expect_eq(a.fired, 0);
    uvh_timeout_stop(&a.node);
    uvh_timeout_list_close(&l);
    uv_run(&loop, UV_RUN_DEFAULT); /* the close, while l is still in scope */
}

Test(timeouts, empty_list_does_not_hold_the_loop, .init = setup, .fini = teardown)
{
    struct uvh_timeout_list l;
    struct item a = {.id = 1};
    cr_assert_eq(uvh_timeout_list_init(&loop, &l, 10000, on_expire), 0);
    uvh_timeout_start(&l, &a.node);
    uvh_timeout_stop(&a.node);
    uint64_t t0 = uv_hrtime();
    uv_run(&loop, UV_RUN_DEFAULT); /* nothing keeps it: returns at once */
    cr_expect_lt((uv_hrtime() - t0) / 1000000, 1000);
    uvh_timeout_list_close(&l);
    uv_run(&loop, UV_RUN_DEFAULT); /* the close, while l is still in scope */
}
