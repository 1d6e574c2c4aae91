/* test_file_cache.c - the file cache through the server: a file changed, grown, shrunk,
 * deleted, replaced, or swapped for a symlink that leaves the root is served as the disk has it
 * once the validity window has passed; within it, what is served is always one whole version
 * of the file (its bytes and its validators agree); ETag and Last-Modified follow the change. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include <criterion/criterion.h>

#include "harness.h"

static char fc_root[512], fc_outside[600];

static void make_fc_root(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(fc_root, sizeof(fc_root), "%s/uvhttpd-fc-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(fc_root), "mkdtemp: %s", strerror(errno));
    snprintf(fc_outside, sizeof(fc_outside), "%s-outside.txt", fc_root);
    FILE *f = fopen(fc_outside, "w");
    cr_assert_not_null(f);
    fputs("OUTSIDE THE ROOT\n", f);
    fclose(f);
    th_write_file(fc_root, "index.html", "<p>cache root</p>\n");
}

static void fc_cleanup(void)
{
    if (fc_root[0])
        th_remove_tree(fc_root);
    if (fc_outside[0])
        unlink(fc_outside);
}

static void serve_fc_root(struct uvh_config *cfg)
{
    cfg->root = fc_root;
    cfg->file_cache_validity_s = 1;
    if (cfg->file_cache == 0) /* the suite may run without the cache: this test wants it */
        cfg->file_cache = 1024 * 1024;
}

/* Sets the file's times, so Last-Modified changes by whole seconds. */
static void set_mtime(const char *rel, time_t t)
{
    char path[600];
    struct utimbuf u = {t, t};
    snprintf(path, sizeof(path), "%s/%s", fc_root, rel);
    cr_assert_eq(utime(path, &u), 0, "utime %s: %s", path, strerror(errno));
}

/* GET /a.txt on fd: the body must be exactly `want` (or, when `old` is not NULL, exactly
 * `old`: a cached version still inside its window), with a matching Content-Length. Returns
 * whether the new version was served; copies ETag and Last-Modified. */
static bool get_version(const struct th_server *ts, int fd, const char *want, const char *old,
                        char *etag, char *lm, const char *what)
{
    struct th_response r;
    th_send_get(ts, fd, "/a.txt");
    th_read_status(fd, &r, false, 200, what);
    bool is_new = r.body_len == strlen(want) && memcmp(r.body, want, r.body_len) == 0;
    bool is_old = old && r.body_len == strlen(old) && memcmp(r.body, old, r.body_len) == 0;
    cr_expect(is_new || is_old, "%s: body %.*s is neither version", what, (int)r.body_len, r.body);
    th_header(&r, "ETag", etag, 128);
    th_header(&r, "Last-Modified", lm, 64);
    th_response_free(&r);
    return is_new;
}

