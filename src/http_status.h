/* http_status.h - every status uvhttpd can send: code, enum name, reason phrase, error-page
 * sentence. */
#ifndef UVH_HTTP_STATUS_H
#define UVH_HTTP_STATUS_H

#define UVH_STATUS_LIST(X)                                                                         \
    X(100, CONTINUE, "Continue", "")                                                               \
    X(200, OK, "OK", "")                                                                           \
    X(201, CREATED, "Created", "")                                                                 \
    X(204, NO_CONTENT, "No Content", "")                                                           \
    X(206, PARTIAL_CONTENT, "Partial Content", "")                                                 \
    X(301, MOVED_PERMANENTLY, "Moved Permanently", "The resource has moved.")                      \
    X(304, NOT_MODIFIED, "Not Modified", "")                                                       \
    X(400, BAD_REQUEST, "Bad Request", "The server could not understand the request.")             \
    X(403, FORBIDDEN, "Forbidden", "You do not have permission to access this resource.")          \
    X(404, NOT_FOUND, "Not Found", "The requested resource was not found on this server.")         \
    X(405, METHOD_NOT_ALLOWED, "Method Not Allowed",                                               \
      "The request method is not supported for this resource.")                                    \
    X(408, REQUEST_TIMEOUT, "Request Timeout", "The server timed out waiting for the request.")    \
    X(411, LENGTH_REQUIRED, "Length Required", "The request must state its Content-Length.")       \
    X(413, CONTENT_TOO_LARGE, "Payload Too Large", "The request body is larger than allowed.")     \
    X(414, URI_TOO_LONG, "URI Too Long", "The request target is longer than allowed.")             \
    X(415, UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type",                                       \
      "The media type of this resource or request is not supported.")                              \
    X(416, RANGE_NOT_SATISFIABLE, "Range Not Satisfiable",                                         \
      "The requested range lies outside the resource.")                                            \
    X(417, EXPECTATION_FAILED, "Expectation Failed", "The expectation cannot be met.")             \
    X(431, HEADER_FIELDS_TOO_LARGE, "Request Header Fields Too Large",                             \
      "The request header fields are larger than allowed.")                                        \
    X(500, INTERNAL_SERVER_ERROR, "Internal Server Error",                                         \
      "The server encountered an internal error.")                                                 \
    X(501, NOT_IMPLEMENTED, "Not Implemented",                                                     \
      "The server does not support what the request requires.")                                    \
    X(503, SERVICE_UNAVAILABLE, "Service Unavailable",                                             \
      "The server is temporarily unable to handle the request.")                                   \
    X(505, HTTP_VERSION_NOT_SUPPORTED, "HTTP Version Not Supported",                               \
      "The HTTP version of the request is not supported.")

/* A request outcome; handlers return one, only response.c turns it into bytes. */
enum uvh_status {
    UVH_STATUS_NONE = 0, /* no outcome yet: the handler answers asynchronously */
#define UVH_STATUS_ENUM(code, name, reason, sentence) UVH_STATUS_##name = code,
    UVH_STATUS_LIST(UVH_STATUS_ENUM)
#undef UVH_STATUS_ENUM
};

/* The reason phrase for a status ("Not Found"), or "Unknown". */
static inline const char *uvh_status_reason(enum uvh_status s)
{
    switch (s) {
#define UVH_STATUS_REASON(code, name, reason, sentence)                                            \
    case UVH_STATUS_##name:                                                                        \
        return reason;
        UVH_STATUS_LIST(UVH_STATUS_REASON)
#undef UVH_STATUS_REASON
    default:
        return "Unknown";
    }
}

/* The one-sentence explanation used in error pages. */
static inline const char *uvh_status_sentence(enum uvh_status s)
{
    switch (s) {
#define UVH_STATUS_SENTENCE(code, name, reason, sentence)                                          \
    case UVH_STATUS_##name:                                                                        \
        return sentence;
        UVH_STATUS_LIST(UVH_STATUS_SENTENCE)
#undef UVH_STATUS_SENTENCE
    default:
        return "";
    }
}

#endif
