/* request.c - owns the llhttp callbacks: they fill struct uvh_request with slices and enforce
 * the head limits. They never touch the socket: on_message_complete pauses the parser and the
 * connection takes over. */
#include "request.h"

#include <string.h>

static bool is_tchar(char c);

struct known_header {
    struct uvh_slice name;
    enum uvh_hdr id;
};

static const struct known_header known_headers[] = {
    {UVH_SLICE_INIT("host"), UVH_HDR_HOST},
    {UVH_SLICE_INIT("connection"), UVH_HDR_CONNECTION},
    {UVH_SLICE_INIT("if-none-match"), UVH_HDR_IF_NONE_MATCH},
    {UVH_SLICE_INIT("if-modified-since"), UVH_HDR_IF_MODIFIED_SINCE},
    {UVH_SLICE_INIT("range"), UVH_HDR_RANGE},
    {UVH_SLICE_INIT("if-range"), UVH_HDR_IF_RANGE},
    {UVH_SLICE_INIT("content-type"), UVH_HDR_CONTENT_TYPE},
    {UVH_SLICE_INIT("expect"), UVH_HDR_EXPECT},
    {UVH_SLICE_INIT("transfer-encoding"), UVH_HDR_TRANSFER_ENCODING},
    {UVH_SLICE_INIT("referer"), UVH_HDR_REFERER},
    {UVH_SLICE_INIT("user-agent"), UVH_HDR_USER_AGENT},
};

static int fail(llhttp_t *p, struct uvh_request *r, enum uvh_status st, const char *why)
{
    r->error = st;
    llhttp_set_error_reason(p, why);
    return HPE_USER;
}

/* Pieces of one span arrive contiguous (one input buffer), so a span only grows. A gap means
 * the parser skipped bytes inside the span, which only an obs-fold line does: rejected
 * (RFC 9112 section 5.2). */
static int grow(llhttp_t *p, struct uvh_request *r, struct uvh_slice *s, const char *at, size_t len)
{
    if (!s->ptr)
        s->ptr = at;
    else if (at != s->ptr + s->len)
        return fail(p, r, UVH_STATUS_BAD_REQUEST, "obsolete line folding");
    s->len = (size_t)(at + len - s->ptr);
    r->head_end = at + len;
    return 0;
}

static int on_message_begin(llhttp_t *p)
{
    struct uvh_request *r = p->data;
    memset(r, 0, sizeof(*r));
    r->started = true;
    return 0;
}

static int on_method(llhttp_t *p, const char *at, size_t len)
{
    struct uvh_request *r = p->data;
    return grow(p, r, &r->method, at, len);
}

/* Known as soon as the method token ends, so even a request refused mid-head (a HEAD answered
 * 431) is answered as its method requires. */
static int on_method_complete(llhttp_t *p)
{
    struct uvh_request *r = p->data;
    switch (llhttp_get_method(p)) {
    case HTTP_GET:
        r->method_id = UVH_METHOD_GET;
        break;
    case HTTP_HEAD:
        r->method_id = UVH_METHOD_HEAD;
        break;
    case HTTP_POST:
        r->method_id = UVH_METHOD_POST;
        break;
    case HTTP_OPTIONS:
        r->method_id = UVH_METHOD_OPTIONS;
        break;
    default:
        r->method_id = UVH_METHOD_OTHER;
        break;
    }
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    struct uvh_request *r = p->data;
    if (grow(p, r, &r->target, at, len) != 0)
        return HPE_USER;
    if (r->target.len > UVH_REQUEST_LINE_MAX)
        return fail(p, r, UVH_STATUS_URI_TOO_LONG, "request target too long");
    return 0;
}

static int on_version(llhttp_t *p, const char *at, size_t len)
{
    struct uvh_request *r = p->data;
    return grow(p, r, &r->version, at, len);
}

