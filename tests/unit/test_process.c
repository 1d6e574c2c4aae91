/* test_process.c - process-wide state: the server library leaves it alone (signal dispositions,
 * glibc's mmap threshold, jansson's allocator), and uvh_process_init is the one place that sets
 * it (issue 10 item 15). Criterion runs each Test in its own process, so each starts clean. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <jansson.h>
#include <uv.h>

#include "config.h"
#include "log.h"
#include "process.h"
#include "server.h"

#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN 1
#endif
#endif

/* mallinfo2 (glibc 2.33) tells whether a block was mapped; AddressSanitizer has its own malloc. */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33) && !defined(ASAN)
#define PROBE_MMAP 1
#endif

static void (*disposition(int sig))(int)
{
    struct sigaction sa;
    cr_assert_eq(sigaction(sig, NULL, &sa), 0);
    return sa.sa_handler;
}

#ifdef PROBE_MMAP
/* True while glibc's mmap threshold is still its adaptive default: freeing a mapped 1 MiB block
 * raises the threshold past 512 KiB, so a 512 KiB block then comes from the heap. After
 * mallopt(M_MMAP_THRESHOLD, 256 KiB) the threshold is fixed, and that block is mapped. The heap
 * is trimmed first: a block the top of the heap can hold never gets as far as the threshold. */
static bool mmap_threshold_adaptive(void)
{
    void *big = malloc(1u << 20);
    cr_assert_not_null(big);
    free(big);
    malloc_trim(0);
    size_t mapped = mallinfo2().hblks;
    void *p = malloc(512u << 10);
    cr_assert_not_null(p);
    bool adaptive = mallinfo2().hblks == mapped;
    free(p);
    return adaptive;
}
#endif

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static struct uvh_server *test_srv;

static void run_thread(void *arg)
{
    int *rc = arg;
    *rc = uvh_server_run(test_srv);
}

/* A server without a listener serves one upload over a socketpair, then stops: everything the
 * library runs for a request and for an upload (whose first one used to switch jansson's
 * allocator). */
static void serve_one_upload(void)
{
    static const char req[] = "POST /upload HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
                              "Content-Type: application/json\r\nContent-Length: 26\r\n"
                              "Connection: close\r\n\r\n"
                              "{\"name\": \"x\", \"n\": [1, 2]}";
    char root[] = "/tmp/uvhttpd-process-XXXXXX";
    cr_assert_not_null(mkdtemp(root));
    struct uvh_config cfg = uvh_config_defaults;
    cfg.port = 8080;
    cfg.host = "127.0.0.1";
    cfg.threads = 2;
    cfg.root = root;
    uvh_log_threshold = UVH_LOG_ERROR;
    uvh_pool_set_size(cfg.threads);
    cr_assert_eq(uvh_server_new_unbound(&cfg, &test_srv), 0);

    uv_os_sock_t fds[2];
    cr_assert_eq(uv_socketpair(SOCK_STREAM, 0, fds, 0, 0), 0);
    cr_assert_eq(uvh_server_open_pipe(test_srv, fds[0]), 0);
    cr_assert_eq(write(fds[1], req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);

    int run_rc = -1;
    uv_thread_t t;
    cr_assert_eq(uv_thread_create(&t, run_thread, &run_rc), 0);
    char reply[4096];
    size_t len = 0;
    for (ssize_t n;
         len < sizeof(reply) - 1 && (n = read(fds[1], reply + len, sizeof(reply) - 1 - len)) > 0;)
        len += (size_t)n;
    reply[len] = '\0';
    close(fds[1]);
    uvh_server_stop(test_srv);
    uv_thread_join(&t);
    cr_assert_eq(run_rc, 0);
    uvh_server_free(test_srv);
    cr_assert(strncmp(reply, "HTTP/1.1 201 ", 13) == 0, "reply: %s", reply);
    nftw(root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Issue 10 item 15: server_create ignored SIGPIPE and called mallopt, uvh_server_run left
 * SIGINT/SIGTERM ignored, and the first upload switched jansson's allocator, in every program
 * linking the library. Now a server changes none of it. */
Test(process, regress_10_15_server_leaves_process_state, .timeout = 30)
{
    /* from a known start: criterion's own settings do not matter */
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    json_malloc_t m0;
    json_free_t f0;
    json_get_alloc_funcs(&m0, &f0);

    serve_one_upload();

    cr_expect_eq(disposition(SIGPIPE), SIG_DFL, "SIGPIPE's disposition changed");
    cr_expect_eq(disposition(SIGINT), SIG_DFL, "SIGINT's disposition changed");
    cr_expect_eq(disposition(SIGTERM), SIG_DFL, "SIGTERM's disposition changed");
    json_malloc_t m1;
    json_free_t f1;
    json_get_alloc_funcs(&m1, &f1);
    cr_expect(m1 == m0 && f1 == f0, "jansson's allocator changed");
#ifdef PROBE_MMAP
    cr_expect(mmap_threshold_adaptive(), "M_MMAP_THRESHOLD was set");
#endif
}

/* What the binary gets instead, from main(). */
Test(process, init_sets_the_binary_settings, .timeout = 30)
{
    signal(SIGPIPE, SIG_DFL);
    json_malloc_t m0;
    json_free_t f0;
    json_get_alloc_funcs(&m0, &f0);
#ifdef PROBE_MMAP
    cr_assert(mmap_threshold_adaptive(), "the probe needs glibc's default to start from");
#endif

    uvh_process_init();
    cr_expect_eq(disposition(SIGPIPE), SIG_IGN);
    json_malloc_t m1;
    json_free_t f1;
    json_get_alloc_funcs(&m1, &f1);
    cr_expect(m1 != m0 && f1 != f0, "jansson's allocator is not the upload arena's");
#ifdef PROBE_MMAP
    cr_expect_not(mmap_threshold_adaptive(), "M_MMAP_THRESHOLD was not set");
#endif
    serve_one_upload(); /* and uploads work through the arena allocator */

    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    uvh_process_ignore_stop_signals();
    cr_expect_eq(disposition(SIGINT), SIG_IGN);
    cr_expect_eq(disposition(SIGTERM), SIG_IGN);
}
