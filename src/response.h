/* response.h - struct uvh_response: status line and headers into one buffer, error pages. */
#ifndef UVH_RESPONSE_H
#define UVH_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_status.h"
#include "log.h"
#include "slice.h"

#define UVH_SERVER_NAME "uvhttpd/" UVH_VERSION
/* Handler headers: room for the longest set the server sends, a Location holding a whole 8 KiB
 * target (a directory's redirect) or a Content-Disposition for a 765-byte name beside ETag,
 * Last-Modified, Accept-Ranges and Content-Range (both checked in static_handler.c). */
#define UVH_RESPONSE_EXTRA_MAX (8192 + 1024)
#define UVH_RESPONSE_HEAD_MAX (UVH_RESPONSE_EXTRA_MAX + 1024) /* the extra headers + fixed ones */
/* extra_len once a header did not fit: the head is refused until the extra headers are cleared,
 * so a response never goes out without a header it was meant to carry. */
#define UVH_RESPONSE_EXTRA_LOST SIZE_MAX
#define UVH_RESPONSE_BODY_MAX 640

/* One response being prepared and sent; owned by the connection's exchange, so every buffer
 * here lives until the write that carries it completes. */
struct uvh_response {
    enum uvh_status status;
    const char *content_type; /* static string, or a buffer of the exchange; NULL for none */
    uint64_t content_length;  /* bytes of body the full (GET) response carries */
    bool head_only;           /* HEAD: the same headers, no body */
    bool keep_alive;          /* decided by the connection just before the head is formatted */
    bool quiet;               /* a health check: access line at debug only, not in the access log */
    unsigned ka_timeout_s;
    unsigned ka_remaining; /* requests this connection will still accept */
    size_t extra_len;      /* handler-specific header lines, each ending in CRLF; or
                              UVH_RESPONSE_EXTRA_LOST */
    size_t head_len;
    size_t body_len;    /* a small generated body (error page), sent with the head */
    const char *served; /* for the access log: file name or handler, NULL if none */
    uint64_t served_size;
    uint64_t bytes_sent; /* head and body bytes written so far */
    /* The buffers last, head first: a usual response touches the page of the fields above and
     * the head's first few hundred bytes, not one page per buffer. */
    char head[UVH_RESPONSE_HEAD_MAX];
    char extra[UVH_RESPONSE_EXTRA_MAX];
    char body[UVH_RESPONSE_BODY_MAX];
};

/* Clears the response for a new request. */
void uvh_response_reset(struct uvh_response *r);

/* Appends "Name: value\r\n" to the extra headers (printf-style value). Returns -1 if it does
 * not fit: that is logged, and the response is then lost (extra_len UVH_RESPONSE_EXTRA_LOST):
 * further adds fail and uvh_response_format_head refuses the head, which the connection answers
 * with a 500 after clearing the extra headers. */
int uvh_response_add(struct uvh_response *r, const char *name, const char *fmt, ...)
    UVH_PRINTF(3, 4);

/* The same for a value that needs no formatting (no printf on the hot path). */
int uvh_response_add_slice(struct uvh_response *r, const char *name, struct uvh_slice value);

/* Makes r an error response: HTML page with code, reason, one sentence and the server name. */
void uvh_response_set_error(struct uvh_response *r, enum uvh_status st);

/* Formats the status line and all headers into r->head; -1 if they do not fit, or if a header
 * was lost (see uvh_response_add). */
int uvh_response_format_head(struct uvh_response *r);

/* Writes Content-Disposition for a download named `name` (RFC 6266: quoted ASCII fallback with
 * unsafe bytes replaced, plus filename* when the name is not plain ASCII), always for the whole
 * name; -1, with the response lost as for uvh_response_add, if it does not fit. */
int uvh_response_add_disposition(struct uvh_response *r, struct uvh_slice name);

/* The current IMF-fixdate, formatted at most once per second. */
const char *uvh_response_date_now(void);

/* True for statuses whose responses carry no body and no Content-Length (1xx, 204, 304). */
bool uvh_response_bodyless(enum uvh_status st);

#endif
