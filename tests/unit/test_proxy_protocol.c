/* test_proxy_protocol.c - the PROXY header parser (v1 text, v2 binary) fed whole and cut at every
 * offset, every malformed case, signature detection, and trusted address blocks. */
#include <criterion/criterion.h>
#include <string.h>

#include "proxy_protocol.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char v2_sig[12] = {'\r', '\n', '\r', '\n', '\0', '\r', '\n', 'Q', 'U', 'I', 'T', '\n'};

/* A v2 header: signature, version/command, family/transport, length, then `body`. */
static size_t v2(char *out, unsigned char ver_cmd, unsigned char fam, const void *body,
                 size_t body_len)
{
    memcpy(out, v2_sig, 12);
    out[12] = (char)ver_cmd;
    out[13] = (char)fam;
    out[14] = (char)(body_len >> 8);
    out[15] = (char)(body_len & 0xff);
    if (body_len)
        memcpy(out + 16, body, body_len);
    return 16 + body_len;
}

static const unsigned char inet_body[] = {1, 2, 3, 4, 5, 6, 7, 8, 0x04, 0xd2, 0x00, 0x50};
/* src 2001:db8::1 port 443, dst ::1 port 8080 */
static const unsigned char inet6_body[36] = {
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, /* src */
    0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, /* dst */
    0x01, 0xbb, 0x1f, 0x90};
/* inet_body followed by TLVs: ALPN "h2", a NOOP of length 0, an SSL TLV with 5 bytes. */
static const unsigned char inet_tlv_body[] = {1,    2,    3,    4,    5, 6,   7,   8, 0x04, 0xd2,
                                              0x00, 0x50, 0x01, 0x00, 2, 'h', '2', 4, 0,    0,
                                              0x20, 0x00, 5,    1,    2, 3,   4,   5};

static void expect_addr(const struct sockaddr_storage *ss, const char *ip, int port)
{
    char got[64] = "";
    int got_port;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        uv_ip4_name(a, got, sizeof(got));
        got_port = ntohs(a->sin_port);
    } else {
        cr_assert_eq(ss->ss_family, AF_INET6);
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        uv_ip6_name(a, got, sizeof(got));
        got_port = ntohs(a->sin6_port);
    }
    cr_assert_str_eq(got, ip);
    cr_assert_eq(got_port, port, "%s: port %d, expected %d", ip, got_port, port);
}

struct good {
    const char *name;
    char buf[300];
    size_t len; /* of the header */
    int version;
    const char *src, *dst; /* NULL: no address */
    int sport, dport;
};

static size_t n_good;
static struct good goods[16];

static void add_text(const char *name, const char *hdr, const char *src, const char *dst, int sport,
                     int dport)
{
    struct good *g = &goods[n_good++];
    g->name = name;
    g->len = strlen(hdr);
    memcpy(g->buf, hdr, g->len);
    g->version = 1;
    g->src = src;
    g->dst = dst;
    g->sport = sport;
    g->dport = dport;
}

static void add_bin(const char *name, unsigned char ver_cmd, unsigned char fam, const void *body,
                    size_t body_len, const char *src, const char *dst, int sport, int dport)
{
    struct good *g = &goods[n_good++];
    g->name = name;
    g->len = v2(g->buf, ver_cmd, fam, body, body_len);
    g->version = 2;
    g->src = src;
    g->dst = dst;
    g->sport = sport;
    g->dport = dport;
}

static void make_goods(void)
{
    static const unsigned char unix_body[216] = {'/', 's'};
    static const unsigned char junk[7] = {9, 9, 9, 9, 9, 9, 9};
    n_good = 0;
    add_text("v1 TCP4", "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n", "192.168.0.1",
             "192.168.0.11", 56324, 443);
    add_text("v1 TCP6", "PROXY TCP6 2001:db8::1 ::1 65535 0\r\n", "2001:db8::1", "::1", 65535, 0);
    add_text("v1 longest",
             "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
             "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
             "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
             65535, 65535);
    add_text("v1 UNKNOWN", "PROXY UNKNOWN\r\n", NULL, NULL, 0, 0);
    add_text("v1 UNKNOWN with fields", "PROXY UNKNOWN ffff::1 ::1 1 2 and more\r\n", NULL, NULL, 0,
             0);
    add_bin("v2 PROXY INET", 0x21, 0x11, inet_body, sizeof(inet_body), "1.2.3.4", "5.6.7.8", 1234,
            80);
    add_bin("v2 PROXY INET6", 0x21, 0x21, inet6_body, sizeof(inet6_body), "2001:db8::1", "::1", 443,
            8080);
    add_bin("v2 PROXY INET with TLVs", 0x21, 0x11, inet_tlv_body, sizeof(inet_tlv_body), "1.2.3.4",
            "5.6.7.8", 1234, 80);
    add_bin("v2 PROXY INET, transport UNSPEC", 0x21, 0x10, inet_body, sizeof(inet_body), "1.2.3.4",
            "5.6.7.8", 1234, 80);
    add_bin("v2 LOCAL (health check)", 0x20, 0x00, NULL, 0, NULL, NULL, 0, 0);
    add_bin("v2 LOCAL with an address block", 0x20, 0x11, inet_body, sizeof(inet_body), NULL, NULL,
            0, 0);
    add_bin("v2 LOCAL with junk", 0x20, 0x00, junk, sizeof(junk), NULL, NULL, 0, 0);
    add_bin("v2 PROXY UNSPEC", 0x21, 0x00, NULL, 0, NULL, NULL, 0, 0);
    add_bin("v2 PROXY UNIX", 0x21, 0x31, unix_body, sizeof(unix_body), NULL, NULL, 0, 0);
}

