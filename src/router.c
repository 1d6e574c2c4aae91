/* router.c - owns the route table: the only file that names the handlers. It picks a route by
 * path and method, answers OPTIONS and 405 itself, and forwards the connection's calls to the
 * route's handler operations (nginx's module table in miniature). No file or socket I/O. */
#include "router.h"

#include <string.h>

#include "static_handler.h"
#include "upload_handler.h"

struct uvh_route {
    struct uvh_slice path; /* exact path, or a prefix when `prefix` */
    bool prefix;
    const char *allow; /* the Allow header value */
    const struct uvh_handler *ops;
};

static const struct uvh_handler upload_ops = {
    .head = uvh_upload_begin,
    .post = uvh_upload_finish,
    .body_pause = uvh_upload_body_pause,
    .release = uvh_upload_release,
    .start = uvh_upload_start,
};

static const struct uvh_handler static_ops = {
    .get = uvh_static_handle,
    .release = uvh_static_release,
    .stop = uvh_static_stop,
};

/* First match wins; "/" is the static-file catch-all. */
static const struct uvh_route routes[] = {
    {UVH_SLICE_INIT("/upload"), false, "POST, OPTIONS", &upload_ops},
    {UVH_SLICE_INIT("/"), true, "GET, HEAD, OPTIONS", &static_ops},
};

static const struct uvh_route *find_route(struct uvh_slice path)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const struct uvh_route *r = &routes[i];
        if (r->prefix ? (path.len >= r->path.len && memcmp(path.ptr, r->path.ptr, r->path.len) == 0)
                      : uvh_slice_eq(path, r->path))
            return r;
    }
    return NULL;
}

static bool method_allowed(const struct uvh_route *r, enum uvh_method method)
{
    switch (method) {
    case UVH_METHOD_GET:
    case UVH_METHOD_HEAD:
        return r->ops->get != NULL;
    case UVH_METHOD_POST:
        return r->ops->post != NULL;
    case UVH_METHOD_OPTIONS:
        return true;
    case UVH_METHOD_OTHER:
        break;
    }
    return false;
}

enum uvh_status uvh_router_head(struct uvh_exchange *x)
{
    const struct uvh_route *r = find_route(x->req.path);
    enum uvh_method method = x->req.method_id;

    if (!r)
        return UVH_STATUS_OK;
    /* Known before the body: refuse now, so an Expect: 100-continue client never sends it. */
    if (!method_allowed(r, method)) {
        uvh_response_add(&x->res, "Allow", "%s", r->allow);
        return UVH_STATUS_METHOD_NOT_ALLOWED;
    }
    x->route = r;
    if (method == UVH_METHOD_POST && r->ops->head)
        return r->ops->head(x);
    return UVH_STATUS_OK;
}

static enum uvh_status answer_options(struct uvh_exchange *x, const char *allow, const char *what)
{
    uvh_response_add(&x->res, "Allow", "%s", allow);
    x->res.status = UVH_STATUS_NO_CONTENT;
    x->res.served = what;
    uvh_exchange_respond(x);
    return UVH_STATUS_NONE;
}

/* --health-path: a load balancer's check, answered without touching the disk; the connection
 * logs it at debug only and keeps it out of the access log file. */
static enum uvh_status answer_health(struct uvh_exchange *x)
{
    static const char ok[] = "ok\n";
    memcpy(x->res.body, ok, sizeof(ok) - 1);
    x->res.body_len = x->res.content_length = sizeof(ok) - 1;
    x->res.status = UVH_STATUS_OK;
    x->res.content_type = "text/plain; charset=utf-8";
    x->res.served = "health check";
    x->res.served_size = sizeof(ok) - 1;
    x->res.quiet = true;
    uvh_response_add(&x->res, "Cache-Control", "no-store");
    uvh_exchange_respond(x);
    return UVH_STATUS_NONE;
}

enum uvh_status uvh_router_dispatch(struct uvh_exchange *x)
{
    struct uvh_request *req = &x->req;
    enum uvh_method method = req->method_id;
    const char *health = x->env->cfg->health_path;

    if (method == UVH_METHOD_OPTIONS && uvh_slice_eq(req->target, UVH_SLICE_LIT("*")))
        return answer_options(x, "GET, HEAD, OPTIONS", "OPTIONS *");
    if (req->path.len == 0 || req->path.ptr[0] != '/')
        return UVH_STATUS_BAD_REQUEST;
    if (health && (method == UVH_METHOD_GET || method == UVH_METHOD_HEAD) &&
        uvh_slice_eq(req->path, uvh_slice_from(health)))
        return answer_health(x);
    const struct uvh_route *r = find_route(req->path);
    if (!r)
        return UVH_STATUS_NOT_FOUND;
    x->route = r;
    switch (method) {
    case UVH_METHOD_GET:
    case UVH_METHOD_HEAD:
        if (r->ops->get)
            return r->ops->get(x);
        break;
    case UVH_METHOD_POST:
        if (r->ops->post)
            return r->ops->post(x);
        break;
    case UVH_METHOD_OPTIONS:
        return answer_options(x, r->allow, "OPTIONS");
    case UVH_METHOD_OTHER:
        break;
    }
    uvh_response_add(&x->res, "Allow", "%s", r->allow);
    return UVH_STATUS_METHOD_NOT_ALLOWED;
}

void uvh_router_start(const struct uvh_env *env)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (routes[i].ops->start)
            routes[i].ops->start(env);
}

void uvh_router_stop(void)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (routes[i].ops->stop)
            routes[i].ops->stop();
}

bool uvh_router_body_pause(struct uvh_exchange *x)
{
    return x->route && x->route->ops->body_pause && x->route->ops->body_pause(x);
}

void uvh_router_release(struct uvh_exchange *x)
{
    if (x->route && x->route->ops->release)
        x->route->ops->release(x);
    x->route = NULL;
}
