/* test_static.c - the static handler's path bound: root + "/" + relative path (+ "index.html")
 * must fit the exchange's path buffer, whatever the root's length; a path that does not fit is
 * a 404 and nothing past the buffer is written. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "exchange.h"
#include "server.h"
#include "static_handler.h"

#define CANARY 'Z'

static char tmp_root[512];  /* the mkdtemp'd directory */
static char long_root[512]; /* a directory about 200 characters deep inside it */

/* A document root of over 200 characters: four nested directories of 50 characters each. */
static void make_long_root(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(tmp_root, sizeof(tmp_root), "%s/uvh-static-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(tmp_root), "mkdtemp: %s", strerror(errno));
    size_t o = (size_t)snprintf(long_root, sizeof(long_root), "%s", tmp_root);
    for (char d = 'a'; d <= 'd'; d++) {
        long_root[o++] = '/';
        memset(long_root + o, d, 50);
        o += 50;
        long_root[o] = '\0';
        cr_assert_eq(mkdir(long_root, 0755), 0, "mkdir %s: %s", long_root, strerror(errno));
    }
    cr_assert_geq(strlen(long_root), 200u);
}

static void remove_long_root(void)
{
    char path[600], up[600];
    if (!tmp_root[0])
        return;
    snprintf(up, sizeof(up), "%s/uploads", long_root); /* made by the server at start-up */
    rmdir(up);
    snprintf(path, sizeof(path), "%s", long_root);
    while (strlen(path) > strlen(tmp_root)) {
        rmdir(path);
        *strrchr(path, '/') = '\0';
    }
    rmdir(tmp_root);
}

/* A request path of `len` decoded bytes: "/" then segments of 'p's, ending with '/'. */
static char *dir_path(size_t len)
{
    char *p = malloc(len + 2);
    cr_assert_not_null(p);
    p[0] = '/';
    for (size_t i = 1; i <= len; i++)
        p[i] = i % 200 == 0 || i == len ? '/' : 'p';
    p[len + 1] = '\0';
    return p;
}

/* Issue 10, item 11: with a root of about 200 characters, the longest path uvh_path_resolve
 * accepted into a UVH_PATH_MAX buffer (4095 bytes, ending in '/' so "index.html" follows) was
 * written at root_len + 1 into path[UVH_PATH_MAX + 64], running past it into the next member
 * (which ASan cannot see inside one struct). It must be a clean 404 that writes nothing there. */
Test(static_handler, regress_10_11_long_root_path_bound, .fini = remove_long_root)
{
    struct uvh_config cfg = uvh_config_defaults;
    struct uvh_server *s = NULL;

    uvh_log_threshold = UVH_LOG_ERROR;
    make_long_root();
    cfg.root = long_root;
    cr_assert_eq(uvh_server_new_unbound(&cfg, &s), 0, "server on %s", long_root);
    cr_assert_geq(s->root_len, 200u);

    struct uvh_exchange *x = calloc(1, sizeof(*x));
    struct uvh_static_file *f = malloc(sizeof(*f));
    cr_assert(x && f);
    x->env = &s->w[0].cenv.env;
    x->peer = "127.0.0.1:1";
    /* The handler takes its state from its free list: put a canaried one there first. */
    memset(f->small, CANARY, sizeof(f->small));
    x->h.file = f;
    uvh_static_release(x);

    char *path = dir_path(UVH_PATH_MAX - 1);
    x->req.path = uvh_slice_from(path);
    x->req.target = x->req.path;
    enum uvh_status st = uvh_static_handle(x);
    cr_assert_eq(x->h.file, f, "the handler did not take its state from its free list");
    for (size_t i = 0; i < sizeof(f->small); i++)
        cr_assert_eq(f->small[i], CANARY,
                     "byte %zu after path[] was overwritten (0x%02x): root %zu + path %zu bytes", i,
                     (unsigned char)f->small[i], s->root_len, strlen(path));
    cr_assert_eq(st, UVH_STATUS_NOT_FOUND, "a path that cannot fit: status %d, want 404", st);
    cr_assert_lt(f->path_len, sizeof(f->path));

    uvh_static_release(x);
    free(path);
    free(x);
    uvh_server_stop(s); /* nothing was queued: the loop closes clean */
    cr_assert_eq(uvh_server_run(s), 0);
    uvh_server_free(s);
}

/* The helper the handler builds its path with: it fits exactly or fails with ENAMETOOLONG, and
 * never writes past cap. */
Test(static_handler, build_path_bound)
{
    static const char root[] = "/srv/www";
    char buf[64];
    size_t len;
    bool index;

    /* "/srv/www" + "/" + rel + NUL = 64 bytes: rel of 54 fits exactly, 55 does not. */
    char rel[80];
    memset(rel, 'r', sizeof(rel));
    for (size_t n = 50; n <= 56; n++) {
        memset(buf, CANARY, sizeof(buf));
        int rc = uvh_static_build_path(buf, 60, root, sizeof(root) - 1, rel, n, &len, &index);
        for (size_t k = 60; k < sizeof(buf); k++)
            cr_assert_eq(buf[k], CANARY, "rel %zu: wrote past cap at %zu", n, k);
        if (sizeof(root) - 1 + 1 + n + 1 <= 60) {
            cr_assert_eq(rc, 0, "rel %zu should fit", n);
            cr_assert_eq(len, sizeof(root) + n);
            cr_assert_eq(buf[len], '\0');
            cr_assert_eq(memcmp(buf, "/srv/www/rrr", 12), 0, "%s", buf);
            cr_assert_not(index);
        } else {
            cr_assert_eq(rc, UV_ENAMETOOLONG, "rel %zu should not fit: %d", n, rc);
        }
    }

    /* A trailing slash appends "index.html", which must fit too. */
    memcpy(rel, "dir/", 4);
    cr_assert_eq(
        uvh_static_build_path(buf, sizeof(buf), root, sizeof(root) - 1, rel, 4, &len, &index), 0);
    cr_assert_str_eq(buf, "/srv/www/dir/index.html");
    cr_assert_eq(len, strlen(buf));
    cr_assert(index);
    cr_assert_eq(
        uvh_static_build_path(buf, sizeof(buf), root, sizeof(root) - 1, "", 0, &len, &index), 0);
    cr_assert_str_eq(buf, "/srv/www/index.html");
    cr_assert(index);
    size_t exact = sizeof(buf) - (sizeof(root) - 1) - 1 - strlen("index.html") - 1;
    memset(rel, 'd', exact);
    rel[exact - 1] = '/';
    for (size_t cap = sizeof(buf) - 1; cap <= sizeof(buf); cap++) {
        memset(buf, CANARY, sizeof(buf));
        int rc = uvh_static_build_path(buf, cap, root, sizeof(root) - 1, rel, exact, &len, &index);
        cr_assert_eq(rc, cap == sizeof(buf) ? 0 : UV_ENAMETOOLONG, "cap %zu: %d", cap, rc);
        if (cap < sizeof(buf))
            cr_assert_eq(buf[cap], CANARY, "cap %zu: wrote past it", cap);
        else
            cr_assert_eq(len, sizeof(buf) - 1);
    }
}
