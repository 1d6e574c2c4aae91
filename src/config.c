/* config.c - owns option parsing: one table row per option with its bounds. It does no I/O
 * beyond printing --help/--version, and never touches the file system or the network. */
#include "config.h"

#include "host.h"
#include "listen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <llhttp.h>
#include <uv.h>

const struct uvh_config uvh_config_defaults = {
    .port = 8080,
    .host = "127.0.0.1",
    .threads = 10,
    .root = "./resources",
    .keep_alive_timeout_s = 30,
    .max_requests = 100,
    .request_timeout_s = 10,
    .max_body = 10 * 1024 * 1024,
    .max_connections = 1024,
    .queue_size = 128,
    .retry_after_s = 1,
    .shutdown_timeout_s = 10,
    .file_cache = 32 * 1024 * 1024,
    .file_cache_validity_s = 1,
    .workers = 1,
    .sendfile = true,
    .defer_accept_s = 1,
    .log_level = UVH_LOG_INFO,
};

enum opt_kind {
    OPT_UINT,
    OPT_SWITCH,
    OPT_STR,
    OPT_LEVEL,
    OPT_MIME,
    OPT_HOST,
    OPT_CIDR,
    OPT_LOG_FORMAT,
    OPT_URL_PATH,
    OPT_WORKERS,
    OPT_ACCEPT,
    OPT_HELP,
    OPT_VERSION
};

struct option_row {
    const char *name;
    char short_name;
    enum opt_kind kind;
    size_t offset;
    unsigned min, max;
    const char *arg;
    const char *help;
};

#define F(field) offsetof(struct uvh_config, field)

