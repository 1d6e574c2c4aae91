/* proxy_protocol.c - parses PROXY protocol v1 (text) and v2 (binary) headers and matches peers
 * against the trusted address blocks. Pure functions over bytes: it never reads a socket, and
 * it never trusts a length it has not checked against the bytes it was given. */
#include "proxy_protocol.h"

#include <string.h>

static const char v1_sig[6] = {'P', 'R', 'O', 'X', 'Y', ' '};
static const char v2_sig[12] = {'\r', '\n', '\r', '\n', '\0', '\r', '\n', 'Q', 'U', 'I', 'T', '\n'};

#define V2_PREAMBLE 16

static bool prefix_of(const char *buf, size_t len, const char *sig, size_t sig_len)
{
    return memcmp(buf, sig, len < sig_len ? len : sig_len) == 0;
}

enum uvh_proxy_result uvh_proxy_detect(const char *buf, size_t len)
{
    if (prefix_of(buf, len, v1_sig, sizeof(v1_sig)))
        return len >= sizeof(v1_sig) ? UVH_PROXY_DONE : UVH_PROXY_NEED_MORE;
    if (prefix_of(buf, len, v2_sig, sizeof(v2_sig)))
        return len >= sizeof(v2_sig) ? UVH_PROXY_DONE : UVH_PROXY_NEED_MORE;
    return UVH_PROXY_NONE;
}

static void set_addr(struct sockaddr_storage *ss, int family, const unsigned char *ip,
                     unsigned port)
{
    memset(ss, 0, sizeof(*ss));
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((unsigned short)port);
        memcpy(&a->sin_addr, ip, 4);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((unsigned short)port);
        memcpy(&a->sin6_addr, ip, 16);
    }
}

/* One space-separated token of a v1 line: [*p, end) up to the next space or the end. */
static bool next_token(const char **p, const char *end, const char **tok, size_t *tok_len)
{
    const char *q = *p;
    while (q < end && *q != ' ')
        q++;
    *tok = *p;
    *tok_len = (size_t)(q - *p);
    *p = q < end ? q + 1 : q;
    return *tok_len > 0;
}

static bool parse_ip(int family, const char *tok, size_t len, unsigned char *out)
{
    char s[64];
    /* No NUL (the string would end early) and no "%zone" (libuv accepts one for IPv6). */
    if (len >= sizeof(s) || memchr(tok, '\0', len) || memchr(tok, '%', len))
        return false;
    memcpy(s, tok, len);
    s[len] = '\0';
    return uv_inet_pton(family, s, out) == 0;
}

/* A port: decimal 0-65535 without a leading zero ("0" itself is fine). */
static bool parse_port(const char *tok, size_t len, unsigned *out)
{
    unsigned v = 0;
    if (len == 0 || len > 5 || (tok[0] == '0' && len > 1))
        return false;
    for (size_t i = 0; i < len; i++) {
        if (tok[i] < '0' || tok[i] > '9')
            return false;
        v = v * 10 + (unsigned)(tok[i] - '0');
    }
    *out = v;
    return v <= 65535;
}

static enum uvh_proxy_result fail(const char **why, const char *reason)
{
    *why = reason;
    return UVH_PROXY_ERROR;
}

/* "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n" or "PROXY UNKNOWN[ anything]\r\n", at most 107
 * bytes (section 2.1). */
