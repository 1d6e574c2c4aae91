/* timeouts.h - deadlines for many connections with few timers: one list per timeout value
 * (every connection in a state shares that state's timeout), kept in deadline order by
 * appending, and one uv_timer per list armed for its earliest deadline (h2o's and lwan's timeout
 * lists). Moving a connection between lists is O(1) and touches no timer heap. */
#ifndef UVH_TIMEOUTS_H
#define UVH_TIMEOUTS_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

struct uvh_timeout_list;

/* Embedded in what has a deadline (a connection); on no list while list == NULL. */
struct uvh_timeout_node {
    struct uvh_timeout_node *prev, *next;
    struct uvh_timeout_list *list;
    uint64_t due_ms; /* loop time the deadline falls */
};

/* Called on the loop thread for each node whose deadline passed; the node is already off its
 * list and may be put on another. */
typedef void (*uvh_timeout_fn)(struct uvh_timeout_node *n);

struct uvh_timeout_list {
    uv_timer_t timer;
    struct uvh_timeout_node *head, *tail; /* earliest deadline first */
    uint64_t ms;                          /* the list's timeout */
    uvh_timeout_fn expire;
    bool armed;        /* the timer is running ... */
    uint64_t armed_ms; /* ... and fires at this loop time */
};

/* Prepares an empty list whose nodes expire ms after they are added. Returns 0 or a libuv
 * error. */
int uvh_timeout_list_init(uv_loop_t *loop, struct uvh_timeout_list *l, uint64_t ms,
                          uvh_timeout_fn expire);

/* Closes the list's timer (the list must be empty); freed storage is safe once the loop has run
 * its close callbacks. */
void uvh_timeout_list_close(struct uvh_timeout_list *l);

/* Puts n on l with a deadline ms from now (taking it off any list first). */
void uvh_timeout_start(struct uvh_timeout_list *l, struct uvh_timeout_node *n);

/* Puts n on l with the given deadline, in order (for a deadline kept from before). */
void uvh_timeout_start_at(struct uvh_timeout_list *l, struct uvh_timeout_node *n, uint64_t due_ms);

/* Takes n off its list, if it is on one. */
void uvh_timeout_stop(struct uvh_timeout_node *n);

#endif
