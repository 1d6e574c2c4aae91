/* response.c - owns the bytes of a response head and of error pages. It formats only; the
 * connection decides keep-alive and performs the write. */
#include "response.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "date.h"
#include "strbuf.h"

/* Per loop thread: each loop formats its own Date once a second. */
static _Thread_local time_t date_sec = (time_t)-1;
static _Thread_local char date_str[UVH_DATE_LEN + 1];

const char *uvh_response_date_now(void)
{
    time_t now = time(NULL);
    if (now != date_sec) {
        uvh_date_format((int64_t)now, date_str);
        date_sec = now;
    }
    return date_str;
}

bool uvh_response_bodyless(enum uvh_status st)
{
    return st < 200 || st == UVH_STATUS_NO_CONTENT || st == UVH_STATUS_NOT_MODIFIED;
}

void uvh_response_reset(struct uvh_response *r)
{
    r->status = UVH_STATUS_NONE;
    r->content_type = NULL;
    r->content_length = 0;
    r->head_only = false;
    r->keep_alive = false;
    r->extra_len = 0;
    r->head_len = 0;
    r->body_len = 0;
    r->served = NULL;
    r->served_size = 0;
    r->bytes_sent = 0;
    r->quiet = false;
}

/* A header did not fit: say so, and refuse the head (never send a response without it). */
static int lose(struct uvh_response *r, const char *name, size_t need)
{
    uvh_log(UVH_LOG_ERROR,
            "Response header %.64s (%llu bytes) does not fit; the response is refused", name,
            (unsigned long long)need);
    r->extra_len = UVH_RESPONSE_EXTRA_LOST;
    return -1;
}

static bool extra_lost(const struct uvh_response *r)
{
    return r->extra_len > sizeof(r->extra);
}

int uvh_response_add(struct uvh_response *r, const char *name, const char *fmt, ...)
{
    if (extra_lost(r))
        return -1;
    size_t cap = sizeof(r->extra) - r->extra_len;
    int n = snprintf(r->extra + r->extra_len, cap, "%s: ", name);
    if (n < 0 || (size_t)n >= cap)
        return lose(r, name, n < 0 ? 0 : (size_t)n);
    size_t len = (size_t)n;
    va_list ap;
    va_start(ap, fmt);
    n = vsnprintf(r->extra + r->extra_len + len, cap - len, fmt, ap);
    va_end(ap);
    if (n < 0 || len + (size_t)n + 2 >= cap)
        return lose(r, name, len + (n < 0 ? 0 : (size_t)n) + 2);
    len += (size_t)n;
    memcpy(r->extra + r->extra_len + len, "\r\n", 2);
    r->extra_len += len + 2;
    return 0;
}

int uvh_response_add_slice(struct uvh_response *r, const char *name, struct uvh_slice value)
{
    if (extra_lost(r))
        return -1;
    struct uvh_strbuf b = uvh_sb(r->extra + r->extra_len, sizeof(r->extra) - r->extra_len);
    uvh_sb_str(&b, name);
    uvh_sb_str(&b, ": ");
    uvh_sb_slice(&b, value);
    uvh_sb_str(&b, "\r\n");
    if (b.full || b.len == sizeof(r->extra) - r->extra_len) /* as uvh_response_add */
        return lose(r, name, strlen(name) + 2 + value.len + 2);
    r->extra_len += b.len;
    return 0;
}

