/* host.h - Host header syntax (RFC 9112 section 3.2, RFC 3986 authority) and the allow-list. */
#ifndef UVH_HOST_H
#define UVH_HOST_H

#include <stdbool.h>
#include <stddef.h>

#include "slice.h"

#define UVH_HOST_NAME_MAX 256
#define UVH_HOST_RULES_MAX 16

/* One name this server answers to, stored lowercase; IPv6 literals keep their brackets. */
struct uvh_host_rule {
    char name[UVH_HOST_NAME_MAX];
    unsigned port; /* the port the authority must carry */
    bool bare_ok;  /* the name without any port is accepted too */
};

struct uvh_host_list {
    size_t n;
    struct uvh_host_rule rules[UVH_HOST_RULES_MAX];
};

/* Splits an authority into name and port after checking its syntax; port 0 means none was
 * given. A trailing dot of the name is dropped. Returns 0, or -1 for invalid syntax. */
int uvh_host_parse(struct uvh_slice authority, struct uvh_slice *name, unsigned *port);

/* Adds a rule; returns 0, or -1 if the list is full or the name too long. */
int uvh_host_add(struct uvh_host_list *list, const char *name, unsigned port, bool bare_ok);

/* True when name:port (port 0 = absent) matches a rule, case-insensitively. */
bool uvh_host_match(const struct uvh_host_list *list, struct uvh_slice name, unsigned port);

#endif
