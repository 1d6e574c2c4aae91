/* fake_exchange.c - see fake_exchange.h. */
#include "fake_exchange.h"

#include <string.h>

struct fake_calls fake_calls;

void fake_exchange_init(struct uvh_exchange *x, struct uvh_env *env, struct uvh_config *cfg,
                        enum uvh_method method, const char *path)
{
    static const char *const names[] = {"BREW", "GET", "HEAD", "POST", "OPTIONS"};
    memset(x, 0, sizeof(*x));
    memset(env, 0, sizeof(*env));
    memset(&fake_calls, 0, sizeof(fake_calls));
    *cfg = uvh_config_defaults;
    env->cfg = cfg;
    env->root = "/nonexistent-root";
    env->root_len = strlen(env->root);
    x->env = env;
    x->peer = "127.0.0.1:1";
    x->id = 1;
    x->req.method = uvh_slice_from(names[method]);
    x->req.method_id = method;
    x->req.target = uvh_slice_from(path);
    x->req.path = x->req.target;
    uvh_response_reset(&x->res);
}

void fake_exchange_header(struct uvh_exchange *x, enum uvh_hdr h, const char *value)
{
    x->req.hdr[h] = value ? uvh_slice_from(value) : (struct uvh_slice){NULL, 0};
}

void uvh_exchange_respond(struct uvh_exchange *x)
{
    fake_calls.responded++;
    fake_calls.last_status = x->res.status;
}

void uvh_exchange_respond_body(struct uvh_exchange *x, const char *body, size_t len)
{
    (void)body;
    (void)len;
    uvh_exchange_respond(x);
}

void uvh_exchange_respond_error(struct uvh_exchange *x, enum uvh_status st)
{
    uvh_response_set_error(&x->res, st);
    uvh_exchange_respond(x);
}

void uvh_exchange_write_head(struct uvh_exchange *x, const char *body, size_t len,
                             uvh_exchange_write_cb cb)
{
    (void)body;
    (void)len;
    fake_calls.last_status = x->res.status;
    cb(x, 0);
}

void uvh_exchange_write_body(struct uvh_exchange *x, const char *body, size_t len,
                             uvh_exchange_write_cb cb)
{
    (void)body;
    (void)len;
    cb(x, 0);
}

int uvh_exchange_send_file(struct uvh_exchange *x, uv_file file, uint64_t offset, uint64_t len,
                           uvh_exchange_file_cb cb)
{
    (void)x;
    (void)file;
    (void)offset;
    (void)len;
    (void)cb;
    fake_calls.send_files++;
    return UV_ENOTSUP;
}

void uvh_exchange_finish(struct uvh_exchange *x)
{
    (void)x;
    fake_calls.finished++;
}

bool uvh_exchange_gone(const struct uvh_exchange *x)
{
    (void)x;
    return fake_calls.aborted != NULL;
}

void uvh_exchange_abort(struct uvh_exchange *x, const char *reason)
{
    (void)x;
    fake_calls.aborted = reason;
}

void uvh_exchange_send_continue(struct uvh_exchange *x)
{
    (void)x;
    fake_calls.continues++;
}

void uvh_exchange_resume_body(struct uvh_exchange *x)
{
    (void)x;
    fake_calls.resumed++;
}
