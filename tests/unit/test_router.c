/* test_router.c - the route table, through a fake exchange: which route takes a path, what
 * each method gets at the head and at dispatch (OPTIONS, 405 with Allow, 404, 400), and that
 * a route's handler state is released through the route. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <string.h>

#include "fake_exchange.h"
#include "router.h"

static struct uvh_exchange x;
static struct uvh_env env;
static struct uvh_config cfg;

static void on(enum uvh_method m, const char *path)
{
    fake_exchange_init(&x, &env, &cfg, m, path);
}

/* The Allow header the router added, or NULL. */
static const char *allow(void)
{
    static char v[128];
    const char *p = memmem(x.res.extra, x.res.extra_len, "Allow: ", 7);
    if (!p)
        return NULL;
    const char *e = memchr(p, '\r', x.res.extra_len - (size_t)(p - x.res.extra));
    snprintf(v, sizeof(v), "%.*s", (int)(e - p - 7), p + 7);
    return v;
}

struct head_case {
    enum uvh_method method;
    const char *path;
    enum uvh_status status;
    const char *allow; /* NULL: no Allow header */
};

/* At the head only a method a route does not allow is refused (POST /upload's own checks are
 * the upload handler's, tested in test_upload_head.c). */
static const struct head_case head_cases[] = {
    {UVH_METHOD_GET, "/", UVH_STATUS_OK, NULL},
    {UVH_METHOD_HEAD, "/index.html", UVH_STATUS_OK, NULL},
    {UVH_METHOD_OPTIONS, "/upload", UVH_STATUS_OK, NULL},
    {UVH_METHOD_OPTIONS, "/anything", UVH_STATUS_OK, NULL},
    {UVH_METHOD_POST, "/index.html", UVH_STATUS_METHOD_NOT_ALLOWED, "GET, HEAD, OPTIONS"},
    {UVH_METHOD_OTHER, "/index.html", UVH_STATUS_METHOD_NOT_ALLOWED, "GET, HEAD, OPTIONS"},
    {UVH_METHOD_GET, "/upload", UVH_STATUS_METHOD_NOT_ALLOWED, "POST, OPTIONS"},
    {UVH_METHOD_HEAD, "/upload", UVH_STATUS_METHOD_NOT_ALLOWED, "POST, OPTIONS"},
    {UVH_METHOD_OTHER, "/upload", UVH_STATUS_METHOD_NOT_ALLOWED, "POST, OPTIONS"},
    /* only the exact path is the upload route: the rest are files */
    {UVH_METHOD_GET, "/upload/", UVH_STATUS_OK, NULL},
    {UVH_METHOD_GET, "/uploads/x.json", UVH_STATUS_OK, NULL},
    {UVH_METHOD_POST, "/upload/x", UVH_STATUS_METHOD_NOT_ALLOWED, "GET, HEAD, OPTIONS"},
};

Test(router, head_decisions)
{
    for (size_t i = 0; i < sizeof(head_cases) / sizeof(head_cases[0]); i++) {
        const struct head_case *c = &head_cases[i];
        on(c->method, c->path);
        enum uvh_status st = uvh_router_head(&x);
        cr_expect_eq(st, c->status, "case %zu (%s): status %d, want %d", i, c->path, st, c->status);
        const char *a = allow();
        if (c->allow)
            cr_expect(a && strcmp(a, c->allow) == 0, "case %zu (%s): Allow %s, want %s", i, c->path,
                      a ? a : "(none)", c->allow);
        else
            cr_expect_null(a, "case %zu (%s): unexpected Allow %s", i, c->path, a);
        cr_expect_eq(fake_calls.responded, 0, "case %zu: the head answered by itself", i);
        uvh_router_release(&x);
    }
}

Test(router, options_answered_by_the_router)
{
    on(UVH_METHOD_OPTIONS, "*");
    x.req.path = (struct uvh_slice){NULL, 0};
    cr_expect_eq(uvh_router_dispatch(&x), UVH_STATUS_NONE);
    cr_expect_eq(fake_calls.responded, 1);
    cr_expect_eq(fake_calls.last_status, UVH_STATUS_NO_CONTENT);
    cr_expect_str_eq(allow(), "GET, HEAD, OPTIONS");

    on(UVH_METHOD_OPTIONS, "/upload");
    cr_expect_eq(uvh_router_dispatch(&x), UVH_STATUS_NONE);
    cr_expect_eq(fake_calls.last_status, UVH_STATUS_NO_CONTENT);
    cr_expect_str_eq(allow(), "POST, OPTIONS");

    on(UVH_METHOD_OPTIONS, "/notes.txt");
    cr_expect_eq(uvh_router_dispatch(&x), UVH_STATUS_NONE);
    cr_expect_str_eq(allow(), "GET, HEAD, OPTIONS");
}

Test(router, dispatch_refusals)
{
    on(UVH_METHOD_OTHER, "/index.html");
    cr_expect_eq(uvh_router_dispatch(&x), UVH_STATUS_METHOD_NOT_ALLOWED);
    cr_expect_str_eq(allow(), "GET, HEAD, OPTIONS");

    on(UVH_METHOD_GET, "/upload");
    cr_expect_eq(uvh_router_dispatch(&x), UVH_STATUS_METHOD_NOT_ALLOWED);
    cr_expect_str_eq(allow(), "POST, OPTIONS");

    /* "*" is for OPTIONS only, and an origin-form path starts with '/' */
    on(UVH_METHOD_GET, "*");
    cr_expect_eq(uvh_router_dispatch(&x), UVH_STATUS_BAD_REQUEST);
    on(UVH_METHOD_GET, "index.html");
    cr_expect_eq(uvh_router_dispatch(&x), UVH_STATUS_BAD_REQUEST);
    cr_expect_eq(fake_calls.responded, 0);
}

/* A POST /upload whose head was accepted is finished by the upload handler at dispatch; one
 * whose head was refused never reaches it (the connection answers the head's status). */
Test(router, post_upload_reaches_the_handler)
{
    on(UVH_METHOD_POST, "/upload");
    fake_exchange_header(&x, UVH_HDR_CONTENT_TYPE, "application/json");
    cr_assert_eq(uvh_router_head(&x), UVH_STATUS_OK);
    cr_assert_not_null(x.h.upload, "the upload handler took no state");
    cr_expect_not(uvh_router_body_pause(&x), "an empty buffer paused the body");
    uvh_router_release(&x);
    cr_expect_null(x.h.upload, "the route did not release the handler's state");
    cr_expect_null(x.route);
}

Test(router, no_route_state_without_a_route)
{
    on(UVH_METHOD_GET, "/x");
    cr_expect_not(uvh_router_body_pause(&x));
    uvh_router_release(&x); /* nothing to release: no crash */
    cr_expect_null(x.route);
}