static int check_head_size(llhttp_t *p, struct uvh_request *r)
{
    if ((size_t)(r->head_end - r->fields_start) > UVH_REQUEST_HEADERS_MAX)
        return fail(p, r, UVH_STATUS_HEADER_FIELDS_TOO_LARGE, "header section too large");
    return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    struct uvh_request *r = p->data;
    if (!r->fields_start)
        r->fields_start = at;
    if (grow(p, r, &r->field, at, len) != 0)
        return HPE_USER;
    return check_head_size(p, r);
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    struct uvh_request *r = p->data;
    if (grow(p, r, &r->value, at, len) != 0)
        return HPE_USER;
    return check_head_size(p, r);
}

/* RFC 9110 section 5.1: a field name is a token, so no whitespace inside it or before its
 * colon (RFC 9112 section 5.1). */
static int on_header_field_complete(llhttp_t *p)
{
    struct uvh_request *r = p->data;
    if (r->field.len == 0)
        return fail(p, r, UVH_STATUS_BAD_REQUEST, "empty field name");
    for (size_t i = 0; i < r->field.len; i++)
        if (!is_tchar(r->field.ptr[i]))
            return fail(p, r, UVH_STATUS_BAD_REQUEST, "invalid field name");
    return 0;
}

static int on_header_value_complete(llhttp_t *p)
{
    struct uvh_request *r = p->data;
    struct uvh_slice value = r->value.ptr ? uvh_slice_trim(r->value) : UVH_SLICE_LIT("");

    if (++r->n_fields > UVH_REQUEST_FIELDS_MAX)
        return fail(p, r, UVH_STATUS_HEADER_FIELDS_TOO_LARGE, "too many header fields");
    for (size_t i = 0; i < sizeof(known_headers) / sizeof(known_headers[0]); i++) {
        if (uvh_slice_eq_nocase(r->field, known_headers[i].name)) {
            if (known_headers[i].id == UVH_HDR_HOST && r->n_host++)
                break; /* keep the first; the duplicate is rejected by the host check */
            /* RFC 9112 section 6.1: chunked is the only coding we decode; anything else,
             * including a coding applied before chunked, is not implemented. */
            if (known_headers[i].id == UVH_HDR_TRANSFER_ENCODING &&
                (r->hdr[UVH_HDR_TRANSFER_ENCODING].ptr ||
                 !uvh_slice_eq_nocase(value, UVH_SLICE_LIT("chunked"))))
                return fail(p, r, UVH_STATUS_NOT_IMPLEMENTED, "unsupported transfer coding");
            r->hdr[known_headers[i].id] = value;
            break;
        }
    }
    r->field = (struct uvh_slice){NULL, 0};
    r->value = (struct uvh_slice){NULL, 0};
    return 0;
}

/* Splits the target into authority, path and query (RFC 9112 section 3.2). A fragment is not
 * part of a target (RFC 9110 section 7.1, RFC 3986 section 3.5): clients must not send one, and
 * when one comes everything from '#' is ignored, as nginx does, so it reaches neither the path
 * nor the query. A '#' in a file name arrives encoded as %23. */
static void split_target(struct uvh_request *r)
{
    struct uvh_slice t = r->target;
    const char *hash = t.len ? memchr(t.ptr, '#', t.len) : NULL;

    if (hash)
        t.len = (size_t)(hash - t.ptr);

    if (uvh_slice_has_prefix_nocase(t, UVH_SLICE_LIT("http://")) ||
        uvh_slice_has_prefix_nocase(t, UVH_SLICE_LIT("https://"))) {
        size_t skip = t.ptr[4] == ':' ? 7 : 8;
        const char *a = t.ptr + skip, *end = t.ptr + t.len, *slash = a;
        while (slash < end && *slash != '/' && *slash != '?')
            slash++;
        r->authority = (struct uvh_slice){a, (size_t)(slash - a)};
        t = (struct uvh_slice){slash, (size_t)(end - slash)};
    }
    const char *q = t.len ? memchr(t.ptr, '?', t.len) : NULL;
    r->path = (struct uvh_slice){t.ptr, q ? (size_t)(q - t.ptr) : t.len};
    if (r->path.len == 0) /* "http://host" or "http://host?x": the path is "/" */
        r->path = (struct uvh_slice){"/", 1};
    if (q)
        r->query = (struct uvh_slice){q + 1, (size_t)(t.ptr + t.len - q - 1)};
}