static void expect_good(const struct good *g, const char *buf, size_t len)
{
    struct uvh_proxy_header h;
    const char *why = NULL;
    enum uvh_proxy_result r = uvh_proxy_parse(buf, len, &h, &why);
    cr_assert_eq(r, UVH_PROXY_DONE, "%s: result %d (%s)", g->name, r, why);
    cr_assert_eq(h.len, g->len, "%s: length %zu, expected %zu", g->name, h.len, g->len);
    cr_assert_eq(h.version, g->version, "%s", g->name);
    cr_assert_eq(h.has_addr, g->src != NULL, "%s: has_addr", g->name);
    if (g->src) {
        expect_addr(&h.src, g->src, g->sport);
        expect_addr(&h.dst, g->dst, g->dport);
    }
}

Test(proxy_protocol, valid_headers_whole_and_followed_by_a_request)
{
    make_goods();
    for (size_t i = 0; i < n_good; i++) {
        const struct good *g = &goods[i];
        char buf[400];
        expect_good(g, g->buf, g->len);
        /* The request that follows is not part of the header. */
        memcpy(buf, g->buf, g->len);
        memcpy(buf + g->len, "GET / HTTP/1.1\r\n\r\n", 18);
        expect_good(g, buf, g->len + 18);
        cr_assert_eq(uvh_proxy_detect(buf, g->len + 18), UVH_PROXY_DONE, "%s", g->name);
    }
}

Test(proxy_protocol, every_cut_needs_more)
{
    make_goods();
    for (size_t i = 0; i < n_good; i++) {
        const struct good *g = &goods[i];
        for (size_t k = 0; k < g->len; k++) {
            struct uvh_proxy_header h;
            const char *why;
            enum uvh_proxy_result r = uvh_proxy_parse(g->buf, k, &h, &why);
            cr_assert_eq(r, UVH_PROXY_NEED_MORE, "%s cut at %zu of %zu: result %d (%s)", g->name, k,
                         g->len, r, why);
            enum uvh_proxy_result d = uvh_proxy_detect(g->buf, k);
            cr_assert_eq(d, k < (g->version == 1 ? 6u : 12u) ? UVH_PROXY_NEED_MORE : UVH_PROXY_DONE,
                         "%s: detect at %zu", g->name, k);
        }
    }
}

struct bad {
    const char *name;
    const char *text; /* v1 text, or NULL for the binary one below */
    unsigned char ver_cmd, fam;
    const unsigned char *body;
    size_t body_len;
    int declared; /* >= 0: the length field says this instead of body_len */
};

