/* request.h - struct uvh_request and the llhttp callbacks that fill it. */
#ifndef UVH_REQUEST_H
#define UVH_REQUEST_H

#include <stdbool.h>
#include <stdint.h>

#include <llhttp.h>

#include "http_status.h"
#include "slice.h"

#define UVH_REQUEST_LINE_MAX 8192    /* request target longer than this -> 414 */
#define UVH_REQUEST_HEADERS_MAX 8192 /* header section longer than this -> 431 */
#define UVH_REQUEST_FIELDS_MAX 100   /* more header fields than this -> 431 */
#define UVH_REQUEST_BODY_MAX                                                                       \
    (1024 * 1024) /* bodies no handler consumes are discarded up to this                           \
                   */

/* The methods the routes tell apart; anything else is UVH_METHOD_OTHER. */
enum uvh_method {
    UVH_METHOD_OTHER,
    UVH_METHOD_GET,
    UVH_METHOD_HEAD,
    UVH_METHOD_POST,
    UVH_METHOD_OPTIONS,
};

/* The headers the server acts on; every other field is only counted. */
enum uvh_hdr {
    UVH_HDR_HOST,
    UVH_HDR_CONNECTION,
    UVH_HDR_IF_NONE_MATCH,
    UVH_HDR_IF_MODIFIED_SINCE,
    UVH_HDR_RANGE,
    UVH_HDR_IF_RANGE,
    UVH_HDR_CONTENT_TYPE,
    UVH_HDR_EXPECT,
    UVH_HDR_TRANSFER_ENCODING,
    UVH_HDR_REFERER,    /* for the access log */
    UVH_HDR_USER_AGENT, /* for the access log */
    UVH_HDR__COUNT
};

/* One parsed request. Every slice points into the connection's input buffer and stays valid
 * until the next on_message_begin resets the struct; a slice with ptr == NULL is absent. */
struct uvh_request {
    struct uvh_slice method;
    struct uvh_slice target;    /* as sent: origin-form, absolute-form or "*" */
    struct uvh_slice authority; /* from an absolute-form target, else absent */
    struct uvh_slice path;      /* target without authority, query and fragment: "/a/b.txt" */
    struct uvh_slice query;     /* after '?', without it, up to a '#' fragment */
    struct uvh_slice version;
    struct uvh_slice hdr[UVH_HDR__COUNT];
    struct uvh_slice field, value; /* the header line being assembled */
    const char *fields_start;      /* first byte of the header section */
    const char *head_end;          /* one past the last head byte delivered so far */
    uint64_t body_bytes;           /* body bytes received */
    /* Where body bytes go, set when the head was accepted by a handler that wants the body;
     * NULL: the body is discarded (up to UVH_REQUEST_BODY_MAX). Returns 0 or an HTTP status. */
    int (*sink)(void *ctx, const char *at, size_t len);
    void *sink_ctx;
    enum uvh_status error; /* why a callback stopped the parser (414, 431, 413) */
    /* Copied from the parser at the end of the head, so only conn.c and request.c touch it. */
    enum uvh_method method_id;
    uint8_t http_minor;      /* HTTP/1.x */
    bool has_length;         /* Content-Length was given */
    bool chunked;            /* Transfer-Encoding: chunked */
    uint64_t content_length; /* when has_length */
    uint16_t n_fields;
    uint8_t n_host;
    bool started;      /* on_message_begin ran: empty lines before a request line do not */
    bool headers_done; /* on_headers_complete ran: the parser pauses right after it */
    bool complete;
};

/* The one llhttp settings instance; parser->data must point at a struct uvh_request. */
extern const llhttp_settings_t uvh_request_settings;

/* Maps a parser error to the status to answer with. `msg` and `len` are the unparsed bytes of
 * the failing message (used to tell an unknown method token, 501, from garbage, 400). */
enum uvh_status uvh_request_error_status(const llhttp_t *parser, const struct uvh_request *r,
                                         const char *msg, size_t len);

#endif
