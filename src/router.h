/* router.h - the route table: (path, method) -> handler; OPTIONS, 405 with Allow. */
#ifndef UVH_ROUTER_H
#define UVH_ROUTER_H

#include "http_status.h"

struct uvh_conn;

/* A handler answers the connection's current request: UVH_STATUS_NONE when it answers (now or
 * later) itself, or an error status for the connection to turn into an error page. */
typedef enum uvh_status (*uvh_handler_fn)(struct uvh_conn *c);

/* At the end of a request's head: lets the route take the body (POST /upload). Returns
 * UVH_STATUS_OK to go on reading the message, or the status to refuse it with. */
enum uvh_status uvh_router_head(struct uvh_conn *c);

/* Routes the connection's current, complete request. Same contract as a handler. */
enum uvh_status uvh_router_dispatch(struct uvh_conn *c);

#endif
