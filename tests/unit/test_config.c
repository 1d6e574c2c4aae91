/* test_config.c - uvh_config_parse and uvh_config_usage: defaults, positional arguments, long
 * and short options, --help/--version, and every rejected argument. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <llhttp.h>
#include <uv.h>

#include "config.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_ARGS 40

/* Writable copies of the arguments: --mime splits its value in place. */
struct args {
    int argc;
    char *argv[MAX_ARGS + 1];
    char storage[MAX_ARGS][128];
};

static void make_args(struct args *a, const char *const *list)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->storage[0], sizeof(a->storage[0]), "uvhttpd");
    a->argv[a->argc++] = a->storage[0];
    for (; *list; list++) {
        cr_assert_lt(a->argc, MAX_ARGS);
        cr_assert_lt(strlen(*list), sizeof(a->storage[0]));
        snprintf(a->storage[a->argc], sizeof(a->storage[0]), "%s", *list);
        a->argv[a->argc] = a->storage[a->argc];
        a->argc++;
    }
}

/* Joins the arguments for failure messages. */
static const char *show(const char *const *list)
{
    static char buf[512];
    size_t n = 0;
    buf[0] = '\0';
    for (; *list && n < sizeof(buf); list++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s'%s'", n ? " " : "", *list);
    return buf;
}

/* Parses on top of the defaults; out collects anything printed. */
static enum uvh_config_result parse(struct args *a, const char *const *list, struct uvh_config *cfg,
                                    FILE *out, char *err, size_t errlen)
{
    make_args(a, list);
    *cfg = uvh_config_defaults;
    err[0] = '\0';
    return uvh_config_parse(cfg, a->argc, a->argv, out, err, errlen);
}

/* Reads back everything written to a tmpfile. */
static void slurp(FILE *f, char *buf, size_t cap)
{
    fflush(f);
    rewind(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
}

/* The settings the long options set, in their order. */
struct settings {
    unsigned port;
    const char *host;
    unsigned threads;
    const char *root;
    unsigned keep_alive_timeout_s, max_requests, request_timeout_s;
    enum uvh_log_level log_level;
};

/* Expects cfg to hold the settings want. */
static void expect_settings(const struct uvh_config *got, const struct settings *want,
                            const char *what)
{
#define SAME_NUM(f)                                                                                \
    cr_assert_eq(got->f, want->f, "%s: " #f " is %u, expected %u", what, (unsigned)got->f,         \
                 (unsigned)want->f)
#define SAME_STR(f)                                                                                \
    cr_assert_str_eq(got->f, want->f, "%s: " #f " is \"%s\", expected \"%s\"", what, got->f,       \
                     want->f)
    SAME_NUM(port);
    SAME_STR(host);
    SAME_NUM(threads);
    SAME_STR(root);
    SAME_NUM(keep_alive_timeout_s);
    SAME_NUM(max_requests);
    SAME_NUM(request_timeout_s);
    SAME_NUM(log_level);
#undef SAME_NUM
#undef SAME_STR
}

/* Parses list with out going to a tmpfile; text gets what was printed. */
static enum uvh_config_result parse_printed(const char *const *list, char *text, size_t cap)
{
    struct args a;
    struct uvh_config cfg;
    char err[256];
    FILE *out = tmpfile();
    cr_assert_not_null(out);
    enum uvh_config_result r = parse(&a, list, &cfg, out, err, sizeof(err));
    slurp(out, text, cap);
    fclose(out);
    return r;
}

Test(config, defaults)
{
    const struct uvh_config *d = &uvh_config_defaults;
    cr_assert_eq(d->port, 8080u);
    cr_assert_str_eq(d->host, "127.0.0.1");
    cr_assert_eq(d->threads, 10u);
    cr_assert_str_eq(d->root, "./resources");
    cr_assert_eq(d->keep_alive_timeout_s, 30u);
    cr_assert_eq(d->max_requests, 100u);
    cr_assert_eq(d->request_timeout_s, 10u);
    cr_assert_eq(d->log_level, UVH_LOG_INFO);
    cr_assert_eq(d->n_mime, 0u);
}

Test(config, no_arguments_keeps_defaults)
{
    struct args a;
    struct uvh_config cfg;
    char err[256];
    static const char *const none[] = {NULL};
    cr_assert_eq(parse(&a, none, &cfg, stdout, err, sizeof(err)), UVH_CONFIG_RUN, "err: %s", err);
    expect_settings(
        &cfg, &(struct settings){8080, "127.0.0.1", 10, "./resources", 30, 100, 10, UVH_LOG_INFO},
        "no arguments");
}

Test(config, positional)
{
    struct args a;
    struct uvh_config cfg;
    char err[256];

    static const char *const all[] = {"9000", "0.0.0.0", "4", NULL};
    cr_assert_eq(parse(&a, all, &cfg, stdout, err, sizeof(err)), UVH_CONFIG_RUN, "%s: %s",
                 show(all), err);
    cr_assert_eq(cfg.port, 9000u);
    cr_assert_str_eq(cfg.host, "0.0.0.0");
    cr_assert_eq(cfg.threads, 4u);

    static const char *const port_only[] = {"9001", NULL};
    cr_assert_eq(parse(&a, port_only, &cfg, stdout, err, sizeof(err)), UVH_CONFIG_RUN, "%s", err);
    cr_assert_eq(cfg.port, 9001u);
    cr_assert_str_eq(cfg.host, "127.0.0.1");
    cr_assert_eq(cfg.threads, 10u);

    static const char *const port_zero[] = {"0", NULL}; /* 0: the OS picks a port */
    cr_assert_eq(parse(&a, port_zero, &cfg, stdout, err, sizeof(err)), UVH_CONFIG_RUN, "%s", err);
    cr_assert_eq(cfg.port, 0u);

    /* Positional arguments mixed with options, and after "--". */
    static const char *const mixed[] = {"--root", "/srv", "9002", "--", "::1", NULL};
    cr_assert_eq(parse(&a, mixed, &cfg, stdout, err, sizeof(err)), UVH_CONFIG_RUN, "%s", err);
    cr_assert_eq(cfg.port, 9002u);
    cr_assert_str_eq(cfg.host, "::1");
    cr_assert_str_eq(cfg.root, "/srv");
}

Test(config, long_options)
{
    /* Every option as "--name value" and as "--name=value". */
    static const struct {
        const char *args[17];
        struct settings want;
    } cases[] = {
        {{"--port", "9100", "--host", "0.0.0.0", "--threads", "1024", "--root", "/var/www",
          "--keep-alive-timeout", "5", "--max-requests", "3", "--request-timeout", "2",
          "--log-level", "debug", NULL},
         {9100, "0.0.0.0", 1024, "/var/www", 5, 3, 2, UVH_LOG_DEBUG}},
        {{"--port=9200", "--host=::", "--threads=1", "--root=/tmp", "--keep-alive-timeout=3600",
          "--max-requests=1000000", "--request-timeout=1", "--log-level=error", NULL},
         {9200, "::", 1, "/tmp", 3600, 1000000, 1, UVH_LOG_ERROR}},
    };
    for (size_t i = 0; i < N(cases); i++) {
        struct args a;
        struct uvh_config cfg;
        char err[256];
        cr_assert_eq(parse(&a, cases[i].args, &cfg, stdout, err, sizeof(err)), UVH_CONFIG_RUN,
                     "%s: %s", show(cases[i].args), err);
        expect_settings(&cfg, &cases[i].want, show(cases[i].args));
    }
}

Test(config, short_options)
{
    struct args a;
    struct uvh_config cfg;
    char err[256];
    static const char *const list[] = {
        "-p", "0", "-t", "7", "-r", "/data", "-l", "warn", "-m", ".css=text/css", NULL};
    cr_assert_eq(parse(&a, list, &cfg, stdout, err, sizeof(err)), UVH_CONFIG_RUN, "%s: %s",
                 show(list), err);
    cr_assert_eq(cfg.port, 0u);
    cr_assert_eq(cfg.threads, 7u);
    cr_assert_str_eq(cfg.root, "/data");
    cr_assert_eq(cfg.log_level, UVH_LOG_WARN);
    cr_assert_eq(cfg.n_mime, 1u);
}

Test(config, later_option_wins)
{
    struct args a;
    struct uvh_config cfg;
    char err[256];
    static const char *const list[] = {"9000", "--port", "9001", "--port=9002", NULL};
    cr_assert_eq(parse(&a, list, &cfg, stdout, err, sizeof(err)), UVH_CONFIG_RUN, "%s", err);
    cr_assert_eq(cfg.port, 9002u);
}

Test(config, log_levels)
{
    static const struct {
        const char *name;
        enum uvh_log_level level;
    } cases[] = {{"error", UVH_LOG_ERROR},
                 {"warn", UVH_LOG_WARN},
                 {"info", UVH_LOG_INFO},
                 {"debug", UVH_LOG_DEBUG}};
    for (size_t i = 0; i < N(cases); i++) {
        struct args a;
        struct uvh_config cfg;
        char err[256];
        const char *list[] = {"--log-level", cases[i].name, NULL};
        cr_assert_eq(parse(&a, list, &cfg, stdout, err, sizeof(err)), UVH_CONFIG_RUN,
                     "--log-level %s: %s", cases[i].name, err);
        cr_assert_eq(cfg.log_level, cases[i].level, "--log-level %s gave %d", cases[i].name,
                     cfg.log_level);
    }
}

Test(config, mime_overrides)
{
    struct args a;
    struct uvh_config cfg;
    char err[256];
    static const char *const list[] = {"--mime",
                                       ".css=text/css",
                                       "--mime=.PNG=image/png",
                                       "-m",
                                       ".bin=application/octet-stream",
                                       "--mime",
                                       ".svg=image/svg+xml; charset=utf-8",
                                       NULL};
    cr_assert_eq(parse(&a, list, &cfg, stdout, err, sizeof(err)), UVH_CONFIG_RUN, "%s: %s",
                 show(list), err);
    static const struct uvh_mime_override want[] = {
        {"css", "text/css"},
        {"PNG", "image/png"},
        {"bin", "application/octet-stream"},
        {"svg", "image/svg+xml; charset=utf-8"},
    };
    cr_assert_eq(cfg.n_mime, N(want), "expected %zu overrides, got %zu", N(want), cfg.n_mime);
    for (size_t i = 0; i < N(want); i++) {
        cr_assert_str_eq(cfg.mime[i].ext, want[i].ext, "override %zu: ext \"%s\"", i,
                         cfg.mime[i].ext);
        cr_assert_str_eq(cfg.mime[i].type, want[i].type, "override %zu: type \"%s\"", i,
                         cfg.mime[i].type);
    }
}

Test(config, mime_override_limit)
{
    /* Built by hand: more arguments than make_args holds. */
    static char storage[2 * UVH_MIME_OVERRIDES_MAX + 3][32];
    char *argv[2 * UVH_MIME_OVERRIDES_MAX + 4];
    int argc = 0;
    argv[argc++] = strcpy(storage[0], "uvhttpd");
    for (int i = 0; i <= UVH_MIME_OVERRIDES_MAX; i++) {
        argv[argc] = strcpy(storage[argc], "--mime");
        argc++;
        snprintf(storage[argc], sizeof(storage[argc]), ".e%d=text/x-%d", i, i);
        argv[argc] = storage[argc];
        argc++;
    }
    argv[argc] = NULL;

    struct uvh_config cfg = uvh_config_defaults;
    char err[256] = "";
    /* All but the last --mime fit. */
    cr_assert_eq(uvh_config_parse(&cfg, argc - 2, argv, stdout, err, sizeof(err)), UVH_CONFIG_RUN,
                 "%d overrides: %s", UVH_MIME_OVERRIDES_MAX, err);
    cr_assert_eq(cfg.n_mime, (size_t)UVH_MIME_OVERRIDES_MAX);

    /* Parse again from fresh copies: the first parse split the arguments in place. */
    argc = 1;
    for (int i = 0; i <= UVH_MIME_OVERRIDES_MAX; i++) {
        argc++;
        snprintf(storage[argc], sizeof(storage[argc]), ".e%d=text/x-%d", i, i);
        argc++;
    }
    cfg = uvh_config_defaults;
    cr_assert_eq(uvh_config_parse(&cfg, argc, argv, stdout, err, sizeof(err)), UVH_CONFIG_BAD,
                 "%d overrides were accepted", UVH_MIME_OVERRIDES_MAX + 1);
    cr_assert_neq(err[0], '\0', "no message for too many --mime options");
}

Test(config, ops_options)
{
    struct args a;
    struct uvh_config cfg;
    char err[256];
    static const char *const list[] = {"--proxy-protocol",
                                       "127.0.0.1/32",
                                       "--proxy-protocol=::1",
                                       "--proxy-protocol",
                                       "10.0.0.0/8",
                                       "--access-log",
                                       "/var/log/x.log",
                                       "--access-log-format=json",
                                       "--health-path",
                                       "/healthz",
                                       NULL};
    cr_assert_eq(parse(&a, list, &cfg, stdout, err, sizeof(err)), UVH_CONFIG_RUN, "%s: %s",
                 show(list), err);
    cr_assert_eq(cfg.n_proxy_from, 3u);
    cr_assert_str_eq(cfg.proxy_from[0], "127.0.0.1/32");
    cr_assert_str_eq(cfg.proxy_from[1], "::1");
    cr_assert_str_eq(cfg.proxy_from[2], "10.0.0.0/8");
    cr_assert_str_eq(cfg.access_log, "/var/log/x.log");
    cr_assert_eq(cfg.access_log_format, UVH_ACCESS_JSON);
    cr_assert_str_eq(cfg.health_path, "/healthz");
    /* The defaults: no PROXY peers, no access log file, combined, no health path. */
    cr_assert_eq(uvh_config_defaults.n_proxy_from, 0u);
    cr_assert_null(uvh_config_defaults.access_log);
    cr_assert_eq(uvh_config_defaults.access_log_format, UVH_ACCESS_COMBINED);
    cr_assert_null(uvh_config_defaults.health_path);

    /* At most UVH_PROXY_FROM_MAX blocks. */
    const char *many[2 * UVH_PROXY_FROM_MAX + 3] = {0};
    for (int i = 0; i <= UVH_PROXY_FROM_MAX; i++) {
        many[2 * i] = "--proxy-protocol";
        many[2 * i + 1] = "10.0.0.1";
    }
    cr_assert_eq(parse(&a, many, &cfg, stdout, err, sizeof(err)), UVH_CONFIG_BAD);
    cr_assert_not_null(strstr(err, "too many --proxy-protocol"), "%s", err);
    many[2 * UVH_PROXY_FROM_MAX] = NULL;
    cr_assert_eq(parse(&a, many, &cfg, stdout, err, sizeof(err)), UVH_CONFIG_RUN, "%s", err);
}

Test(config, help)
{
    static const char *const forms[][2] = {{"-h", NULL}, {"--help", NULL}};
    for (size_t i = 0; i < N(forms); i++) {
        char text[8192];
        enum uvh_config_result r = parse_printed(forms[i], text, sizeof(text));
        cr_assert_eq(r, UVH_CONFIG_EXIT, "%s: expected EXIT, got %d", forms[i][0], r);
        cr_assert(strncmp(text, "Usage: uvhttpd", 14) == 0, "%s printed:\n%s", forms[i][0], text);
        static const char *const mentions[] = {
            "--port",
            "--host",
            "--threads",
            "--root",
            "--keep-alive-timeout",
            "--max-requests",
            "--request-timeout",
            "--log-level",
            "--mime",
            "--proxy-protocol",
            "--access-log",
            "--access-log-format",
            "--health-path",
            "--help",
            "--version",
        };
        for (size_t k = 0; k < N(mentions); k++)
            cr_assert_not_null(strstr(text, mentions[k]), "%s: usage does not mention %s",
                               forms[i][0], mentions[k]);
    }
}

Test(config, help_stops_parsing)
{
    /* --help wins even when a later argument is invalid. */
    char text[8192];
    static const char *const list[] = {"--help", "--nope", NULL};
    cr_assert_eq(parse_printed(list, text, sizeof(text)), UVH_CONFIG_EXIT);
}

Test(config, usage_matches_help)
{
    char a[8192], b[8192];
    FILE *f = tmpfile();
    cr_assert_not_null(f);
    uvh_config_usage(f);
    slurp(f, a, sizeof(a));
    fclose(f);

    static const char *const list[] = {"--help", NULL};
    cr_assert_eq(parse_printed(list, b, sizeof(b)), UVH_CONFIG_EXIT);
    cr_assert_str_eq(a, b, "uvh_config_usage and --help differ");
}

Test(config, version)
{
    static const char *const forms[][2] = {{"-V", NULL}, {"--version", NULL}};
    for (size_t i = 0; i < N(forms); i++) {
        char text[1024];
        enum uvh_config_result r = parse_printed(forms[i], text, sizeof(text));
        cr_assert_eq(r, UVH_CONFIG_EXIT, "%s: expected EXIT, got %d", forms[i][0], r);
        cr_assert(strncmp(text, "uvhttpd 0.1.0\n", 14) == 0, "%s printed:\n%s", forms[i][0], text);
        char want[3][64];
        snprintf(want[0], sizeof(want[0]), "libuv %s", uv_version_string());
        snprintf(want[1], sizeof(want[1]), "llhttp %d.%d.%d", LLHTTP_VERSION_MAJOR,
                 LLHTTP_VERSION_MINOR, LLHTTP_VERSION_PATCH);
        snprintf(want[2], sizeof(want[2]), "jansson %s", JANSSON_VERSION);
        for (size_t k = 0; k < N(want); k++)
            cr_assert_not_null(strstr(text, want[k]), "%s: no \"%s\" in:\n%s", forms[i][0], want[k],
                               text);
    }
}

Test(config, sendfile_switch)
{
    static const struct {
        const char *args[3];
        bool want;
    } cases[] = {
        {{NULL}, true}, /* on by default */
        {{"--sendfile", "off", NULL}, false},
        {{"--sendfile=off", NULL}, false},
        {{"--sendfile", "on", NULL}, true},
    };
    for (size_t i = 0; i < N(cases); i++) {
        struct args a;
        struct uvh_config cfg;
        char err[256];
        cr_assert_eq(parse(&a, cases[i].args, &cfg, stdout, err, sizeof(err)), UVH_CONFIG_RUN,
                     "%s: %s", show(cases[i].args), err);
        cr_assert_eq(cfg.sendfile, cases[i].want, "%s: sendfile is %d", show(cases[i].args),
                     cfg.sendfile);
    }
}

Test(config, defer_accept_seconds)
{
    static const struct {
        const char *args[3];
        unsigned want;
    } cases[] = {
        {{NULL}, 1}, /* on by default, like h2o */
        {{"--defer-accept", "0", NULL}, 0},
        {{"--defer-accept=30", NULL}, 30},
        {{"--defer-accept", "600", NULL}, 600},
    };
    for (size_t i = 0; i < N(cases); i++) {
        struct args a;
        struct uvh_config cfg;
        char err[256];
        cr_assert_eq(parse(&a, cases[i].args, &cfg, stdout, err, sizeof(err)), UVH_CONFIG_RUN,
                     "%s: %s", show(cases[i].args), err);
        cr_assert_eq(cfg.defer_accept_s, cases[i].want, "%s: %u", show(cases[i].args),
                     cfg.defer_accept_s);
    }
}

Test(config, rejected)
{
    static const char *const cases[][4] = {
        {"abc", NULL},
        {"99999", NULL},
        {"65536", NULL},
        {"-1", NULL},
        {"80x", NULL},
        {"", NULL},
        {"--port", "abc", NULL},
        {"--port", "-1", NULL},
        {"--port=65536", NULL},
        {"--port=", NULL},
        {"--port", " 80", NULL},
        {"--port", "+80", NULL},
        {"--port", "99999999999999999999", NULL},
        {"9000", "0.0.0.0", "0", NULL},
        {"9000", "0.0.0.0", "1025", NULL},
        {"--threads", "0", NULL},
        {"--threads=1025", NULL},
        {"--keep-alive-timeout", "0", NULL},
        {"--keep-alive-timeout", "3601", NULL},
        {"--max-requests", "0", NULL},
        {"--request-timeout", "0", NULL},
        {"--nope", NULL},
        {"--nope=1", NULL},
        {"-x", NULL},
        {"-pp", NULL},
        {"--Port", "80", NULL},
        {"--root", NULL},
        {"--port", NULL},
        {"--mime", NULL},
        {"--root=", NULL},
        {"--host", "", NULL},
        {"--workers", "0", NULL},
        {"--workers", "many", NULL},
        {"--workers", "Auto", NULL},
        {"--workers", "2x", NULL},
        {"--workers", "257", NULL},
        {"--workers=", NULL},
        {"--accept", "kernel", NULL},
        {"--accept", "", NULL},
        {"--log-level", "verbose", NULL},
        {"--log-level", "INFO", NULL},
        {"--log-level=", NULL},
        {"--mime", "css=text/css", NULL},
        {"--mime", ".css", NULL},
        {"--mime", ".=x", NULL},
        {"--mime", ".css=", NULL},
        {"--mime", "=text/css", NULL},
        {"--mime", ".a/b=text/css", NULL},
        {"--mime", ".a\\b=text/css", NULL},
        {"--mime", ".tar.gz=application/gzip", NULL},
        {"--mime", ".abcdefghijklmnopq=text/x", NULL}, /* extension longer than 15 */
        {"--sendfile", "yes", NULL},
        {"--defer-accept", "601", NULL},
        {"--defer-accept", "-1", NULL},
        {"--sendfile", "ON", NULL},
        {"--sendfile=", NULL},
        {"--sendfile", NULL},
        {"--help=yes", NULL},
        {"--version=1", NULL},
        {"9000", "0.0.0.0", "4", "extra"}, /* a fourth positional */
        {"--proxy-protocol", "localhost", NULL},
        {"--proxy-protocol", "10.0.0.0/33", NULL},
        {"--proxy-protocol", "::1/129", NULL},
        {"--proxy-protocol", "10.0.0.0/", NULL},
        {"--proxy-protocol", NULL},
        {"--access-log", "", NULL},
        {"--access-log-format", "clf", NULL},
        {"--access-log-format", "Combined", NULL},
        {"--health-path", "healthz", NULL},
        {"--health-path", "/a b", NULL},
        {"--health-path", "/h?x=1", NULL},
        {"--health-path", "", NULL},
    };
    for (size_t i = 0; i < N(cases); i++) {
        const char *list[5] = {0};
        for (size_t k = 0; k < 4 && cases[i][k]; k++)
            list[k] = cases[i][k];
        struct args a;
        struct uvh_config cfg;
        char err[256];
        enum uvh_config_result r = parse(&a, list, &cfg, stdout, err, sizeof(err));
        cr_assert_eq(r, UVH_CONFIG_BAD, "%s: expected BAD, got %d", show(list), r);
        cr_assert_neq(err[0], '\0', "%s: no message in err", show(list));
        cr_assert_null(strchr(err, '\n'), "%s: message is not one line: %s", show(list), err);
    }
}

Test(config, error_messages_name_the_problem)
{
    static const struct {
        const char *args[3];
        const char *needle;
    } cases[] = {
        {{"--nope", NULL}, "--nope"},
        {{"--root", NULL}, "root"},
        {{"--port", "abc", NULL}, "abc"},
        {{"--log-level", "loud", NULL}, "loud"},
        {{"--workers", "0", NULL}, "invalid workers '0': expected auto or a whole number from 1"},
        {{"--mime", "css=text/css", NULL}, "css=text/css"},
        {{"--sendfile", "1", NULL}, "on or off"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        struct args a;
        struct uvh_config cfg;
        char err[256];
        cr_assert_eq(parse(&a, cases[i].args, &cfg, stdout, err, sizeof(err)), UVH_CONFIG_BAD);
        cr_assert_not_null(strstr(err, cases[i].needle), "%s: message \"%s\" lacks \"%s\"",
                           show(cases[i].args), err, cases[i].needle);
    }
}

Test(config, small_error_buffer)
{
    /* The message is truncated, never overflowed. */
    for (size_t cap = 1; cap <= 16; cap++) {
        struct args a;
        struct uvh_config cfg;
        char err[32];
        memset(err, 'Z', sizeof(err));
        static const char *const list[] = {"--port", "definitely-not-a-number", NULL};
        make_args(&a, list);
        cfg = uvh_config_defaults;
        cr_assert_eq(uvh_config_parse(&cfg, a.argc, a.argv, stdout, err, cap), UVH_CONFIG_BAD);
        cr_assert_not_null(memchr(err, '\0', cap), "cap %zu: not NUL-terminated", cap);
        for (size_t k = cap; k < sizeof(err); k++)
            cr_assert_eq(err[k], 'Z', "cap %zu: wrote past the buffer at %zu", cap, k);
    }
}

/* Issue 13: --workers N or auto (as many as libuv reports CPUs); 1 by default. */
Test(config, workers)
{
    struct args a;
    struct uvh_config cfg;
    char err[256];

    cr_assert_eq(parse(&a, (const char *const[]){NULL}, &cfg, stdout, err, sizeof(err)),
                 UVH_CONFIG_RUN);
    cr_expect_eq(cfg.workers, 1);
    cr_expect_not(cfg.workers_auto);
    cr_assert_eq(
        parse(&a, (const char *const[]){"--workers", "4", NULL}, &cfg, stdout, err, sizeof(err)),
        UVH_CONFIG_RUN);
    cr_expect_eq(cfg.workers, 4);
    cr_expect_not(cfg.workers_auto);
    cr_assert_eq(
        parse(&a, (const char *const[]){"--workers=auto", NULL}, &cfg, stdout, err, sizeof(err)),
        UVH_CONFIG_RUN);
    unsigned cpus = uv_available_parallelism();
    cr_expect_eq(cfg.workers, cpus > UVH_WORKERS_MAX ? UVH_WORKERS_MAX : cpus);
    cr_expect(cfg.workers_auto);
    cr_assert_eq(parse(&a, (const char *const[]){"--workers", "auto", "--workers", "2", NULL}, &cfg,
                       stdout, err, sizeof(err)),
                 UVH_CONFIG_RUN);
    cr_expect_eq(cfg.workers, 2);
    cr_expect_not(cfg.workers_auto, "a later number replaces auto");
    cr_expect_not(cfg.handoff, "a listener per loop by default");
    cr_assert_eq(parse(&a, (const char *const[]){"--accept", "handoff", NULL}, &cfg, stdout, err,
                       sizeof(err)),
                 UVH_CONFIG_RUN);
    cr_expect(cfg.handoff);
    enum uvh_config_result r = parse(&a, (const char *const[]){"--accept", "reuseport", NULL}, &cfg,
                                     stdout, err, sizeof(err));
#ifdef __linux__
    cr_expect_eq(r, UVH_CONFIG_RUN, "%s", err);
#else
    cr_expect_eq(r, UVH_CONFIG_BAD, "reuseport balances on Linux only");
#endif
    cr_expect_not(cfg.handoff);
}