static enum uvh_proxy_result parse_v1(const char *buf, size_t len, struct uvh_proxy_header *out,
                                      const char **why)
{
    size_t scan = len < UVH_PROXY_V1_MAX ? len : UVH_PROXY_V1_MAX;
    const char *nl = memchr(buf, '\n', scan);
    if (!nl)
        return len >= UVH_PROXY_V1_MAX ? fail(why, "v1 header longer than 107 bytes")
                                       : UVH_PROXY_NEED_MORE;
    if (nl == buf || nl[-1] != '\r')
        return fail(why, "v1 header not ended by CRLF");
    const char *p = buf + sizeof(v1_sig), *end = nl - 1, *tok;
    size_t tok_len;
    out->len = (size_t)(nl + 1 - buf);
    out->version = 1;
    out->has_addr = false;
    if (!next_token(&p, end, &tok, &tok_len))
        return fail(why, "v1 header without a protocol");
    if (tok_len == 7 && memcmp(tok, "UNKNOWN", 7) == 0)
        return UVH_PROXY_DONE; /* the rest of the line is to be ignored (section 2.1) */
    int family;
    if (tok_len == 4 && memcmp(tok, "TCP4", 4) == 0)
        family = AF_INET;
    else if (tok_len == 4 && memcmp(tok, "TCP6", 4) == 0)
        family = AF_INET6;
    else
        return fail(why, "v1 header with an unknown protocol");
    unsigned char src[16], dst[16];
    unsigned sport, dport;
    if (!next_token(&p, end, &tok, &tok_len) || !parse_ip(family, tok, tok_len, src))
        return fail(why, "v1 header with a bad source address");
    if (!next_token(&p, end, &tok, &tok_len) || !parse_ip(family, tok, tok_len, dst))
        return fail(why, "v1 header with a bad destination address");
    if (!next_token(&p, end, &tok, &tok_len) || !parse_port(tok, tok_len, &sport))
        return fail(why, "v1 header with a bad source port");
    if (!next_token(&p, end, &tok, &tok_len) || !parse_port(tok, tok_len, &dport))
        return fail(why, "v1 header with a bad destination port");
    if (p != end || end[-1] == ' ')
        return fail(why, "v1 header with extra fields");
    set_addr(&out->src, family, src, sport);
    set_addr(&out->dst, family, dst, dport);
    out->has_addr = true;
    return UVH_PROXY_DONE;
}

/* TLVs after the addresses (section 2.2.7): type, 16-bit length, value; all skipped, but they
 * must tile the rest of the header exactly. */
static bool tlvs_ok(const unsigned char *p, size_t len)
{
    while (len > 0) {
        if (len < 3)
            return false;
        size_t vlen = ((size_t)p[1] << 8) | p[2];
        if (vlen > len - 3)
            return false;
        p += 3 + vlen;
        len -= 3 + vlen;
    }
    return true;
}

/* The 12-byte signature, version and command, family and transport, length; then the addresses
 * and TLVs (section 2.2). */
static enum uvh_proxy_result parse_v2(const char *buf, size_t len, struct uvh_proxy_header *out,
                                      const char **why)
{
    const unsigned char *b = (const unsigned char *)buf;
    if (len < V2_PREAMBLE)
        return UVH_PROXY_NEED_MORE;
    unsigned ver = b[12] >> 4, cmd = b[12] & 15, af = b[13] >> 4, tp = b[13] & 15;
    size_t body = ((size_t)b[14] << 8) | b[15];
    if (ver != 2)
        return fail(why, "v2 header with an unknown version");
    if (cmd > 1)
        return fail(why, "v2 header with an unknown command");
    if (af > 3 || tp > 2)
        return fail(why, "v2 header with an unknown address family or transport");
    if (V2_PREAMBLE + body > UVH_PROXY_V2_MAX)
        return fail(why, "v2 header longer than the limit");
    if (len < V2_PREAMBLE + body)
        return UVH_PROXY_NEED_MORE;
    out->len = V2_PREAMBLE + body;
    out->version = 2;
    out->has_addr = false;
    if (cmd == 0) /* LOCAL: the proxy's own connection (health checks); addresses ignored */
        return UVH_PROXY_DONE;
    static const size_t addr_len[4] = {0, 12, 36, 216}; /* UNSPEC, INET, INET6, UNIX */
    if (body < addr_len[af])
        return fail(why, "v2 header shorter than its addresses");
    const unsigned char *a = b + V2_PREAMBLE;
    if (af != 0 && !tlvs_ok(a + addr_len[af], body - addr_len[af]))
        return fail(why, "v2 header with a malformed TLV");
    if (af == 1) {
        set_addr(&out->src, AF_INET, a, ((unsigned)a[8] << 8) | a[9]);
        set_addr(&out->dst, AF_INET, a + 4, ((unsigned)a[10] << 8) | a[11]);
        out->has_addr = true;
    } else if (af == 2) {
        set_addr(&out->src, AF_INET6, a, ((unsigned)a[32] << 8) | a[33]);
        set_addr(&out->dst, AF_INET6, a + 16, ((unsigned)a[34] << 8) | a[35]);
        out->has_addr = true;
    }
    return UVH_PROXY_DONE; /* UNSPEC and UNIX: no IP address to take over */
}