static const struct option_row options[] = {
    {"port", 'p', OPT_UINT, F(port), 0, 65535, "PORT",
     "port to listen on, 0 = any free port (8080)"},
    {"host", 0, OPT_STR, F(host), 0, 0, "HOST", "address to bind (127.0.0.1)"},
    {"threads", 't', OPT_UINT, F(threads), 1, 1024, "N", "threadpool size for file I/O (10)"},
    {"root", 'r', OPT_STR, F(root), 0, 0, "DIR", "directory to serve (./resources)"},
    {"keep-alive-timeout", 0, OPT_UINT, F(keep_alive_timeout_s), 1, 3600, "SECONDS",
     "close idle keep-alive connections after this long (30)"},
    {"max-requests", 0, OPT_UINT, F(max_requests), 1, 1000000, "N",
     "requests served on one connection before it closes (100)"},
    {"request-timeout", 0, OPT_UINT, F(request_timeout_s), 1, 3600, "SECONDS",
     "deadline for a request's headers, and for each pause in a body or a write (10)"},
    {"max-body", 0, OPT_UINT, F(max_body), 0, 1024u * 1024 * 1024, "BYTES",
     "largest upload body accepted, in bytes (10485760)"},
    {"max-connections", 0, OPT_UINT, F(max_connections), 1, 1000000, "N",
     "connections served at once, idle keep-alive ones included (1024; capped by the fd limit)"},
    {"queue-size", 0, OPT_UINT, F(queue_size), 0, 1000000, "N",
     "connections waiting for a free slot; past that 503 (128)"},
    {"retry-after", 0, OPT_UINT, F(retry_after_s), 0, 86400, "SECONDS",
     "Retry-After of a 503 when the server is full (1)"},
    {"shutdown-timeout", 0, OPT_UINT, F(shutdown_timeout_s), 0, 3600, "SECONDS",
     "on SIGINT/SIGTERM, how long in-flight responses and uploads may take (10)"},
    {"file-cache", 0, OPT_UINT, F(file_cache), 0, 1024u * 1024 * 1024, "BYTES",
     "memory for cached small files and file lookups, 0 = off (33554432)"},
    {"file-cache-validity", 0, OPT_UINT, F(file_cache_validity_s), 0, 3600, "SECONDS",
     "how long a cached file or lookup is served before the disk is asked again (1)"},
    {"workers", 0, OPT_WORKERS, F(workers), 1, UVH_WORKERS_MAX, "N|auto",
     "event loops, one thread each; auto = one per CPU (1)"},
    {"accept", 0, OPT_ACCEPT, 0, 0, 0, "reuseport|handoff",
     "with several workers: a listener per loop (Linux, the default there) or one loop accepting "
     "for all (elsewhere)"},
    {"sendfile", 0, OPT_SWITCH, F(sendfile), 0, 0, "on|off",
     "send large files with sendfile(2) where the system has it (on)"},
    {"defer-accept", 0, OPT_UINT, F(defer_accept_s), 0, 600, "SECONDS",
     "Linux: hand a connection over when its first bytes arrive, or after this long, 0 = at "
     "once (1)"},
    {"log-level", 'l', OPT_LEVEL, F(log_level), 0, 0, "LEVEL", "error, warn, info or debug (info)"},
    {"mime", 'm', OPT_MIME, 0, 0, 0, ".EXT=TYPE",
     "add or override a MIME type (repeatable); application/octet-stream means a download"},
    {"allow-host", 'a', OPT_HOST, 0, 0, 0, "NAME[:PORT]",
     "also accept this Host (repeatable); NAME alone accepts NAME and NAME:PORT of the server"},
    {"proxy-protocol", 0, OPT_CIDR, 0, 0, 0, "CIDR",
     "require a PROXY protocol header (v1 or v2) from these peers, e.g. 10.0.0.0/8 (repeatable)"},
    {"access-log", 0, OPT_STR, F(access_log), 0, 0, "FILE",
     "append one line per request to FILE; SIGHUP reopens it"},
    {"access-log-format", 0, OPT_LOG_FORMAT, F(access_log_format), 0, 0, "FORMAT",
     "combined, common or json (combined)"},
    {"health-path", 0, OPT_URL_PATH, F(health_path), 0, 0, "PATH",
     "answer GET/HEAD PATH with 200 \"ok\", logged at debug only (load balancer checks)"},
    {"help", 'h', OPT_HELP, 0, 0, 0, NULL, "print this help and exit"},
    {"version", 'V', OPT_VERSION, 0, 0, 0, NULL, "print version information and exit"},
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

void uvh_config_usage(FILE *out)
{
    fprintf(out, "Usage: uvhttpd [PORT] [HOST] [MAX_THREADS] [OPTIONS]\n"
                 "Serve a directory over HTTP/1.1.\n\nOptions:\n");
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const struct option_row *o = &options[i];
        char left[64];
        snprintf(left, sizeof(left), "%s%c%s--%s%s%s", o->short_name ? "-" : " ",
                 o->short_name ? o->short_name : ' ', o->short_name ? ", " : "  ", o->name,
                 o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(out, "  %-34s %s\n", left, o->help);
    }
    fprintf(out, "\nPositional PORT, HOST and MAX_THREADS are the same as --port, --host and "
                 "--threads.\n");
}

static void print_version(FILE *out)
{
    fprintf(out, "uvhttpd %s\nlibuv %s, llhttp %d.%d.%d, jansson %s\n", UVH_VERSION,
            uv_version_string(), LLHTTP_VERSION_MAJOR, LLHTTP_VERSION_MINOR, LLHTTP_VERSION_PATCH,
            JANSSON_VERSION);
}

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* An extension is letters, digits, '-' and '_'. */
static bool valid_ext(const char *p, const char *end)
{
    for (; p < end; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return false;
    return true;
}

/* A media type goes into a header: type/subtype with printable ASCII only (no CR/LF). */
static bool valid_type(const char *t)
{
    const char *slash = strchr(t, '/');
    if (!slash || slash == t || slash[1] == '\0')
        return false;
    for (; *t; t++)
        if ((unsigned char)*t < 0x20 || (unsigned char)*t >= 0x7f)
            return false;
    return true;
}

/* A request path as it is compared with the target: '/' then printable ASCII, no query. */
static bool valid_url_path(const char *p)
{
    if (p[0] != '/')
        return false;
    for (; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '?' || *p == '#')
            return false;
    return true;
}

static int apply(struct uvh_config *cfg, const struct option_row *o, const char *value, char *err,
                 size_t errlen)
{
    char *base = (char *)cfg;

    switch (o->kind) {
    case OPT_UINT:
        if (parse_uint(value, o->min, o->max, (unsigned *)(base + o->offset)) != 0) {
            snprintf(err, errlen, "invalid %s '%s': expected a whole number from %u to %u", o->name,
                     value, o->min, o->max);
            return -1;
        }
        return 0;
    case OPT_SWITCH:
        if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0) {
            snprintf(err, errlen, "invalid %s '%s': expected on or off", o->name, value);
            return -1;
        }
        *(bool *)(base + o->offset) = strcmp(value, "on") == 0;
        return 0;
    case OPT_STR:
        if (*value == '\0') {
            snprintf(err, errlen, "invalid %s: empty", o->name);
            return -1;
        }
        *(const char **)(base + o->offset) = value;
        return 0;
    case OPT_WORKERS:
        if (strcmp(value, "auto") == 0) {
            unsigned n = uv_available_parallelism();
            cfg->workers = n < 1 ? 1 : n > o->max ? o->max : n;
            cfg->workers_auto = true;
            return 0;
        }
        if (parse_uint(value, o->min, o->max, &cfg->workers) != 0) {
            snprintf(err, errlen,
                     "invalid workers '%s': expected auto or a whole number from %u to %u", value,
                     o->min, o->max);
            return -1;
        }
        cfg->workers_auto = false;
        return 0;
    case OPT_ACCEPT:
        if (strcmp(value, "handoff") == 0 ||
            (strcmp(value, "reuseport") == 0 && uvh_listen_balances())) {
            cfg->handoff = strcmp(value, "handoff") == 0;
            return 0;
        }
        snprintf(err, errlen, "invalid accept '%s': expected %s", value,
                 uvh_listen_balances() ? "reuseport or handoff"
                                       : "handoff (reuseport balances on Linux only)");
        return -1;
    case OPT_LEVEL:
        if (uvh_log_parse_level(value, (enum uvh_log_level *)(base + o->offset)) != 0) {
            snprintf(err, errlen, "invalid log-level '%s': expected error, warn, info or debug",
                     value);
            return -1;
        }
        return 0;
    case OPT_MIME: {
        const char *eq = strchr(value, '=');
        size_t ext_len = eq ? (size_t)(eq - value) : 0;
        if (!eq || value[0] != '.' || ext_len < 2 || ext_len > 16 || !valid_ext(value + 1, eq) ||
            !valid_type(eq + 1)) {
            snprintf(err, errlen, "invalid mime '%s': expected .EXT=TYPE", value);
            return -1;
        }
        if (cfg->n_mime == UVH_MIME_OVERRIDES_MAX) {
            snprintf(err, errlen, "too many --mime options (at most %d)", UVH_MIME_OVERRIDES_MAX);
            return -1;
        }
        /* argv is writable and outlives the server: split it in place. */
        ((char *)eq)[0] = '\0';
        cfg->mime[cfg->n_mime].ext = value + 1;
        cfg->mime[cfg->n_mime].type = eq + 1;
        cfg->n_mime++;
        return 0;
    }
    case OPT_HOST: {
        struct uvh_slice name;
        unsigned port;
        if (uvh_host_parse(uvh_slice_from(value), &name, &port) != 0) {
            snprintf(err, errlen, "invalid allow-host '%s': expected NAME or NAME:PORT", value);
            return -1;
        }
        if (cfg->n_allow_hosts == UVH_ALLOW_HOSTS_MAX) {
            snprintf(err, errlen, "too many --allow-host options (at most %d)",
                     UVH_ALLOW_HOSTS_MAX);
            return -1;
        }
        cfg->allow_hosts[cfg->n_allow_hosts++] = value;
        return 0;
    }
    case OPT_CIDR: {
        struct uvh_cidr cidr;
        if (uvh_proxy_parse_cidr(value, &cidr) != 0) {
            snprintf(err, errlen,
                     "invalid proxy-protocol '%s': expected an IPv4 or IPv6 address or CIDR block",
                     value);
            return -1;
        }
        if (cfg->n_proxy_from == UVH_PROXY_FROM_MAX) {
            snprintf(err, errlen, "too many --proxy-protocol options (at most %d)",
                     UVH_PROXY_FROM_MAX);
            return -1;
        }
        cfg->proxy_from[cfg->n_proxy_from++] = value;
        return 0;
    }
    case OPT_LOG_FORMAT:
        if (uvh_access_log_parse_format(value, (enum uvh_access_format *)(base + o->offset)) != 0) {
            snprintf(err, errlen,
                     "invalid access-log-format '%s': expected combined, common or json", value);
            return -1;
        }
        return 0;
    case OPT_URL_PATH:
        if (!valid_url_path(value)) {
            snprintf(err, errlen, "invalid %s '%s': expected a path such as /healthz", o->name,
                     value);
            return -1;
        }
        *(const char **)(base + o->offset) = value;
        return 0;
    case OPT_HELP:
    case OPT_VERSION:
        break;
    }
    return 0;
}

static const struct option_row *find_long(const char *name, size_t len)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (strlen(options[i].name) == len && strncmp(options[i].name, name, len) == 0)
            return &options[i];
    return NULL;
}

