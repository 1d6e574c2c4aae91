/* proxy_protocol.h - the PROXY protocol header of a load balancer (HAProxy's send-proxy and
 * send-proxy-v2, https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt) and the list of
 * peers trusted to send one. Pure parsing: bytes in, a verdict out; no I/O. */
#ifndef UVH_PROXY_PROTOCOL_H
#define UVH_PROXY_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#define UVH_PROXY_V1_MAX 107  /* "PROXY TCP6 <39> <39> 65535 65535\r\n", the spec's bound */
#define UVH_PROXY_V2_MAX 2048 /* 16-byte preamble + addresses + TLVs; longer is refused */
#define UVH_PROXY_TRUST_MAX 16

enum uvh_proxy_result {
    UVH_PROXY_NEED_MORE, /* a prefix of a header: wait for more bytes */
    UVH_PROXY_NONE,      /* the bytes do not start with a PROXY signature */
    UVH_PROXY_ERROR,     /* a PROXY signature followed by a malformed or oversized header */
    UVH_PROXY_DONE,      /* a whole header: *out is filled */
};

/* One parsed header. */
struct uvh_proxy_header {
    size_t len;    /* bytes of the header: the request starts after them */
    int version;   /* 1 or 2 */
    bool has_addr; /* false for v1 UNKNOWN, v2 LOCAL (health checks), AF_UNSPEC or AF_UNIX: the
                      connection keeps its real peer */
    struct sockaddr_storage src, dst; /* AF_INET or AF_INET6 when has_addr */
};

/* Parses the header at the start of buf[0..len). On UVH_PROXY_ERROR (and UVH_PROXY_NONE) *why
 * names the reason, a static string. */
enum uvh_proxy_result uvh_proxy_parse(const char *buf, size_t len, struct uvh_proxy_header *out,
                                      const char **why);

/* Only the signature: UVH_PROXY_DONE when buf starts with a v1 or v2 signature, NEED_MORE while
 * it is a proper prefix of one, NONE otherwise. */
enum uvh_proxy_result uvh_proxy_detect(const char *buf, size_t len);

/* An address block: ADDR/BITS, or ADDR alone (/32 or /128). */
struct uvh_cidr {
    int family; /* AF_INET or AF_INET6 */
    unsigned bits;
    unsigned char addr[16]; /* network order, host bits cleared */
};

/* Parses "10.0.0.0/8", "::1/128", "127.0.0.1". Returns 0 or UV_EINVAL. */
int uvh_proxy_parse_cidr(const char *s, struct uvh_cidr *out);

/* True when sa lies in c; an IPv4-mapped IPv6 address (a dual-stack socket) matches as IPv4. */
bool uvh_proxy_cidr_match(const struct uvh_cidr *c, const struct sockaddr *sa);

/* The peers that must send a PROXY header (--proxy-protocol); nobody else may. */
struct uvh_proxy_trust {
    size_t n;
    struct uvh_cidr cidrs[UVH_PROXY_TRUST_MAX];
    bool pipes; /* peers without an address (pipes: tests and the fuzzer) are trusted too */
};

/* True when the peer (NULL: a pipe, no address) is trusted. */
bool uvh_proxy_trusted(const struct uvh_proxy_trust *t, const struct sockaddr *peer);

#endif
