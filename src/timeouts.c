/* timeouts.c - owns the timeout lists: their order and their one timer each. */
#include "timeouts.h"

#include <stddef.h>

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

static void on_timer(uv_timer_t *t);

/* The timer fires no later than the head's deadline. It is left running when the list empties
 * or the head moves later (it then fires early, finds nothing due and re-arms): moving a
 * connection between lists on every request costs no timer-heap operation. */
static void arm(struct uvh_timeout_list *l)
{
    if (!l->head || (l->armed && l->armed_ms <= l->head->due_ms))
        return;
    uint64_t now = uv_now(l->timer.loop);
    uint64_t due = l->head->due_ms > now ? l->head->due_ms : now;
    uv_timer_start(&l->timer, on_timer, due - now, 0);
    l->armed = true;
    l->armed_ms = due;
}

static void on_timer(uv_timer_t *t)
{
    struct uvh_timeout_list *l = container_of(t, struct uvh_timeout_list, timer);
    uint64_t now = uv_now(t->loop);
    l->armed = false;
    while (l->head && l->head->due_ms <= now) {
        struct uvh_timeout_node *n = l->head;
        uvh_timeout_stop(n);
        l->expire(n); /* may start n again, on this list too */
    }
    arm(l);
}

int uvh_timeout_list_init(uv_loop_t *loop, struct uvh_timeout_list *l, uint64_t ms,
                          uvh_timeout_fn expire)
{
    l->head = l->tail = NULL;
    l->ms = ms;
    l->expire = expire;
    l->armed = false;
    l->armed_ms = 0;
    int rc = uv_timer_init(loop, &l->timer);
    if (rc == 0) /* what has a deadline keeps the loop alive itself (a connection's stream) */
        uv_unref((uv_handle_t *)&l->timer);
    return rc;
}

void uvh_timeout_list_close(struct uvh_timeout_list *l)
{
    if (!uv_is_closing((uv_handle_t *)&l->timer))
        uv_close((uv_handle_t *)&l->timer, NULL);
}

void uvh_timeout_stop(struct uvh_timeout_node *n)
{
    struct uvh_timeout_list *l = n->list;
    if (!l)
        return;
    if (n->prev)
        n->prev->next = n->next;
    else
        l->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        l->tail = n->prev;
    n->prev = n->next = NULL;
    n->list = NULL;
    /* The timer may now fire early for the old head: it then finds nothing due and re-arms. */
}

void uvh_timeout_start_at(struct uvh_timeout_list *l, struct uvh_timeout_node *n, uint64_t due_ms)
{
    uvh_timeout_stop(n);
    /* Deadlines arrive in order, so this is the tail; a kept deadline walks back a little. */
    struct uvh_timeout_node *after = l->tail;
    while (after && after->due_ms > due_ms)
        after = after->prev;
    n->due_ms = due_ms;
    n->list = l;
    n->prev = after;
    n->next = after ? after->next : l->head;
    if (n->next)
        n->next->prev = n;
    else
        l->tail = n;
    if (after)
        after->next = n;
    else
        l->head = n;
    if (l->head == n)
        arm(l);
}

void uvh_timeout_start(struct uvh_timeout_list *l, struct uvh_timeout_node *n)
{
    uvh_timeout_start_at(l, n, uv_now(l->timer.loop) + l->ms);
}