Test(proxy_protocol, malformed_headers_are_errors)
{
    static const unsigned char bad_tlv1[] = {1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2, 0x01, 0x00};
    static const unsigned char bad_tlv2[] = {1, 2, 3, 4, 5,    6,    7, 8,
                                             0, 1, 0, 2, 0x01, 0x00, 5, 'a'};
    static const unsigned char short_inet[] = {1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0};
    static const unsigned char short_inet6[30] = {0};
    static const unsigned char big[UVH_PROXY_V2_MAX] = {0};
    static const struct bad cases[] = {
        {.name = "v1 LF only", .text = "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"},
        {.name = "v1 CR LF at the start", .text = "PROXY \r\n"},
        {.name = "v1 no protocol", .text = "PROXY  1.2.3.4 5.6.7.8 1 2\r\n"},
        {.name = "v1 unknown protocol", .text = "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"},
        {.name = "v1 lower-case protocol", .text = "PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n"},
        {.name = "v1 TCP4 with IPv6", .text = "PROXY TCP4 ::1 ::1 1 2\r\n"},
        {.name = "v1 TCP6 with IPv4", .text = "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n"},
        {.name = "v1 bad source", .text = "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n"},
        {.name = "v1 bad destination", .text = "PROXY TCP4 1.2.3.4 5.6.7.256 1 2\r\n"},
        {.name = "v1 port too large", .text = "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"},
        {.name = "v1 port with leading zero", .text = "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n"},
        {.name = "v1 port not a number", .text = "PROXY TCP4 1.2.3.4 5.6.7.8 1 x\r\n"},
        {.name = "v1 negative port", .text = "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n"},
        {.name = "v1 missing port", .text = "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"},
        {.name = "v1 missing addresses", .text = "PROXY TCP4\r\n"},
        {.name = "v1 extra field", .text = "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"},
        {.name = "v1 trailing space", .text = "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n"},
        {.name = "v1 double space", .text = "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n"},
        {.name = "v1 IPv6 with a zone", .text = "PROXY TCP6 fe80::1%lo ::1 1 2\r\n"},
        {.name = "v1 tab", .text = "PROXY TCP4\t1.2.3.4 5.6.7.8 1 2\r\n"},
        {.name = "v1 NUL in address", .text = "PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n"},
        {.name = "v1 over 107 bytes",
         .text = "PROXY UNKNOWN "
                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"},
        {"v2 version 1", NULL, 0x11, 0x11, inet_body, sizeof(inet_body), -1},
        {"v2 version 3", NULL, 0x31, 0x11, inet_body, sizeof(inet_body), -1},
        {"v2 command 2", NULL, 0x22, 0x11, inet_body, sizeof(inet_body), -1},
        {"v2 command 15", NULL, 0x2f, 0x11, inet_body, sizeof(inet_body), -1},
        {"v2 family 4", NULL, 0x21, 0x41, inet_body, sizeof(inet_body), -1},
        {"v2 transport 3", NULL, 0x21, 0x13, inet_body, sizeof(inet_body), -1},
        {"v2 INET shorter than its addresses", NULL, 0x21, 0x11, short_inet, sizeof(short_inet),
         -1},
        {"v2 INET6 shorter than its addresses", NULL, 0x21, 0x21, short_inet6, sizeof(short_inet6),
         -1},
        {"v2 TLV header cut", NULL, 0x21, 0x11, bad_tlv1, sizeof(bad_tlv1), -1},
        {"v2 TLV longer than the header", NULL, 0x21, 0x11, bad_tlv2, sizeof(bad_tlv2), -1},
        {"v2 over the size limit", NULL, 0x21, 0x11, big, sizeof(big) - 15, -1},
        {"v2 declaring 65535 bytes", NULL, 0x21, 0x11, inet_body, sizeof(inet_body), 65535},
    };
    for (size_t i = 0; i < N(cases); i++) {
        const struct bad *b = &cases[i];
        static char buf[UVH_PROXY_V2_MAX + 64];
        size_t len;
        if (b->text) {
            len = strlen(b->text);
            if (strcmp(b->name, "v1 NUL in address") == 0)
                len = sizeof("PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n") - 1;
            memcpy(buf, b->text, len);
        } else {
            len = v2(buf, b->ver_cmd, b->fam, b->body, b->body_len);
            if (b->declared >= 0) {
                buf[14] = (char)(b->declared >> 8);
                buf[15] = (char)(b->declared & 0xff);
            }
        }
        struct uvh_proxy_header h;
        const char *why = NULL;
        enum uvh_proxy_result r = uvh_proxy_parse(buf, len, &h, &why);
        cr_assert_eq(r, UVH_PROXY_ERROR, "%s: result %d, expected an error", b->name, r);
        cr_assert(why && *why, "%s: no reason", b->name);
        cr_assert_eq(uvh_proxy_detect(buf, len), UVH_PROXY_DONE, "%s: signature", b->name);
    }
}

Test(proxy_protocol, v1_without_line_end_waits_up_to_107_bytes)
{
    char buf[200];
    struct uvh_proxy_header h;
    const char *why;
    memset(buf, 'x', sizeof(buf));
    memcpy(buf, "PROXY UNKNOWN ", 14);
    cr_assert_eq(uvh_proxy_parse(buf, 106, &h, &why), UVH_PROXY_NEED_MORE);
    cr_assert_eq(uvh_proxy_parse(buf, 107, &h, &why), UVH_PROXY_ERROR);
    cr_assert_eq(uvh_proxy_parse(buf, 200, &h, &why), UVH_PROXY_ERROR);
    memcpy(buf + 105, "\r\n", 2); /* exactly 107 bytes with its CRLF */
    cr_assert_eq(uvh_proxy_parse(buf, 200, &h, &why), UVH_PROXY_DONE);
    cr_assert_eq(h.len, 107u);
}

Test(proxy_protocol, requests_are_not_proxy_headers)
{
    static const char *const requests[] = {"GET / HTTP/1.1\r\n",      "POST /upload HTTP/1.1\r\n",
                                           "PROPFIND / HTTP/1.1\r\n", "PROXy TCP4",
                                           "\r\nGET / HTTP/1.1\r\n",  "\r\n\r\nGET",
                                           "\r\n\r\n\0\r\nQUIZ",      "proxy "};
    for (size_t i = 0; i < N(requests); i++) {
        size_t len = i == 6 ? 12 : strlen(requests[i]);
        struct uvh_proxy_header h;
        const char *why;
        cr_assert_eq(uvh_proxy_parse(requests[i], len, &h, &why), UVH_PROXY_NONE, "%s",
                     requests[i]);
        cr_assert_eq(uvh_proxy_detect(requests[i], len), UVH_PROXY_NONE, "%s", requests[i]);
    }
    /* Prefixes of a signature are undecided: "P", "PRO", an empty line. */
    static const char *const prefixes[] = {"", "P", "PRO", "PROXY", "\r\n", "\r\n\r\n"};
    for (size_t i = 0; i < N(prefixes); i++)
        cr_assert_eq(uvh_proxy_detect(prefixes[i], strlen(prefixes[i])), UVH_PROXY_NEED_MORE,
                     "\"%s\"", prefixes[i]);
}

static struct sockaddr_storage addr(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (uv_ip4_addr(ip, 1, (struct sockaddr_in *)&ss) != 0)
        cr_assert_eq(uv_ip6_addr(ip, 1, (struct sockaddr_in6 *)&ss), 0, "%s", ip);
    return ss;
}

Test(proxy_protocol, cidr_parse_and_match)
{
    static const struct {
        const char *cidr, *ip;
        bool match;
    } cases[] = {
        {"127.0.0.1/32", "127.0.0.1", true},
        {"127.0.0.1/32", "127.0.0.2", false},
        {"127.0.0.1", "127.0.0.1", true},
        {"10.0.0.0/8", "10.255.1.2", true},
        {"10.0.0.0/8", "11.0.0.1", false},
        {"10.1.2.3/8", "10.9.9.9", true}, /* host bits ignored */
        {"192.168.1.128/25", "192.168.1.200", true},
        {"192.168.1.128/25", "192.168.1.100", false},
        {"0.0.0.0/0", "203.0.113.9", true},
        {"0.0.0.0/0", "::1", false},
        {"127.0.0.0/8", "::ffff:127.0.0.5", true}, /* IPv4 on a dual-stack socket */
        {"::1/128", "::1", true},
        {"::1/128", "::2", false},
        {"::1", "127.0.0.1", false},
        {"2001:db8::/32", "2001:db8:ffff::1", true},
        {"2001:db8::/33", "2001:db8:8000::1", false},
        {"::/0", "fe80::1", true},
        {"::ffff:0:0/96", "1.2.3.4", true},
    };
    for (size_t i = 0; i < N(cases); i++) {
        struct uvh_cidr c;
        cr_assert_eq(uvh_proxy_parse_cidr(cases[i].cidr, &c), 0, "%s", cases[i].cidr);
        struct sockaddr_storage ss = addr(cases[i].ip);
        cr_assert_eq(uvh_proxy_cidr_match(&c, (struct sockaddr *)&ss), cases[i].match, "%s in %s",
                     cases[i].ip, cases[i].cidr);
    }
    static const char *const bad[] = {"",          "1.2.3",     "1.2.3.4/",   "1.2.3.4/33",
                                      "::1/129",   "1.2.3.4/x", "1.2.3.4/08", "10.0.0.0/8/8",
                                      "localhost", "1.2.3.4 ",  "/8",         "1.2.3.4/-1"};
    for (size_t i = 0; i < N(bad); i++) {
        struct uvh_cidr c;
        cr_assert_eq(uvh_proxy_parse_cidr(bad[i], &c), UV_EINVAL, "\"%s\" accepted", bad[i]);
    }
}

Test(proxy_protocol, trust_list)
{
    struct uvh_proxy_trust t = {0};
    struct sockaddr_storage a = addr("10.0.0.7"), b = addr("127.0.0.1");
    cr_assert(!uvh_proxy_trusted(&t, (struct sockaddr *)&a), "empty list trusts nobody");
    cr_assert(!uvh_proxy_trusted(&t, NULL), "pipes are not trusted by default");
    cr_assert_eq(uvh_proxy_parse_cidr("10.0.0.0/24", &t.cidrs[t.n++]), 0);
    cr_assert_eq(uvh_proxy_parse_cidr("::1/128", &t.cidrs[t.n++]), 0);
    cr_assert(uvh_proxy_trusted(&t, (struct sockaddr *)&a));
    cr_assert(!uvh_proxy_trusted(&t, (struct sockaddr *)&b));
    t.pipes = true;
    cr_assert(uvh_proxy_trusted(&t, NULL));
}