/* RFC 8187 attr-char: ALPHA / DIGIT / "!#$&+-.^_`|~" */
static bool is_attr_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$&+-.^_`|~", c));
}

int uvh_response_add_disposition(struct uvh_response *r, struct uvh_slice name)
{
    static const char hex[] = "0123456789ABCDEF";
    static const char quoted[] = "Content-Disposition: attachment; filename=\"";
    static const char ext[] = "\"; filename*=UTF-8''";
    bool plain = true;
    size_t encoded = 0;

    if (extra_lost(r))
        return -1;
    /* Measured first, then written straight into the extra headers: the whole name or nothing. */
    for (size_t i = 0; i < name.len; i++) {
        unsigned char c = (unsigned char)name.ptr[i];
        plain &= c >= 0x20 && c < 0x7f;
        encoded += is_attr_char(c) ? 1 : 3;
    }
    size_t need = sizeof(quoted) - 1 + name.len + (plain ? 1 : sizeof(ext) - 1 + encoded) + 2;
    if (need > sizeof(r->extra) - r->extra_len)
        return lose(r, "Content-Disposition", need);

    char *p = r->extra + r->extra_len;
    memcpy(p, quoted, sizeof(quoted) - 1);
    p += sizeof(quoted) - 1;
    for (size_t i = 0; i < name.len; i++) {
        unsigned char c = (unsigned char)name.ptr[i];
        *p++ = c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? (char)c : '_';
    }
    if (plain) {
        *p++ = '"';
    } else {
        memcpy(p, ext, sizeof(ext) - 1);
        p += sizeof(ext) - 1;
        for (size_t i = 0; i < name.len; i++) {
            unsigned char c = (unsigned char)name.ptr[i];
            if (is_attr_char(c)) {
                *p++ = (char)c;
            } else {
                *p++ = '%';
                *p++ = hex[c >> 4];
                *p++ = hex[c & 15];
            }
        }
    }
    *p++ = '\r';
    *p++ = '\n';
    r->extra_len = (size_t)(p - r->extra);
    return 0;
}

void uvh_response_set_error(struct uvh_response *r, enum uvh_status st)
{
    const char *reason = uvh_status_reason(st);
    int n = snprintf(r->body, sizeof(r->body),
                     "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                     "<title>%d %s</title></head>\n<body><h1>%d %s</h1>\n<p>%s</p>\n"
                     "<hr><address>%s</address></body></html>\n",
                     (int)st, reason, (int)st, reason, uvh_status_sentence(st), UVH_SERVER_NAME);
    r->status = st;
    r->body_len = n > 0 && (size_t)n < sizeof(r->body) ? (size_t)n : 0;
    r->content_type = "text/html; charset=utf-8";
    r->content_length = r->body_len;
}

int uvh_response_format_head(struct uvh_response *r)
{
    struct uvh_strbuf b = uvh_sb(r->head, sizeof(r->head));

    if (extra_lost(r))
        return -1;
    uvh_sb_str(&b, "HTTP/1.1 ");
    uvh_sb_u64(&b, (uint64_t)r->status);
    uvh_sb_char(&b, ' ');
    uvh_sb_str(&b, uvh_status_reason(r->status));
    uvh_sb_str(&b, "\r\nDate: ");
    uvh_sb_mem(&b, uvh_response_date_now(), UVH_DATE_LEN);
    uvh_sb_str(&b, "\r\nServer: " UVH_SERVER_NAME "\r\nX-Content-Type-Options: nosniff\r\n");
    if (r->content_type) {
        uvh_sb_str(&b, "Content-Type: ");
        uvh_sb_str(&b, r->content_type);
        uvh_sb_str(&b, "\r\n");
    }
    if (!uvh_response_bodyless(r->status)) {
        uvh_sb_str(&b, "Content-Length: ");
        uvh_sb_u64(&b, r->content_length);
        uvh_sb_str(&b, "\r\n");
    }
    uvh_sb_mem(&b, r->extra, r->extra_len);
    if (r->keep_alive) {
        uvh_sb_str(&b, "Connection: keep-alive\r\nKeep-Alive: timeout=");
        uvh_sb_u64(&b, r->ka_timeout_s);
        uvh_sb_str(&b, ", max=");
        uvh_sb_u64(&b, r->ka_remaining);
        uvh_sb_str(&b, "\r\n\r\n");
    } else {
        uvh_sb_str(&b, "Connection: close\r\n\r\n");
    }
    /* A head that fills the buffer exactly is refused too, as snprintf's NUL made it before. */
    if (b.full || b.len == sizeof(r->head))
        return -1;
    r->head_len = b.len;
    return 0;
}