Test(file_cache, follows_the_disk_after_the_validity_window, .timeout = 30, .fini = fc_cleanup)
{
    struct th_server ts;
    struct th_response r;
    char etag1[128], lm1[64], etag2[128], lm2[64];
    static const struct {
        const char *what, *content;
    } versions[] = {
        {"changed", "two\n"},
        {"grown", "three, and longer than before\n"},
        {"shrunk", "4\n"},
    };

    th_skip_if_external("its own root and cache settings");
    make_fc_root();
    th_write_file(fc_root, "a.txt", "one\n");
    set_mtime("a.txt", 1600000000);
    th_start(&ts, serve_fc_root);
    int fd = th_connect(&ts);
    cr_assert(get_version(&ts, fd, "one\n", NULL, etag1, lm1, "first GET"));
    cr_assert(get_version(&ts, fd, "one\n", NULL, etag1, lm1, "second GET (from the cache)"));
    const char *prev = "one\n";
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        th_write_file(fc_root, "a.txt", versions[i].content);
        set_mtime("a.txt", 1600000000 + 100 * (time_t)(i + 1));
        /* Inside the window: either version, but whole. */
        get_version(&ts, fd, versions[i].content, prev, etag2, lm2, versions[i].what);
        th_sleep_ms(1100);
        cr_expect(get_version(&ts, fd, versions[i].content, NULL, etag2, lm2, versions[i].what),
                  "%s: still the old file after the window", versions[i].what);
        cr_expect_str_neq(etag2, etag1, "%s: the ETag did not change", versions[i].what);
        cr_expect_str_neq(lm2, lm1, "%s: Last-Modified did not change", versions[i].what);
        strcpy(etag1, etag2);
        strcpy(lm1, lm2);
        prev = versions[i].content;
    }

    /* Deleted: 404 once the window has passed, and found again when it is back. */
    char path[600];
    snprintf(path, sizeof(path), "%s/a.txt", fc_root);
    cr_assert_eq(unlink(path), 0);
    th_sleep_ms(1100);
    th_send_get(&ts, fd, "/a.txt");
    th_read_status(fd, &r, false, 404, "deleted");
    th_response_free(&r);
    th_write_file(fc_root, "a.txt", "back\n");
    th_sleep_ms(1100);
    cr_expect(get_version(&ts, fd, "back\n", NULL, etag2, lm2, "recreated"));

    /* Replaced by a symlink that leaves the root: 403, and never the outside bytes. */
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(symlink(fc_outside, path), 0, "symlink: %s", strerror(errno));
    th_sleep_ms(1100);
    th_send_get(&ts, fd, "/a.txt");
    th_read_status(fd, &r, false, 403, "replaced by a symlink out of the root");
    cr_expect(!r.body || !strstr(r.body, "OUTSIDE"), "the outside file was served");
    th_response_free(&r);
    /* ... and again from the cache. */
    th_send_get(&ts, fd, "/a.txt");
    th_read_status(fd, &r, false, 403, "the symlink, cached");
    th_response_free(&r);
    close(fd);
    th_stop(&ts);
}

/* A 304 and a range come from the cache as they come from the disk. */
Test(file_cache, conditional_and_range_from_the_cache, .timeout = 30, .fini = fc_cleanup)
{
    struct th_server ts;
    struct th_response r;
    char etag[128];

    th_skip_if_external("its own root and cache settings");
    make_fc_root();
    th_write_file(fc_root, "a.txt", "0123456789\n");
    th_start(&ts, serve_fc_root);
    int fd = th_connect(&ts);
    th_send_get(&ts, fd, "/a.txt");
    th_read_status(fd, &r, false, 200, "first");
    cr_assert_not_null(th_header(&r, "ETag", etag, sizeof(etag)));
    th_response_free(&r);
    for (int i = 0; i < 2; i++) { /* the second time surely from the cache */
        th_sendf(&ts, fd, "GET /a.txt HTTP/1.1\r\nHost: {HOST}\r\nIf-None-Match: %s\r\n\r\n", etag);
        th_read_status(fd, &r, false, 304, "If-None-Match");
        th_response_free(&r);
        th_sendf(&ts, fd, "GET /a.txt HTTP/1.1\r\nHost: {HOST}\r\nRange: bytes=2-4\r\n\r\n");
        th_read_status(fd, &r, false, 206, "Range");
        cr_expect(r.body_len == 3 && memcmp(r.body, "234", 3) == 0, "range body %.*s",
                  (int)r.body_len, r.body);
        th_expect_header(&r, "Content-Range", "bytes 2-4/11");
        th_response_free(&r);
        th_send_get(&ts, fd, "/missing.txt");
        th_read_status(fd, &r, false, 404, "a miss, remembered");
        th_response_free(&r);
        th_send_get(&ts, fd, "/.hidden");
        th_read_status(fd, &r, false, 403, "a dotfile");
        th_response_free(&r);
    }
    close(fd);
    th_stop(&ts);
}