static int on_headers_complete(llhttp_t *p)
{
    struct uvh_request *r = p->data;
    split_target(r);
    /* RFC 9110 section 10.1.1: a server MUST ignore a 100-continue expectation in an HTTP/1.0
     * request (and never send a 1xx to an HTTP/1.0 client). */
    if (p->http_major == 1 && p->http_minor == 0 &&
        uvh_slice_eq_nocase(r->hdr[UVH_HDR_EXPECT], UVH_SLICE_LIT("100-continue")))
        r->hdr[UVH_HDR_EXPECT] = (struct uvh_slice){NULL, 0};
    r->http_minor = llhttp_get_http_minor(p);
    r->has_length = (p->flags & F_CONTENT_LENGTH) != 0;
    r->chunked = (p->flags & F_CHUNKED) != 0;
    r->content_length = r->has_length ? p->content_length : 0;
    r->headers_done = true;
    /* Pause so the connection can look at the head (Host, route, Expect, body limits) before a
     * single body byte is read. */
    return HPE_PAUSED;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    struct uvh_request *r = p->data;
    r->body_bytes += len;
    if (r->sink) {
        int st = r->sink(r->sink_ctx, at, len);
        return st ? fail(p, r, (enum uvh_status)st, "request body refused") : 0;
    }
    if (r->body_bytes > UVH_REQUEST_BODY_MAX)
        return fail(p, r, UVH_STATUS_CONTENT_TOO_LARGE, "request body too large");
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    struct uvh_request *r = p->data;
    r->complete = true;
    return HPE_PAUSED;
}

const llhttp_settings_t uvh_request_settings = {
    .on_message_begin = on_message_begin,
    .on_method = on_method,
    .on_method_complete = on_method_complete,
    .on_url = on_url,
    .on_version = on_version,
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static bool is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

enum uvh_status uvh_request_error_status(const llhttp_t *parser, const struct uvh_request *r,
                                         const char *msg, size_t len)
{
    /* A callback's own verdict wins; llhttp reports it as HPE_USER or as HPE_CB_* for the
     * *_complete callbacks. */
    if (r->error)
        return r->error;
    switch (llhttp_get_errno(parser)) {
    case HPE_INVALID_METHOD: {
        /* A well-formed token the parser does not know is an unimplemented method (RFC 9110
         * section 9.1); anything else is garbage. */
        size_t i = 0;
        while (i < len && is_tchar(msg[i]))
            i++;
        return (i > 0 && i < len && msg[i] == ' ') ? UVH_STATUS_NOT_IMPLEMENTED
                                                   : UVH_STATUS_BAD_REQUEST;
    }
    case HPE_INVALID_VERSION: {
        /* "HTTP/x.y" with digits is a well-formed version we do not speak. */
        const char *v = r->version.ptr;
        bool digits = v && r->version.len == 3 && v[0] >= '0' && v[0] <= '9' && v[1] == '.' &&
                      v[2] >= '0' && v[2] <= '9';
        /* 1.0 and 1.1 are spoken: a failure after them is broken syntax. */
        if (digits && !(v[0] == '1' && (v[2] == '0' || v[2] == '1')))
            return UVH_STATUS_HTTP_VERSION_NOT_SUPPORTED;
        return UVH_STATUS_BAD_REQUEST;
    }
    case HPE_INVALID_TRANSFER_ENCODING:
        return UVH_STATUS_NOT_IMPLEMENTED;
    default:
        return UVH_STATUS_BAD_REQUEST;
    }
}
