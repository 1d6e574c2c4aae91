/* router.h - the route table: (path, method) -> handler operations; OPTIONS, 405 with Allow. */
#ifndef UVH_ROUTER_H
#define UVH_ROUTER_H

#include <stdbool.h>

#include "exchange.h"
#include "http_status.h"

/* A handler answers the exchange: UVH_STATUS_NONE when it answers (now or later) itself, or an
 * error status for the connection to turn into an error page. */
typedef enum uvh_status (*uvh_handler_fn)(struct uvh_exchange *x);

/* What a route's handler does; the router calls these, the connection calls the router. */
struct uvh_handler {
    uvh_handler_fn get;  /* GET and HEAD */
    uvh_handler_fn head; /* POST, at the end of the head: take the body (OK) or refuse it */
    uvh_handler_fn post; /* POST, once the whole body is in */
    /* After each read of a taken body: true when reading must pause (the handler resumes it). */
    bool (*body_pause)(struct uvh_exchange *x);
    /* The exchange ends (answered, or its connection closed): drop the handler's state. */
    void (*release)(struct uvh_exchange *x);
    /* Server start-up, before the first connection (synchronous disk work is fine there). */
    void (*start)(const struct uvh_env *env);
    /* The loop has ended, on its thread: drop what is kept between requests. */
    void (*stop)(void);
};

/* Server start-up: every route's handler prepares what it needs under the root. */
void uvh_router_start(const struct uvh_env *env);

/* The loop has ended (call on the loop's thread): every route's handler lets go of its caches. */
void uvh_router_stop(void);

/* At the end of a request's head: picks the route, refuses a method it does not allow (405),
 * and lets it take the body. Returns UVH_STATUS_OK to go on reading the message, or the status
 * to refuse it with. */
enum uvh_status uvh_router_head(struct uvh_exchange *x);

/* Routes the complete request. Same contract as a handler. */
enum uvh_status uvh_router_dispatch(struct uvh_exchange *x);

/* A taken body was read: true when the route's handler wants reading paused. */
bool uvh_router_body_pause(struct uvh_exchange *x);

/* The exchange ends: the route's handler releases its state. */
void uvh_router_release(struct uvh_exchange *x);

#endif
