/* host.c - owns Host syntax checking and matching against the names this server answers to.
 * Pure: the server builds the list at start-up, the connection asks per request. */
#include "host.h"

#include <string.h>

static bool reg_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

static bool ipv6_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
           c == '.';
}

int uvh_host_parse(struct uvh_slice a, struct uvh_slice *name, unsigned *port)
{
    size_t i = 0;

    if (a.len == 0 || a.len >= UVH_HOST_NAME_MAX)
        return -1;
    if (a.ptr[0] == '[') {
        size_t colons = 0;
        for (i = 1; i < a.len && a.ptr[i] != ']'; i++) {
            if (!ipv6_char(a.ptr[i]))
                return -1;
            colons += a.ptr[i] == ':';
        }
        if (i == a.len || colons < 2)
            return -1;
        i++; /* past ']' */
    } else {
        while (i < a.len && a.ptr[i] != ':') {
            if (!reg_name_char(a.ptr[i]))
                return -1;
            i++;
        }
        if (i == 0 || (a.ptr[0] == '.'))
            return -1;
    }
    *name = (struct uvh_slice){a.ptr, i};
    if (name->ptr[0] != '[' && name->len > 1 && name->ptr[name->len - 1] == '.')
        name->len--;
    *port = 0;
    if (i == a.len)
        return 0;
    if (a.ptr[i] != ':' || i + 1 == a.len || a.len - i - 1 > 5)
        return -1;
    unsigned p = 0;
    for (i++; i < a.len; i++) {
        if (a.ptr[i] < '0' || a.ptr[i] > '9')
            return -1;
        p = p * 10 + (unsigned)(a.ptr[i] - '0');
    }
    if (p == 0 || p > 65535)
        return -1;
    *port = p;
    return 0;
}

int uvh_host_add(struct uvh_host_list *list, const char *name, unsigned port, bool bare_ok)
{
    size_t n = strlen(name);
    if (n == 0 || n >= UVH_HOST_NAME_MAX)
        return -1;
    for (size_t i = 0; i < list->n; i++) /* the same rule twice (e.g. --host 127.0.0.1) */
        if (list->rules[i].port == port && list->rules[i].bare_ok == bare_ok &&
            uvh_slice_eq_nocase(uvh_slice_from(list->rules[i].name), (struct uvh_slice){name, n}))
            return 0;
    if (list->n == UVH_HOST_RULES_MAX)
        return -1;
    struct uvh_host_rule *r = &list->rules[list->n++];
    for (size_t i = 0; i <= n; i++)
        r->name[i] = uvh_lower(name[i]);
    r->port = port;
    r->bare_ok = bare_ok;
    return 0;
}

bool uvh_host_match(const struct uvh_host_list *list, struct uvh_slice name, unsigned port)
{
    for (size_t i = 0; i < list->n; i++) {
        const struct uvh_host_rule *r = &list->rules[i];
        if (!uvh_slice_eq_nocase(name, uvh_slice_from(r->name)))
            continue;
        if (port ? port == r->port : r->bare_ok)
            return true;
    }
    return false;
}
