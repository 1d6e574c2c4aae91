/* test_upload_head.c - POST /upload's decisions at the end of the head, before any body byte:
 * 415 for anything but JSON, 417 for an unknown expectation, 413 for a declared length over
 * --max-body, and 100 Continue only for a request it will take. */
#include <criterion/criterion.h>

#include <string.h>

#include "fake_exchange.h"
#include "upload_handler.h"

static struct uvh_exchange x;
static struct uvh_env env;
static struct uvh_config cfg;

struct head_case {
    const char *what;
    const char *content_type; /* NULL: absent */
    const char *expect;       /* NULL: absent */
    long long length;         /* -1: no Content-Length (chunked or none) */
    enum uvh_status status;
    int continues; /* 100 Continue lines sent */
};

static const struct head_case cases[] = {
    {"JSON", "application/json", NULL, 10, UVH_STATUS_OK, 0},
    {"JSON, any case, parameters", "Application/JSON; charset=utf-8", NULL, 10, UVH_STATUS_OK, 0},
    {"JSON with 100-continue", "application/json", "100-continue", 10, UVH_STATUS_OK, 1},
    {"100-continue, any case", "application/json", "100-Continue", 10, UVH_STATUS_OK, 1},
    {"chunked (no length)", "application/json", NULL, -1, UVH_STATUS_OK, 0},
    {"exactly --max-body", "application/json", NULL, 1000, UVH_STATUS_OK, 0},
    {"no Content-Type", NULL, NULL, 10, UVH_STATUS_UNSUPPORTED_MEDIA_TYPE, 0},
    {"text/plain", "text/plain", NULL, 10, UVH_STATUS_UNSUPPORTED_MEDIA_TYPE, 0},
    {"application/jsonx", "application/jsonx", NULL, 10, UVH_STATUS_UNSUPPORTED_MEDIA_TYPE, 0},
    {"415 wins over 100-continue", "text/plain", "100-continue", 10,
     UVH_STATUS_UNSUPPORTED_MEDIA_TYPE, 0},
    {"unknown expectation", "application/json", "something-else", 10, UVH_STATUS_EXPECTATION_FAILED,
     0},
    {"over --max-body", "application/json", NULL, 1001, UVH_STATUS_CONTENT_TOO_LARGE, 0},
    {"over --max-body with 100-continue: no 100", "application/json", "100-continue", 5000,
     UVH_STATUS_CONTENT_TOO_LARGE, 0},
};

Test(upload_head, decisions)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct head_case *c = &cases[i];
        fake_exchange_init(&x, &env, &cfg, UVH_METHOD_POST, "/upload");
        cfg.max_body = 1000;
        fake_exchange_header(&x, UVH_HDR_CONTENT_TYPE, c->content_type);
        fake_exchange_header(&x, UVH_HDR_EXPECT, c->expect);
        x.req.has_length = c->length >= 0;
        x.req.chunked = c->length < 0;
        x.req.content_length = c->length >= 0 ? (uint64_t)c->length : 0;
        enum uvh_status st = uvh_upload_begin(&x);
        cr_expect_eq(st, c->status, "%s: status %d, want %d", c->what, st, c->status);
        cr_expect_eq(fake_calls.continues, c->continues, "%s: %d 100 Continue sent, want %d",
                     c->what, fake_calls.continues, c->continues);
        if (st == UVH_STATUS_OK) {
            cr_expect_not_null(x.h.upload, "%s: accepted without taking the body", c->what);
            cr_expect_not_null(x.req.sink, "%s: no body sink", c->what);
        } else {
            cr_expect_null(x.h.upload, "%s: refused but holds an upload", c->what);
            cr_expect_null(x.req.sink, "%s: refused but takes the body", c->what);
        }
        uvh_upload_release(&x); /* nothing was written: freed at once */
        cr_expect_null(x.h.upload);
    }
}

/* The body sink enforces --max-body for a body whose length was not declared (chunked). */
Test(upload_head, chunked_body_over_max_body_refused_by_the_sink)
{
    char chunk[600];
    memset(chunk, ' ', sizeof(chunk));
    fake_exchange_init(&x, &env, &cfg, UVH_METHOD_POST, "/upload");
    cfg.max_body = 1000;
    fake_exchange_header(&x, UVH_HDR_CONTENT_TYPE, "application/json");
    x.req.chunked = true;
    cr_assert_eq(uvh_upload_begin(&x), UVH_STATUS_OK);
    cr_expect_eq(x.req.sink(x.req.sink_ctx, chunk, sizeof(chunk)), 0);
    cr_expect_eq(x.req.sink(x.req.sink_ctx, chunk, sizeof(chunk)), UVH_STATUS_CONTENT_TOO_LARGE);
    uvh_upload_release(&x);
}
