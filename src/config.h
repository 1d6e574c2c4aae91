/* config.h - struct uvh_config: defaults, CLI parsing and bounds; read-only once the server runs.
 */
#ifndef UVH_CONFIG_H
#define UVH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "access_log.h"
#include "log.h"
#include "proxy_protocol.h"

#define UVH_MIME_OVERRIDES_MAX 64
#define UVH_ALLOW_HOSTS_MAX 8
#define UVH_PROXY_FROM_MAX UVH_PROXY_TRUST_MAX
#define UVH_WORKERS_MAX 256

/* One --mime .EXT=TYPE; both strings point into argv, which lives as long as the process. */
struct uvh_mime_override {
    const char *ext; /* without the dot, e.g. "css" */
    const char *type;
};

struct uvh_config {
    unsigned port; /* 0: the OS picks one */
    const char *host;
    unsigned threads; /* libuv threadpool size */
    const char *root;
    unsigned keep_alive_timeout_s;
    unsigned max_requests;          /* per connection */
    unsigned request_timeout_s;     /* headers deadline; also each pause in a body or a write */
    unsigned max_body;              /* bytes of an upload body; larger -> 413 */
    unsigned max_connections;       /* open client connections served at once (idle ones count) */
    unsigned queue_size;            /* connections waiting for a slot; more -> 503 */
    unsigned retry_after_s;         /* Retry-After of a 503 */
    unsigned shutdown_timeout_s;    /* how long a stop waits for in-flight responses */
    unsigned file_cache;            /* bytes the file cache may hold; 0 turns it off */
    unsigned file_cache_validity_s; /* how long a cached answer about a file is trusted */
    unsigned workers;               /* event loops, one thread each (--workers N or auto) */
    bool workers_auto;              /* --workers auto: as many as libuv reports CPUs */
    bool handoff;  /* --accept handoff: one loop accepts for every loop even where the kernel
                      could balance them (elsewhere than Linux it always does) */
    bool sendfile; /* large files go out with sendfile(2) where there is one */
    unsigned defer_accept_s; /* Linux TCP_DEFER_ACCEPT on the listeners; 0 = off */
    enum uvh_log_level log_level;
    size_t n_allow_hosts;
    const char *allow_hosts[UVH_ALLOW_HOSTS_MAX]; /* --allow-host NAME[:PORT], from argv */
    size_t n_mime;
    struct uvh_mime_override mime[UVH_MIME_OVERRIDES_MAX];
    size_t n_proxy_from;
    const char *proxy_from[UVH_PROXY_FROM_MAX]; /* --proxy-protocol CIDR, from argv (validated) */
    const char *access_log;                     /* --access-log FILE, or NULL */
    enum uvh_access_format access_log_format;
    const char *health_path; /* --health-path PATH: 200 "ok", logged at debug; or NULL */
};

/* The defaults: 8080 127.0.0.1 10, root ./resources. */
extern const struct uvh_config uvh_config_defaults;

enum uvh_config_result {
    UVH_CONFIG_RUN,  /* start the server */
    UVH_CONFIG_EXIT, /* --help or --version was printed: exit 0 */
    UVH_CONFIG_BAD,  /* err holds a one-line reason: print it with the usage, exit 2 */
};

/* Applies argv (positional PORT HOST MAX_THREADS and long options) on top of *cfg. */
enum uvh_config_result uvh_config_parse(struct uvh_config *cfg, int argc, char **argv, FILE *out,
                                        char *err, size_t errlen);

/* Prints the usage text. */
void uvh_config_usage(FILE *out);

#endif