enum uvh_proxy_result uvh_proxy_parse(const char *buf, size_t len, struct uvh_proxy_header *out,
                                      const char **why)
{
    *why = "no PROXY header";
    if (prefix_of(buf, len, v1_sig, sizeof(v1_sig)))
        return len < sizeof(v1_sig) ? UVH_PROXY_NEED_MORE : parse_v1(buf, len, out, why);
    if (prefix_of(buf, len, v2_sig, sizeof(v2_sig)))
        return len < sizeof(v2_sig) ? UVH_PROXY_NEED_MORE : parse_v2(buf, len, out, why);
    return UVH_PROXY_NONE;
}

int uvh_proxy_parse_cidr(const char *s, struct uvh_cidr *out)
{
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    unsigned bits = 0;

    memset(out, 0, sizeof(*out));
    if (parse_ip(AF_INET, s, alen, out->addr))
        out->family = AF_INET;
    else if (parse_ip(AF_INET6, s, alen, out->addr))
        out->family = AF_INET6;
    else
        return UV_EINVAL;
    unsigned max = out->family == AF_INET ? 32 : 128;
    if (!slash) {
        bits = max;
    } else {
        const char *d = slash + 1;
        size_t n = strlen(d);
        if (n == 0 || n > 3 || (d[0] == '0' && n > 1))
            return UV_EINVAL;
        for (size_t i = 0; i < n; i++) {
            if (d[i] < '0' || d[i] > '9')
                return UV_EINVAL;
            bits = bits * 10 + (unsigned)(d[i] - '0');
        }
        if (bits > max)
            return UV_EINVAL;
    }
    out->bits = bits;
    for (unsigned i = bits; i < max; i++) /* host bits: "10.1.2.3/8" means 10.0.0.0/8 */
        out->addr[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
    return 0;
}

static bool bits_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
    if (memcmp(a, b, bits / 8) != 0)
        return false;
    if (bits % 8 == 0)
        return true;
    unsigned char mask = (unsigned char)(0xffu << (8 - bits % 8));
    return (a[bits / 8] & mask) == (b[bits / 8] & mask);
}

bool uvh_proxy_cidr_match(const struct uvh_cidr *c, const struct sockaddr *sa)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    unsigned char v6[16];
    const unsigned char *v4 = NULL;

    if (sa->sa_family == AF_INET) {
        v4 = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
        memcpy(v6, mapped, 12);
        memcpy(v6 + 12, v4, 4);
    } else if (sa->sa_family == AF_INET6) {
        memcpy(v6, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        if (memcmp(v6, mapped, 12) == 0)
            v4 = v6 + 12;
    } else {
        return false;
    }
    if (c->family == AF_INET)
        return v4 && bits_equal(c->addr, v4, c->bits);
    return bits_equal(c->addr, v6, c->bits);
}

bool uvh_proxy_trusted(const struct uvh_proxy_trust *t, const struct sockaddr *peer)
{
    if (!peer)
        return t->pipes;
    for (size_t i = 0; i < t->n; i++)
        if (uvh_proxy_cidr_match(&t->cidrs[i], peer))
            return true;
    return false;
}