static const struct option_row *find_short(char c)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (options[i].short_name == c)
            return &options[i];
    return NULL;
}

enum uvh_config_result uvh_config_parse(struct uvh_config *cfg, int argc, char **argv, FILE *out,
                                        char *err, size_t errlen)
{
    static const char *const positional[] = {"port", "host", "threads"};
    size_t n_positional = 0;
    bool only_positional = false;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const struct option_row *o = NULL;
        const char *value = NULL;

        if (only_positional || arg[0] != '-' || arg[1] == '\0') {
            if (n_positional == 3) {
                snprintf(err, errlen, "unexpected argument '%s'", arg);
                return UVH_CONFIG_BAD;
            }
            o = find_long(positional[n_positional], strlen(positional[n_positional]));
            n_positional++;
            if (apply(cfg, o, arg, err, errlen) != 0)
                return UVH_CONFIG_BAD;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_positional = true;
            continue;
        }
        if (arg[1] == '-') {
            const char *eq = strchr(arg + 2, '=');
            o = find_long(arg + 2, eq ? (size_t)(eq - arg - 2) : strlen(arg + 2));
            value = eq ? eq + 1 : NULL;
        } else if (arg[2] == '\0') {
            o = find_short(arg[1]);
        }
        if (!o) {
            snprintf(err, errlen, "unknown option '%s'", arg);
            return UVH_CONFIG_BAD;
        }
        if (o->kind == OPT_HELP || o->kind == OPT_VERSION) {
            if (value) {
                snprintf(err, errlen, "option '--%s' takes no value", o->name);
                return UVH_CONFIG_BAD;
            }
            if (o->kind == OPT_HELP)
                uvh_config_usage(out);
            else
                print_version(out);
            return UVH_CONFIG_EXIT;
        }
        if (!value) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "option '--%s' needs a value (%s)", o->name, o->arg);
                return UVH_CONFIG_BAD;
            }
            value = argv[++i];
        }
        if (apply(cfg, o, value, err, errlen) != 0)
            return UVH_CONFIG_BAD;
    }
    return UVH_CONFIG_RUN;
}
