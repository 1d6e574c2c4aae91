/* router.c - owns the route table. It picks a handler by path and method and answers OPTIONS
 * and 405 itself; it never reads files or the socket. */
#include "router.h"

#include "conn.h"
#include "static_handler.h"
#include "upload_handler.h"

struct route {
    struct uvh_slice path; /* exact path, or a prefix when `prefix` */
    bool prefix;
    const char *allow;        /* the Allow header value */
    uvh_handler_fn get;       /* GET and HEAD */
    uvh_handler_fn post_head; /* POST, at the end of the head: takes or refuses the body */
    uvh_handler_fn post;      /* POST, once the whole body is in */
};

/* First match wins; "/" is the static-file catch-all. */
static const struct route routes[] = {
    {UVH_SLICE_INIT("/upload"), false, "POST, OPTIONS", NULL, uvh_upload_begin, uvh_upload_finish},
    {UVH_SLICE_INIT("/"), true, "GET, HEAD, OPTIONS", uvh_static_handle, NULL, NULL},
};

static const struct route *find_route(struct uvh_slice path)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const struct route *r = &routes[i];
        if (r->prefix ? (path.len >= r->path.len && memcmp(path.ptr, r->path.ptr, r->path.len) == 0)
                      : uvh_slice_eq(path, r->path))
            return r;
    }
    return NULL;
}

static bool method_allowed(const struct route *r, uint8_t method)
{
    switch (method) {
    case HTTP_GET:
    case HTTP_HEAD:
        return r->get != NULL;
    case HTTP_POST:
        return r->post != NULL;
    case HTTP_OPTIONS:
        return true;
    default:
        return false;
    }
}

enum uvh_status uvh_router_head(struct uvh_conn *c)
{
    const struct route *r = find_route(c->x->req.path);
    uint8_t method = llhttp_get_method(&c->parser);

    if (!r)
        return UVH_STATUS_OK;
    /* Known before the body: refuse now, so an Expect: 100-continue client never sends it. */
    if (!method_allowed(r, method)) {
        uvh_response_add(&c->x->res, "Allow", "%s", r->allow);
        return UVH_STATUS_METHOD_NOT_ALLOWED;
    }
    if (method == HTTP_POST && r->post_head)
        return r->post_head(c);
    return UVH_STATUS_OK;
}

enum uvh_status uvh_router_dispatch(struct uvh_conn *c)
{
    struct uvh_request *req = &c->x->req;
    struct uvh_response *res = &c->x->res;
    uint8_t method = llhttp_get_method(&c->parser);

    if (method == HTTP_OPTIONS && uvh_slice_eq(req->target, UVH_SLICE_LIT("*"))) {
        uvh_response_add(res, "Allow", "GET, HEAD, OPTIONS");
        res->status = UVH_STATUS_NO_CONTENT;
        res->served = "OPTIONS *";
        uvh_conn_respond(c);
        return UVH_STATUS_NONE;
    }
    if (req->path.len == 0 || req->path.ptr[0] != '/')
        return UVH_STATUS_BAD_REQUEST;
    const struct route *r = find_route(req->path);
    if (!r)
        return UVH_STATUS_NOT_FOUND;
    switch (method) {
    case HTTP_GET:
    case HTTP_HEAD:
        if (r->get)
            return r->get(c);
        break;
    case HTTP_POST:
        if (r->post)
            return r->post(c);
        break;
    case HTTP_OPTIONS:
        uvh_response_add(res, "Allow", "%s", r->allow);
        res->status = UVH_STATUS_NO_CONTENT;
        res->served = "OPTIONS";
        uvh_conn_respond(c);
        return UVH_STATUS_NONE;
    default:
        break;
    }
    uvh_response_add(res, "Allow", "%s", r->allow);
    return UVH_STATUS_METHOD_NOT_ALLOWED;
}
