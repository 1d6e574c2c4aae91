/* test_upload.c - POST /upload (issue 5) over raw sockets: JSON bodies of every kind, media
 * types, Content-Length and chunked framing, Expect: 100-continue, --max-body, invalid JSON,
 * concurrent uploads, a failing store, interrupted bodies and keep-alive afterwards. Most tests
 * serve a fresh temporary root so they can count what uploads/ holds; the "shared_" ones need
 * no settings of their own and also run against an external server (UVHTTPD_TEST_URL). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "harness.h"
#include "log.h"
#include "upload_handler.h"

#define UPLOAD_ALLOW "POST, OPTIONS"
#define STATIC_ALLOW "GET, HEAD, OPTIONS"
#define NAME_RE "^/uploads/upload_[0-9]{8}_[0-9]{6}_[0-9a-f]{6}\\.json$"
#define INDEX_BODY "<!DOCTYPE html>\n<html><body>upload test root</body></html>\n"
#define JSON_FLAGS (JSON_DECODE_ANY | JSON_REJECT_DUPLICATES)

/* ---- small helpers ---- */

static bool matches(const char *s, const char *re)
{
    regex_t rx;
    cr_assert_eq(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0, "bad regex %s", re);
    bool ok = regexec(&rx, s, 0, NULL, 0) == 0;
    regfree(&rx);
    return ok;
}

/* ---- a temporary document root per test ---- */

static char up_root[512];
static unsigned up_max_body;
static unsigned up_request_timeout;

/* A new root holding index.html; with uploads_is_file, "uploads" is a regular file there, so
 * no upload can be stored (running as root, permissions would not stop a write). */
static void make_root(bool uploads_is_file)
{
    const char *tmp = getenv("TMPDIR");
    th_skip_if_external("a document root of its own");
    snprintf(up_root, sizeof(up_root), "%s/uvhttpd-upload-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(up_root), "mkdtemp: %s", strerror(errno));
    th_write_file(up_root, "index.html", INDEX_BODY);
    if (uploads_is_file)
        th_write_file(up_root, "uploads", "not a directory\n");
}

static void root_cleanup(void)
{
    th_remove_tree(up_root);
}

static void serve_up_root(struct uvh_config *cfg)
{
    cfg->root = up_root;
    if (up_max_body)
        cfg->max_body = up_max_body;
    if (up_request_timeout)
        cfg->request_timeout_s = up_request_timeout;
}

/* Starts the in-process server on a fresh root (max_body 0: the default 10 MiB). */
static void start_own(struct th_server *ts, unsigned max_body, bool uploads_is_file)
{
    make_root(uploads_is_file);
    up_max_body = max_body;
    th_start(ts, serve_up_root);
    snprintf(ts->root, sizeof(ts->root), "%s", up_root); /* helpers read the same tree */
}

struct dir_count {
    int uploads; /* upload_*.json */
    int tmps;    /* .upload-*.tmp */
    int others;
    char tmp_name[256]; /* one of the temporary files */
};

static struct dir_count count_uploads(const struct th_server *ts)
{
    struct dir_count n = {0, 0, 0, ""};
    char dir[4200];
    snprintf(dir, sizeof(dir), "%s/uploads", ts->root);
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "opendir %s: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (strncmp(e->d_name, "upload_", 7) == 0 && len > 5 &&
            strcmp(e->d_name + len - 5, ".json") == 0) {
            n.uploads++;
        } else if (strncmp(e->d_name, ".upload-", 8) == 0 && len > 4 &&
                   strcmp(e->d_name + len - 4, ".tmp") == 0) {
            n.tmps++;
            snprintf(n.tmp_name, sizeof(n.tmp_name), "%s", e->d_name);
        } else {
            n.others++;
        }
    }
    closedir(d);
    return n;
}

/* Polls uploads/ for up to timeout_ms until no temporary file is left; returns the count. */
static struct dir_count wait_no_tmp(const struct th_server *ts, int timeout_ms)
{
    double end = th_now_ms() + timeout_ms;
    struct dir_count n = count_uploads(ts);
    while (n.tmps && th_now_ms() < end) {
        th_sleep_ms(10);
        n = count_uploads(ts);
    }
    return n;
}

static void expect_uploads_dir(const struct th_server *ts, int uploads, const char *what)
{
    struct dir_count n = wait_no_tmp(ts, 1000);
    cr_expect_eq(n.tmps, 0, "%s: %d temporary file(s) left in uploads/ (e.g. %s)", what, n.tmps,
                 n.tmp_name);
    cr_expect_eq(n.uploads, uploads, "%s: %d upload_*.json file(s) in uploads/, want %d", what,
                 n.uploads, uploads);
    cr_expect_eq(n.others, 0, "%s: %d unexpected file(s) in uploads/", what, n.others);
}

/* ---- requests ---- */

/* Sends POST /upload with Content-Length; ctype NULL: no Content-Type header. */
static void send_upload(const struct th_server *ts, int fd, const char *target, const char *ctype,
                        const char *body, size_t len)
{
    char ct[256] = "";
    if (ctype)
        snprintf(ct, sizeof(ct), "Content-Type: %s\r\n", ctype);
    th_sendf(ts, fd, "POST %s HTTP/1.1\r\nHost: {HOST}\r\n%sContent-Length: %zu\r\n\r\n", target,
             ct, len);
    if (len)
        th_send(fd, body, len);
}

/* Sends body as a chunked upload, n_chunks roughly equal chunks, each in its own send. */
static void send_chunked(const struct th_server *ts, int fd, const char *body, size_t len,
                         size_t n_chunks, bool pause)
{
    char line[32];
    th_sendf(ts, fd,
             "POST /upload HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
             "Transfer-Encoding: chunked\r\n\r\n");
    size_t per = (len + n_chunks - 1) / n_chunks, off = 0;
    while (off < len) {
        size_t n = len - off < per ? len - off : per;
        int l = snprintf(line, sizeof(line), "%zx\r\n", n);
        th_send(fd, line, (size_t)l);
        th_send(fd, body + off, n);
        th_send(fd, "\r\n", 2);
        off += n;
        if (pause)
            th_sleep_ms(20);
    }
    th_send(fd, "0\r\n\r\n", 5);
}

/* ---- checks on answers ---- */

/* A file under the root must hold exactly these bytes. */
static void expect_file_is(const struct th_server *ts, const char *rel, const char *body,
                           size_t len, const char *what)
{
    size_t flen = 0;
    char *data = th_read_file(ts, rel, &flen);
    cr_assert_not_null(data, "%s: %s does not exist under %s", what, rel, ts->root);
    cr_expect(flen == len && memcmp(data, body, len) == 0,
              "%s: %s holds %zu bytes, not the %zu bytes sent", what, rel, flen, len);
    free(data);
}

/* GET of the file path returns the same bytes as application/json. */
static void expect_get_same(const struct th_server *ts, const char *filepath, const char *body,
                            size_t len, const char *what)
{
    struct th_response r;
    th_get(ts, &r, filepath, 0);
    cr_expect_eq(r.status, 200, "%s: GET %s -> %d; head:\n%s", what, filepath, r.status, r.head);
    th_expect_header_for(&r, "Content-Type", "application/json", what);
    cr_expect(r.body_len == len && memcmp(r.body, body, len) == 0,
              "%s: GET %s returned %zu bytes that differ from the %zu uploaded", what, filepath,
              r.body_len, len);
    th_response_free(&r);
}

/* A 201 for these bytes: headers, the exact JSON reply, the name, the stored file. The path
 * ("/uploads/NAME") goes to filepath. */
static void expect_created(const struct th_server *ts, const struct th_response *r,
                           const char *body, size_t len, char *filepath, size_t cap,
                           const char *what)
{
    char loc[512] = "", want[700];
    json_error_t e;

    cr_assert_eq(r->status, 201, "%s: status %d, want 201; head:\n%s\nbody: %.300s", what,
                 r->status, r->head, r->body);
    th_expect_header_for(r, "Content-Type", "application/json", what);
    json_t *root = json_loadb(r->body, r->body_len, 0, &e);
    cr_assert_not_null(root, "%s: reply is not JSON (%s): %s", what, e.text, r->body);
    const char *status = json_string_value(json_object_get(root, "status"));
    const char *message = json_string_value(json_object_get(root, "message"));
    const char *fp = json_string_value(json_object_get(root, "filepath"));
    cr_expect(status && strcmp(status, "success") == 0, "%s: reply %s", what, r->body);
    cr_expect(message && strcmp(message, "File created successfully") == 0, "%s: reply %s", what,
              r->body);
    cr_assert_not_null(fp, "%s: no filepath in %s", what, r->body);
    snprintf(filepath, cap, "%s", fp);
    json_decref(root);

    cr_expect(matches(filepath, NAME_RE), "%s: filepath \"%s\" does not match %s", what, filepath,
              NAME_RE);
    cr_expect_not_null(th_header(r, "Location", loc, sizeof(loc)), "%s: no Location", what);
    cr_expect_str_eq(loc, filepath, "%s: Location \"%s\" is not the filepath \"%s\"", what, loc,
                     filepath);
    snprintf(want, sizeof(want),
             "{\"status\": \"success\", \"message\": \"File created successfully\", "
             "\"filepath\": \"%s\"}",
             filepath);
    cr_expect_str_eq(r->body, want, "%s: reply body", what);
    expect_file_is(ts, filepath + 1, body, len, what);
}

/* A JSON error reply: {"status":"error","message":...}; the message goes to msg. */
static void expect_json_error(const struct th_response *r, int status, char *msg, size_t cap,
                              const char *what)
{
    json_error_t e;
    cr_assert_eq(r->status, status, "%s: status %d, want %d; head:\n%s\nbody: %.300s", what,
                 r->status, status, r->head, r->body);
    th_expect_header_for(r, "Content-Type", "application/json", what);
    json_t *root = json_loadb(r->body, r->body_len, 0, &e);
    cr_assert_not_null(root, "%s: the %d body is not JSON (%s): \"%s\"", what, status, e.text,
                       r->body);
    const char *st = json_string_value(json_object_get(root, "status"));
    const char *m = json_string_value(json_object_get(root, "message"));
    cr_expect(st && strcmp(st, "error") == 0, "%s: body %s", what, r->body);
    cr_expect(m && *m, "%s: no message in %s", what, r->body);
    snprintf(msg, cap, "%s", m ? m : "");
    cr_expect_eq(json_object_size(root), 2, "%s: extra members in %s", what, r->body);
    json_decref(root);
}

/* The 400 for an invalid body: jansson's own verdict on the same bytes, with its position. */
static void expect_invalid_json(const struct th_response *r, const char *body, size_t len,
                                const char *what)
{
    char msg[512], want[512];
    json_error_t e;
    json_t *v = json_loadb(body, len, JSON_FLAGS, &e);
    cr_assert_null(v, "%s: the test body is valid JSON", what);
    snprintf(want, sizeof(want), "Invalid JSON: %s at line %d, column %d", e.text, e.line,
             e.column);
    expect_json_error(r, 400, msg, sizeof(msg), what);
    cr_expect(strncmp(msg, "Invalid JSON: ", 14) == 0 && strstr(msg, " at line ") &&
                  strstr(msg, ", column "),
              "%s: message \"%s\"", what, msg);
    cr_expect(matches(msg, " at line [0-9]+, column [0-9]+$"), "%s: message \"%s\"", what, msg);
    cr_expect_str_eq(msg, want, "%s: message \"%s\", want \"%s\"", what, msg, want);
}

/* A JSON body of exactly len bytes (len >= 16) whose content depends on seed. */
static char *make_body(size_t len, unsigned seed)
{
    char *b = malloc(len + 1);
    cr_assert_not_null(b);
    int h = snprintf(b, len, "{\"id\":%u,\"d\":\"", seed % 100000);
    for (size_t i = (size_t)h; i < len - 2; i++)
        b[i] = (char)('a' + (i * 7 + seed) % 26);
    b[len - 2] = '"';
    b[len - 1] = '}';
    b[len] = '\0';
    return b;
}

/* One POST (Content-Length) on a new connection, closed after the response: asserts the
 * response is complete and, unless status is 0, has this status. */
static void post(const struct th_server *ts, struct th_response *r, const char *target,
                 const char *ctype, const char *body, size_t len, int status, const char *what)
{
    int fd = th_connect(ts);
    send_upload(ts, fd, target, ctype, body, len);
    if (status)
        th_read_status(fd, r, false, status, what);
    else
        cr_assert_eq(th_read_response(fd, r, false), 0, "%s: no complete response", what);
    close(fd);
}

/* One POST on a new connection; asserts 201 and returns the file path. */
static void upload_ok(const struct th_server *ts, const char *ctype, const char *body, size_t len,
                      char *filepath, size_t cap, const char *what)
{
    struct th_response r;
    post(ts, &r, "/upload", ctype, body, len, 0, what);
    expect_created(ts, &r, body, len, filepath, cap, what);
    th_response_free(&r);
}

/* ---- valid uploads ---- */

struct valid_case {
    const char *body;
    size_t len; /* 0: strlen */
};

static const struct valid_case valid_cases[] = {
    {"{\"a\":1}", 0},
    {"{\"name\": \"x\", \"list\": [1, 2.5, -3e2, {\"deep\": [null, true, false]}]}\n", 0},
    {"[1,2,3]", 0},
    {"[]", 0},
    {"{}", 0},
    {"42", 0},
    {"-0.5e-3", 0},
    {"\"str\"", 0},
    {"null", 0},
    {"true", 0},
    {"false", 0},
    {" \t\r\n {\"ws\": true} \r\n\t ", 0},
    {"{\"utf8\": \"h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80\", \"esc\": \"\\u00e9\\n\\\"\"}", 0},
    {"{\"a\": {\"a\": 1}, \"b\": [{\"a\": 1}, {\"a\": 2}]}", 0},
};

Test(upload, valid_documents_stored_and_served, .timeout = 30, .fini = root_cleanup)
{
    struct th_server ts;
    struct th_response r;
    char fp[512], what[160], names[sizeof(valid_cases) / sizeof(valid_cases[0])][512];
    size_t n = sizeof(valid_cases) / sizeof(valid_cases[0]);

    start_own(&ts, 0, false);
    int fd = th_connect(&ts); /* all on one keep-alive connection */
    for (size_t i = 0; i < n; i++) {
        const char *body = valid_cases[i].body;
        size_t len = valid_cases[i].len ? valid_cases[i].len : strlen(body);
        char show[96];
        snprintf(what, sizeof(what), "[valid %zu: %s]", i, th_shown(body, len, show, sizeof(show)));
        send_upload(&ts, fd, "/upload", "application/json", body, len);
        cr_assert_eq(th_read_response(fd, &r, false), 0, "%s: no complete response", what);
        expect_created(&ts, &r, body, len, fp, sizeof(fp), what);
        th_expect_header_for(&r, "Connection", "keep-alive", what);
        th_response_free(&r);
        expect_get_same(&ts, fp, body, len, what);
        snprintf(names[i], sizeof(names[i]), "%s", fp);
        for (size_t j = 0; j < i; j++)
            cr_expect_str_neq(names[j], fp, "%s: name reused", what);
    }
    close(fd);
    expect_uploads_dir(&ts, (int)n, "after the valid uploads");
    th_stop(&ts);
}

/* upload_YYYYMMDD_HHMMSS: the UTC time of the upload. */
Test(upload, name_is_utc_time, .timeout = 30, .fini = root_cleanup)
{
    struct th_server ts;
    char fp[512];
    struct tm tm;

    start_own(&ts, 0, false);
    time_t before = time(NULL);
    upload_ok(&ts, "application/json", "{}", 2, fp, sizeof(fp), "[utc]");
    time_t after = time(NULL);
    memset(&tm, 0, sizeof(tm));
    cr_assert(matches(fp, NAME_RE), "name %s", fp);
    cr_assert_eq(sscanf(fp, "/uploads/upload_%4d%2d%2d_%2d%2d%2d", &tm.tm_year, &tm.tm_mon,
                        &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec),
                 6);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t named = timegm(&tm);
    cr_expect(named >= before - 1 && named <= after + 1,
              "name %s is not the UTC time of the upload (%ld s off)", fp, (long)(named - before));
    th_stop(&ts);
}

Test(upload, query_string_ignored, .timeout = 30, .fini = root_cleanup)
{
    struct th_server ts;
    struct th_response r;
    char fp[512];

    start_own(&ts, 0, false);
    post(&ts, &r, "/upload?name=x&y=1", "application/json", "[true]", 6, 0,
         "[POST /upload?name=x&y=1]");
    expect_created(&ts, &r, "[true]", 6, fp, sizeof(fp), "[POST /upload?name=x&y=1]");
    th_response_free(&r);
    th_stop(&ts);
}

/* ---- Content-Type ---- */

Test(upload, content_type_variants, .timeout = 30, .fini = root_cleanup)
{
    static const char *const accepted[] = {
        "application/json",
        "Application/JSON",
        "APPLICATION/JSON",
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        "application/json ; charset=\"utf-8\"",
    };
    static const char *const refused[] = {
        NULL,
        "text/plain",
        "application/jsonx",
        "application/x-json",
        "text/json",
        "application/json-seq",
        "json",
        "",
        "application/xml",
        "multipart/form-data; boundary=x",
    };
    struct th_server ts;
    struct th_response r;
    char fp[512], what[160];
    const char *body = "{\"ct\":true}";

    start_own(&ts, 0, false);
    for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
        snprintf(what, sizeof(what), "[Content-Type: %s]", accepted[i]);
        upload_ok(&ts, accepted[i], body, strlen(body), fp, sizeof(fp), what);
    }
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        snprintf(what, sizeof(what), "[Content-Type: %s]", refused[i] ? refused[i] : "(none)");
        post(&ts, &r, "/upload", refused[i], body, strlen(body), 415, what);
        th_response_free(&r);
    }
    expect_uploads_dir(&ts, (int)(sizeof(accepted) / sizeof(accepted[0])),
                       "after the Content-Type variants");
    th_stop(&ts);
}

/* Without a body the 415 comes in order and the connection stays usable. */
Test(upload, unsupported_type_without_body_keeps_connection, .timeout = 30, .fini = root_cleanup)
{
    struct th_server ts;
    struct th_response r;

    start_own(&ts, 0, false);
    int fd = th_connect(&ts);
    send_upload(&ts, fd, "/upload", "text/plain", "", 0);
    th_read_status(fd, &r, false, 415, "[text/plain, Content-Length: 0]");
    th_expect_header_for(&r, "Connection", "keep-alive", "[415 without a body]");
    th_response_free(&r);
    th_send_get(&ts, fd, "/index.html");
    th_read_status(fd, &r, false, 200, "[GET after the 415]");
    cr_expect_str_eq(r.body, INDEX_BODY);
    th_response_free(&r);
    close(fd);
    th_stop(&ts);
}

/* The media type is known from the head: a body of any size under --max-body is a 415, not
 * a 413 (the cap for bodies nobody reads is 1 MiB, the upload cap 10 MiB). */
Test(upload, unsupported_type_with_large_body_415, .timeout = 30)
{
    static const char *const ctypes[] = {"text/plain", NULL};
    struct th_server ts;
    struct th_response r;
    size_t len = 2000000;
    char *body = make_body(len, 4);

    th_start(&ts, NULL);
    for (size_t i = 0; i < 2; i++) {
        char what[96];
        snprintf(what, sizeof(what), "[Content-Type: %s, Content-Length: %zu, no Expect]",
                 ctypes[i] ? ctypes[i] : "(none)", len);
        struct timeval tv = {3, 0};
        int fd = th_connect(&ts);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        char ct[64] = "";
        if (ctypes[i])
            snprintf(ct, sizeof(ct), "Content-Type: %s\r\n", ctypes[i]);
        th_sendf(&ts, fd, "POST /upload HTTP/1.1\r\nHost: {HOST}\r\n%sContent-Length: %zu\r\n\r\n",
                 ct, len);
        size_t sent;
        int rc = th_read_response_while_sending(fd, &r, body, len, &sent);
        cr_assert_eq(rc, 0, "%s: no response (%zu body bytes sent)", what, sent);
        cr_expect_eq(r.status, 415, "%s: status %d, want 415 (%zu body bytes sent); head:\n%s",
                     what, r.status, sent, r.head);
        th_response_free(&r);
        close(fd);
    }
    free(body);
    th_stop(&ts);
}

/* ---- methods and paths ---- */

Test(upload, methods_and_other_paths, .timeout = 30)
{
    struct method_case {
        const char *req;
        int status;
        const char *allow;
    } cases[] = {
        {"GET /upload HTTP/1.1\r\nHost: {HOST}\r\n\r\n", 405, UPLOAD_ALLOW},
        {"GET /upload?x=1 HTTP/1.1\r\nHost: {HOST}\r\n\r\n", 405, UPLOAD_ALLOW},
        {"PUT /upload HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
         "Content-Length: 2\r\n\r\n{}",
         405, UPLOAD_ALLOW},
        {"DELETE /upload HTTP/1.1\r\nHost: {HOST}\r\n\r\n", 405, UPLOAD_ALLOW},
        {"PATCH /upload HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 0\r\n\r\n", 405, UPLOAD_ALLOW},
        {"OPTIONS /upload HTTP/1.1\r\nHost: {HOST}\r\n\r\n", 204, UPLOAD_ALLOW},
        {"POST /index.html HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
         "Content-Length: 2\r\n\r\n{}",
         405, STATIC_ALLOW},
        {"POST /upload/ HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
         "Content-Length: 2\r\n\r\n{}",
         405, STATIC_ALLOW},
        {"POST /uploads HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
         "Content-Length: 2\r\n\r\n{}",
         405, STATIC_ALLOW},
        {"POST /Upload HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
         "Content-Length: 2\r\n\r\n{}",
         405, STATIC_ALLOW},
        {"POST / HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 0\r\n\r\n", 405, STATIC_ALLOW},
    };
    struct th_server ts;
    struct th_response r;

    th_start(&ts, NULL);
    int fd = th_connect(&ts);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char what[64];
        snprintf(what, sizeof(what), "[%.*s]", (int)strcspn(cases[i].req, "\r"), cases[i].req);
        th_sendf(&ts, fd, "%s", cases[i].req);
        th_read_status(fd, &r, false, cases[i].status, what);
        th_expect_header_for(&r, "Allow", cases[i].allow, what);
        th_expect_header_for(&r, "Connection", "keep-alive", what);
        th_response_free(&r);
    }
    /* HEAD has no body in its answer. */
    th_sendf(&ts, fd, "HEAD /upload HTTP/1.1\r\nHost: {HOST}\r\n\r\n");
    cr_assert_eq(th_read_response(fd, &r, true), 0);
    cr_expect_eq(r.status, 405, "[HEAD /upload] status %d", r.status);
    th_expect_header_for(&r, "Allow", UPLOAD_ALLOW, "[HEAD /upload]");
    th_response_free(&r);
    th_send_get(&ts, fd, "/index.html");
    th_read_status(fd, &r, false, 200, "[GET /index.html afterwards]");
    th_response_free(&r);
    close(fd);
    th_stop(&ts);
}

/* ---- chunked bodies ---- */

Test(upload, chunked_bodies, .timeout = 30, .fini = root_cleanup)
{
    struct th_server ts;
    struct th_response r;
    char fp[512];
    const char *small = "{\"chunked\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], \"ok\": true}";

    start_own(&ts, 0, false);
    int fd = th_connect(&ts);
    /* Several small chunks, each in its own send with a pause between them. */
    send_chunked(&ts, fd, small, strlen(small), 5, true);
    cr_assert_eq(th_read_response(fd, &r, false), 0, "no response to a chunked upload");
    expect_created(&ts, &r, small, strlen(small), fp, sizeof(fp), "[5 small chunks]");
    th_response_free(&r);
    expect_get_same(&ts, fp, small, strlen(small), "[5 small chunks]");

    /* One byte per chunk. */
    send_chunked(&ts, fd, "[1,2]", 5, 5, false);
    cr_assert_eq(th_read_response(fd, &r, false), 0);
    expect_created(&ts, &r, "[1,2]", 5, fp, sizeof(fp), "[1-byte chunks]");
    th_response_free(&r);

    /* 300 kB in 7 chunks: past the in-memory buffer, so it streams to a temporary file. */
    size_t len = 300000;
    char *big = make_body(len, 77);
    send_chunked(&ts, fd, big, len, 7, false);
    cr_assert_eq(th_read_response(fd, &r, false), 0);
    expect_created(&ts, &r, big, len, fp, sizeof(fp), "[300 kB in 7 chunks]");
    th_response_free(&r);
    expect_get_same(&ts, fp, big, len, "[300 kB chunked]");
    free(big);

    /* Chunk extensions and a trailer do not end up in the file. */
    th_sendf(&ts, fd,
             "POST /upload HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
             "Transfer-Encoding: chunked\r\n\r\n"
             "3;ext=1\r\n{\"a\r\n4\r\n\":1}\r\n0\r\nX-Trailer: t\r\n\r\n");
    cr_assert_eq(th_read_response(fd, &r, false), 0);
    expect_created(&ts, &r, "{\"a\":1}", 7, fp, sizeof(fp), "[extension and trailer]");
    th_response_free(&r);
    close(fd);
    expect_uploads_dir(&ts, 4, "after the chunked uploads");
    th_stop(&ts);
}

/* ---- Expect ---- */

static const char continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";

/* Reads exactly the interim response; it must arrive before the body is sent. */
static void expect_continue(int fd, const char *what)
{
    char buf[sizeof(continue_line)];
    size_t got = 0;
    cr_assert(th_readable(fd, 2000), "%s: no 100 Continue within 2 s", what);
    while (got < sizeof(continue_line) - 1) {
        ssize_t n = recv(fd, buf + got, sizeof(continue_line) - 1 - got, 0);
        cr_assert_gt(n, 0, "%s: connection ended after %zu bytes of the interim response", what,
                     got);
        got += (size_t)n;
    }
    buf[got] = '\0';
    cr_assert_str_eq(buf, continue_line, "%s: interim response", what);
}

Test(upload, expect_100_continue_then_201, .timeout = 30, .fini = root_cleanup)
{
    struct th_server ts;
    struct th_response r;
    char fp[512];
    const char *body = "{\"expect\": \"100-continue\"}";

    start_own(&ts, 0, false);
    int fd = th_connect(&ts);
    th_sendf(&ts, fd,
             "POST /upload HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\nExpect: 100-continue\r\n\r\n",
             strlen(body));
    expect_continue(fd, "[Expect: 100-continue]");
    th_send(fd, body, strlen(body));
    cr_assert_eq(th_read_response(fd, &r, false), 0);
    expect_created(&ts, &r, body, strlen(body), fp, sizeof(fp), "[after 100 Continue]");
    th_expect_header_for(&r, "Connection", "keep-alive", "[after 100 Continue]");
    th_response_free(&r);

    /* Case-insensitive, with a chunked body, on the same connection. */
    th_sendf(&ts, fd,
             "POST /upload HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
             "Transfer-Encoding: chunked\r\nExpect: 100-Continue\r\n\r\n");
    expect_continue(fd, "[Expect: 100-Continue, chunked]");
    th_send(fd, "2\r\n[1\r\n1\r\n]\r\n0\r\n\r\n", 18);
    cr_assert_eq(th_read_response(fd, &r, false), 0);
    expect_created(&ts, &r, "[1]", 3, fp, sizeof(fp), "[chunked after 100 Continue]");
    th_response_free(&r);
    close(fd);
    th_stop(&ts);
}

/* A refused head is answered at once, without the interim response, before any body byte. */
static void expect_refused_at_once(const struct th_server *ts, const char *ctype, size_t len,
                                   const char *expect, int status, const char *what)
{
    struct th_response r;
    int fd = th_connect(ts);
    th_sendf(ts, fd,
             "POST /upload HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
             "Expect: %s\r\n\r\n",
             ctype, len, expect);
    double t0 = th_now_ms();
    cr_assert(th_readable(fd, 2000), "%s: no answer within 2 s (body not sent)", what);
    cr_expect_lt(th_now_ms() - t0, 1000.0, "%s: answered only after %.0f ms", what,
                 th_now_ms() - t0);
    cr_assert_eq(th_read_response(fd, &r, false), 0, "%s: no complete response", what);
    cr_expect_neq(r.status, 100, "%s: 100 Continue for a request that is refused", what);
    cr_expect_eq(r.status, status, "%s: status %d, want %d; head:\n%s", what, r.status, status,
                 r.head);
    th_response_free(&r);
    close(fd);
}

Test(upload, expect_100_refused_at_once, .timeout = 30, .fini = root_cleanup)
{
    struct th_server ts;

    start_own(&ts, 1000, false);
    expect_refused_at_once(&ts, "text/plain", 100, "100-continue", 415,
                           "[text/plain + Expect: 100-continue]");
    expect_refused_at_once(&ts, "application/json", 5000, "100-continue", 413,
                           "[5000 bytes over --max-body 1000 + Expect: 100-continue]");
    expect_refused_at_once(&ts, "application/json", 10, "something-else", 417,
                           "[Expect: something-else]");
    expect_refused_at_once(&ts, "application/json", 10, "100-continue, foo", 417,
                           "[Expect: 100-continue, foo]");
    expect_uploads_dir(&ts, 0, "after the refused heads");
    th_stop(&ts);
}

/* Issue 5: "Expect: 100-continue gets 100 Continue only when the request will be accepted
 * (right path, type and size); otherwise the final status comes at once" - a POST to another
 * path is a 405 that must not wait for the body. */
Test(upload, expect_100_on_other_path_405_at_once, .timeout = 30)
{
    struct th_server ts;
    struct th_response r;

    th_start(&ts, NULL);
    int fd = th_connect(&ts);
    th_sendf(&ts, fd,
             "POST /index.html HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
             "Content-Length: 10\r\nExpect: 100-continue\r\n\r\n");
    bool answered = th_readable(fd, 2000);
    cr_expect(answered, "POST /index.html with Expect: 100-continue and Content-Length: 10: "
                        "no answer within 2 s while the body is held back (want 405 at once)");
    if (answered) {
        cr_assert_eq(th_read_response(fd, &r, false), 0);
        cr_expect_eq(r.status, 405, "status %d, want 405; head:\n%s", r.status, r.head);
        th_expect_header_for(&r, "Allow", STATIC_ALLOW, "[POST /index.html + Expect]");
        th_response_free(&r);
    }
    close(fd);
    th_stop(&ts);
}

/* ---- --max-body ---- */

Test(upload, content_length_over_max_body_413_before_body, .timeout = 30, .fini = root_cleanup)
{
    struct th_server ts;
    struct th_response r;
    char fp[512];

    start_own(&ts, 1000, false);
    /* Exactly the limit is accepted. */
    char *body = make_body(1000, 3);
    upload_ok(&ts, "application/json", body, 1000, fp, sizeof(fp), "[1000 bytes, limit 1000]");
    free(body);

    int fd = th_connect(&ts);
    th_sendf(&ts, fd,
             "POST /upload HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
             "Content-Length: 1001\r\n\r\n");
    cr_assert(th_readable(fd, 2000), "no 413 within 2 s for Content-Length: 1001");
    th_read_status(fd, &r, false, 413, "[Content-Length: 1001, limit 1000]");
    th_expect_closing(fd, &r, "[Content-Length: 1001, limit 1000]");

    /* A huge declared length too. */
    fd = th_connect(&ts);
    th_sendf(&ts, fd,
             "POST /upload HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
             "Content-Length: 99999999999\r\n\r\n{");
    th_read_status(fd, &r, false, 413, "[Content-Length: 99999999999]");
    th_response_free(&r);
    cr_expect(th_wait_closed(fd, 2000), "connection not closed after the 413");
    close(fd);
    expect_uploads_dir(&ts, 1, "after the 413s");
    th_stop(&ts);
}

/* Sends chunks of `size` bytes without the last chunk until the server answers. */
static size_t send_chunks_until_answer(const struct th_server *ts, int fd, size_t size,
                                       size_t max_chunks)
{
    char line[32];
    char *chunk = malloc(size);
    cr_assert_not_null(chunk);
    memset(chunk, '1', size);
    chunk[0] = '[';
    th_sendf(ts, fd,
             "POST /upload HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
             "Transfer-Encoding: chunked\r\n\r\n");
    size_t i = 0;
    for (; i < max_chunks; i++) {
        int l = snprintf(line, sizeof(line), "%zx\r\n", size);
        if (send(fd, line, (size_t)l, MSG_NOSIGNAL) != l ||
            send(fd, chunk, size, MSG_NOSIGNAL) != (ssize_t)size ||
            send(fd, "\r\n", 2, MSG_NOSIGNAL) != 2)
            break;
        chunk[0] = '1';
        if (th_readable(fd, 50))
            break;
    }
    free(chunk);
    return i;
}

Test(upload, chunked_over_max_body_413, .timeout = 30, .fini = root_cleanup)
{
    struct th_server ts;
    struct th_response r;

    start_own(&ts, 1000, false);
    int fd = th_connect(&ts);
    /* 600 + 600 > 1000: the answer must come after the second chunk, with no last chunk sent. */
    size_t sent = send_chunks_until_answer(&ts, fd, 600, 2);
    cr_assert(th_readable(fd, 2000), "no answer after %zu chunks of 600 (limit 1000)", sent);
    th_read_status(fd, &r, false, 413, "[chunked 2 x 600, limit 1000]");
    th_expect_closing(fd, &r, "[chunked 2 x 600, limit 1000]");
    expect_uploads_dir(&ts, 0, "after the chunked 413");
    th_stop(&ts);
}

/* With a larger limit the body has already reached the temporary file when it grows too
 * large: that file must go. */
Test(upload, chunked_over_max_body_413_removes_tmp, .timeout = 30, .fini = root_cleanup)
{
    struct th_server ts;
    struct th_response r;

    start_own(&ts, 100000, false);
    int fd = th_connect(&ts);
    /* 7 x 16 KiB = 114688 > 100000, and no last chunk: the answer must not wait for more. */
    size_t sent = send_chunks_until_answer(&ts, fd, 16384, 7);
    cr_assert(th_readable(fd, 2000), "no answer after %zu chunks of 16 KiB (limit 100000)", sent);
    th_read_status(fd, &r, false, 413, "[chunked over 100000]");
    th_response_free(&r);
    cr_expect(th_wait_closed(fd, 2000), "connection not closed after the chunked 413");
    close(fd);
    expect_uploads_dir(&ts, 0, "after a chunked 413 past the in-memory buffer");
    th_stop(&ts);
}

/* ---- invalid JSON ---- */

struct invalid_case {
    const char *name;
    const char *body;
    size_t len; /* 0: strlen */
};

static const struct invalid_case invalid_cases[] = {
    {"truncated object", "{\"a\":", 0},
    {"trailing garbage", "{} x", 0},
    {"two texts", "{\"a\":1}{\"b\":2}", 0},
    {"invalid UTF-8 in a string", "\"\xff\"", 0},
    {"overlong UTF-8", "\"\xc0\xaf\"", 0},
    {"UTF-16 surrogate as UTF-8", "\"\xed\xa0\x80\"", 0},
    {"invalid UTF-8 after the value", "{\"a\":1}\xff", 0},
    {"BOM", "\xef\xbb\xbf{}", 0},
    {"NUL byte inside a string", "\"a\0b\"", 5},
    {"NUL byte alone", "\0", 1},
    {"duplicate keys", "{\"a\":1,\"a\":2}", 0},
    {"nested duplicate keys", "[{\"k\":[{\"x\":1,\"y\":2,\"x\":3}]}]", 0},
    {"single quotes", "{'a':1}", 0},
    {"unquoted key", "{a:1}", 0},
    {"trailing comma", "[1,2,]", 0},
    {"NaN", "NaN", 0},
    {"leading zero", "012", 0},
    {"control character in a string", "\"a\tb\"", 0},
    {"bad escape", "\"\\x41\"", 0},
    {"only whitespace", " \r\n\t ", 0},
    {"error on line 3", "[1,\n2,\n  x]", 0},
};

Test(upload, invalid_json_400, .timeout = 30, .fini = root_cleanup)
{
    struct th_server ts;
    struct th_response r;
    char what[160], show[64];

    start_own(&ts, 0, false);
    for (size_t i = 0; i < sizeof(invalid_cases) / sizeof(invalid_cases[0]); i++) {
        const struct invalid_case *c = &invalid_cases[i];
        size_t len = c->len ? c->len : strlen(c->body);
        snprintf(what, sizeof(what), "[%s: %s]", c->name,
                 th_shown(c->body, len, show, sizeof(show)));
        post(&ts, &r, "/upload", "application/json", c->body, len, 0, what);
        expect_invalid_json(&r, c->body, len, what);
        /* Issue 10 item 3: framing was sound, so the connection stays usable. */
        th_expect_header_for(&r, "Connection", "keep-alive", what);
        th_response_free(&r);
    }
    expect_uploads_dir(&ts, 0, "after the invalid bodies");
    th_stop(&ts);
}

Test(upload, empty_body_400, .timeout = 30, .fini = root_cleanup)
{
    struct th_server ts;
    struct th_response r;

    start_own(&ts, 0, false);
    post(&ts, &r, "/upload", "application/json", "", 0, 0, "[Content-Length: 0]");
    expect_invalid_json(&r, "", 0, "[Content-Length: 0]");
    th_response_free(&r);

    int fd = th_connect(&ts);
    th_sendf(&ts, fd,
             "POST /upload HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
             "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    cr_assert_eq(th_read_response(fd, &r, false), 0, "no response to an empty chunked body");
    expect_invalid_json(&r, "", 0, "[empty chunked body]");
    th_response_free(&r);
    close(fd);

    /* No body at all (neither Content-Length nor chunked). */
    fd = th_connect(&ts);
    th_sendf(&ts, fd,
             "POST /upload HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n\r\n");
    cr_assert_eq(th_read_response(fd, &r, false), 0, "no response to a POST without a body");
    expect_invalid_json(&r, "", 0, "[no body]");
    th_response_free(&r);
    close(fd);
    expect_uploads_dir(&ts, 0, "after the empty bodies");
    th_stop(&ts);
}

/* Large invalid bodies go through the file-backed validation: same verdict and position. */
Test(upload, invalid_json_in_large_body_400, .timeout = 30, .fini = root_cleanup)
{
    struct th_server ts;
    struct th_response r;
    size_t len = 400000;
    char *body = malloc(len);

    cr_assert_not_null(body);
    /* "[1,\n1,\n...": about 130000 lines, then garbage near the end. */
    size_t o = 0;
    body[o++] = '[';
    while (o + 16 < len)
        o += (size_t)snprintf(body + o, len - o, "1,\n");
    memcpy(body + o, "2, x]", 5);
    len = o + 5;

    start_own(&ts, 0, false);
    post(&ts, &r, "/upload", "application/json", body, len, 0, "[400 kB, garbage near the end]");
    expect_invalid_json(&r, body, len, "[400 kB, garbage near the end]");
    th_response_free(&r);

    /* A duplicate key deep in a large body, sent chunked. */
    char *big = malloc(200100);
    cr_assert_not_null(big);
    o = (size_t)snprintf(big, 200100, "{\"k\":\"");
    memset(big + o, 'v', 199000);
    o += 199000;
    o += (size_t)snprintf(big + o, 200100 - o, "\",\"k\":1}");
    int fd = th_connect(&ts);
    send_chunked(&ts, fd, big, o, 9, false);
    cr_assert_eq(th_read_response(fd, &r, false), 0, "no response to a 200 kB duplicate key");
    expect_invalid_json(&r, big, o, "[200 kB chunked, duplicate key at the end]");
    th_response_free(&r);
    close(fd);
    free(big);
    free(body);
    expect_uploads_dir(&ts, 0, "after the large invalid bodies");
    th_stop(&ts);
}

/* ---- large and concurrent uploads ---- */

Test(upload, large_body_streamed_and_identical, .timeout = 30, .fini = root_cleanup)
{
    struct th_server ts;
    char fp[512];
    size_t len = 3 * 1024 * 1024 + 17;
    char *body = make_body(len, 5);

    start_own(&ts, 0, false);
    upload_ok(&ts, "application/json", body, len, fp, sizeof(fp), "[3 MiB]");
    expect_get_same(&ts, fp, body, len, "[3 MiB]");
    free(body);
    expect_uploads_dir(&ts, 1, "after the 3 MiB upload");
    th_stop(&ts);
}

enum { N_CONCURRENT = 50 };

struct job {
    int port;
    char *body;
    size_t len;
    uv_barrier_t *start;
    /* results, read by the test thread after the join */
    int status;
    char filepath[256];
    char error[160];
};

/* Thread-safe (no criterion asserts, no shared buffers): one upload with Connection: close,
 * the reply read until EOF. */
static void run_job(void *arg)
{
    struct job *j = arg;
    struct sockaddr_in a = {0};
    char head[256], *reply = NULL;
    size_t cap = 0, got = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)j->port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    struct timeval tv = {20, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    bool connected = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    uv_barrier_wait(j->start);
    if (!connected) {
        snprintf(j->error, sizeof(j->error), "connect: %s", strerror(errno));
        close(fd);
        return;
    }
    int hl = snprintf(head, sizeof(head),
                      "POST /upload HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: "
                      "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                      j->port, j->len);
    if (send(fd, head, (size_t)hl, MSG_NOSIGNAL) != hl) {
        snprintf(j->error, sizeof(j->error), "send head: %s", strerror(errno));
        close(fd);
        return;
    }
    for (size_t off = 0; off < j->len;) {
        size_t n = j->len - off < 16384 ? j->len - off : 16384;
        ssize_t w = send(fd, j->body + off, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(j->error, sizeof(j->error), "send body at %zu: %s", off, strerror(errno));
            close(fd);
            return;
        }
        off += (size_t)w;
    }
    for (;;) {
        if (got + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            reply = realloc(reply, cap + 1);
        }
        ssize_t n = recv(fd, reply + got, cap - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (!reply || got == 0) {
        snprintf(j->error, sizeof(j->error), "no reply");
        free(reply);
        return;
    }
    reply[got] = '\0';
    if (sscanf(reply, "HTTP/1.1 %d", &j->status) != 1)
        snprintf(j->error, sizeof(j->error), "bad status line: %.60s", reply);
    const char *fp = strstr(reply, "\"filepath\": \"");
    if (fp)
        sscanf(fp + 13, "%255[^\"]", j->filepath);
    free(reply);
}

Test(upload, concurrent_50_uploads, .timeout = 30, .fini = root_cleanup)
{
    struct th_server ts;
    struct job jobs[N_CONCURRENT];
    uv_thread_t threads[N_CONCURRENT];
    uv_barrier_t start;

    start_own(&ts, 0, false);
    cr_assert_eq(uv_barrier_init(&start, N_CONCURRENT + 1), 0);
    for (int i = 0; i < N_CONCURRENT; i++) {
        memset(&jobs[i], 0, sizeof(jobs[i]));
        jobs[i].port = ts.port;
        jobs[i].len = 50000 + (size_t)i * 3000; /* 50 to 197 kB, every one different */
        jobs[i].body = make_body(jobs[i].len, (unsigned)i * 1000 + 1);
        jobs[i].start = &start;
        cr_assert_eq(uv_thread_create(&threads[i], run_job, &jobs[i]), 0);
    }
    double t0 = th_now_ms();
    uv_barrier_wait(&start);
    for (int i = 0; i < N_CONCURRENT; i++)
        uv_thread_join(&threads[i]);
    cr_log_info("50 concurrent uploads (50-197 kB) took %.0f ms", th_now_ms() - t0);
    uv_barrier_destroy(&start);

    for (int i = 0; i < N_CONCURRENT; i++) {
        char what[64];
        snprintf(what, sizeof(what), "[concurrent upload %d, %zu bytes]", i, jobs[i].len);
        cr_expect_str_empty(jobs[i].error, "%s: %s", what, jobs[i].error);
        cr_expect_eq(jobs[i].status, 201, "%s: status %d", what, jobs[i].status);
        if (jobs[i].status == 201) {
            cr_expect(matches(jobs[i].filepath, NAME_RE), "%s: name %s", what, jobs[i].filepath);
            expect_file_is(&ts, jobs[i].filepath + 1, jobs[i].body, jobs[i].len, what);
            for (int k = 0; k < i; k++)
                cr_expect_str_neq(jobs[k].filepath, jobs[i].filepath, "%s: same name as upload %d",
                                  what, k);
        }
    }
    for (int i = 0; i < N_CONCURRENT; i++)
        free(jobs[i].body);
    expect_uploads_dir(&ts, N_CONCURRENT, "after 50 concurrent uploads");
    th_stop(&ts);
}

/* ---- failures: nothing partial, nothing left ---- */

static void expect_root_untouched(const struct th_server *ts, const char *what)
{
    char path[4200];
    struct stat st;
    snprintf(path, sizeof(path), "%s/uploads", ts->root);
    cr_assert_eq(stat(path, &st), 0);
    cr_expect(S_ISREG(st.st_mode), "%s: uploads is no longer a regular file", what);
    expect_file_is(ts, "uploads", "not a directory\n", 16, what);
    DIR *d = opendir(ts->root);
    cr_assert_not_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        cr_expect(strcmp(n, ".") == 0 || strcmp(n, "..") == 0 || strcmp(n, "index.html") == 0 ||
                      strcmp(n, "uploads") == 0,
                  "%s: unexpected entry %s in the root", what, n);
    }
    closedir(d);
}

Test(upload, store_failure_500, .timeout = 30, .fini = root_cleanup)
{
    struct th_server ts;
    struct th_response r;
    char msg[512];
    size_t len = 200000;
    char *big = make_body(len, 11);

    start_own(&ts, 0, true); /* ROOT/uploads is a regular file */
    post(&ts, &r, "/upload", "application/json", "{\"a\":1}", 7, 0,
         "[small body, uploads is a file]");
    expect_json_error(&r, 500, msg, sizeof(msg), "[small body, uploads is a file]");
    cr_expect_null(strstr(msg, "Invalid JSON"), "500 message: %s", msg);
    th_expect_header_for(&r, "Connection", "close", "[500]");
    th_response_free(&r);

    /* A body large enough to stream: the temporary file cannot even be created. */
    post(&ts, &r, "/upload", "application/json", big, len, 0, "[200 kB body, uploads is a file]");
    expect_json_error(&r, 500, msg, sizeof(msg), "[200 kB body, uploads is a file]");
    th_response_free(&r);

    /* Chunked as well. */
    int fd = th_connect(&ts);
    send_chunked(&ts, fd, big, len, 4, false);
    cr_assert_eq(th_read_response(fd, &r, false), 0);
    expect_json_error(&r, 500, msg, sizeof(msg), "[200 kB chunked, uploads is a file]");
    th_response_free(&r);
    close(fd);
    free(big);

    expect_root_untouched(&ts, "after the failed stores");
    /* Serving files still works. */
    th_get(&ts, &r, "/index.html", 0);
    cr_expect_eq(r.status, 200);
    th_response_free(&r);
    th_stop(&ts);
}

/* Waits up to timeout_ms for a temporary file to appear in uploads/. */
static struct dir_count wait_tmp(const struct th_server *ts, int timeout_ms)
{
    double end = th_now_ms() + timeout_ms;
    struct dir_count n = count_uploads(ts);
    while (!n.tmps && th_now_ms() < end) {
        th_sleep_ms(5);
        n = count_uploads(ts);
    }
    return n;
}

/* Sends half of a 200 kB body and waits for the temporary file; the client then goes away
 * (reset: RST instead of FIN). */
static void interrupted_upload(struct th_server *ts, bool chunked, bool reset, const char *what)
{
    size_t len = 200000;
    char *body = make_body(len, 21);
    struct th_response r;
    int fd = th_connect(ts);

    if (chunked) {
        char line[32];
        th_sendf(ts, fd,
                 "POST /upload HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n");
        int l = snprintf(line, sizeof(line), "%zx\r\n", len / 2);
        th_send(fd, line, (size_t)l);
        th_send(fd, body, len / 2);
        th_send(fd, "\r\n", 2);
    } else {
        th_sendf(ts, fd,
                 "POST /upload HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\n\r\n",
                 len);
        th_send(fd, body, len / 2);
    }
    struct dir_count n = wait_tmp(ts, 2000);
    cr_expect_gt(n.tmps, 0, "%s: no .upload-*.tmp file in uploads/ while half the body is in",
                 what);
    cr_expect_eq(n.uploads, 0, "%s: an upload_*.json before the body is complete", what);
    if (n.tmps) {
        /* The temporary file is never served: its name starts with a dot. */
        cr_assert_eq(th_request(ts, &r, false, "GET /uploads/%s HTTP/1.1\r\nHost: {HOST}\r\n\r\n",
                                n.tmp_name),
                     0);
        cr_expect_eq(r.status, 403, "%s: GET /uploads/%s -> %d", what, n.tmp_name, r.status);
        cr_expect(r.body_len < 1000 || memmem(r.body, r.body_len, body, 64) == NULL,
                  "%s: the temporary file was served", what);
        th_response_free(&r);
    }
    if (reset)
        th_close_reset(fd);
    else
        close(fd);
    expect_uploads_dir(ts, 0, what);
    free(body);
}

Test(upload, interrupted_upload_leaves_nothing, .timeout = 30, .fini = root_cleanup)
{
    struct th_server ts;
    char fp[512];

    start_own(&ts, 0, false);
    interrupted_upload(&ts, false, false, "[close after half of Content-Length: 200000]");
    interrupted_upload(&ts, false, true, "[reset after half of Content-Length: 200000]");
    interrupted_upload(&ts, true, false, "[close after half of a chunked body]");
    interrupted_upload(&ts, true, true, "[reset after half of a chunked body]");

    /* Gone before the body reached the disk at all. */
    int fd = th_connect(&ts);
    th_sendf(&ts, fd,
             "POST /upload HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
             "Content-Length: 100\r\n\r\n{\"a\":");
    th_sleep_ms(50);
    close(fd);
    expect_uploads_dir(&ts, 0, "[close after 5 of 100 bytes]");

    /* The server is fine afterwards. */
    upload_ok(&ts, "application/json", "{\"after\":1}", 11, fp, sizeof(fp), "[after interrupts]");
    expect_uploads_dir(&ts, 1, "after the interrupted uploads");
    th_stop(&ts);
}

/* A client that stops sending mid-body: 408 after --request-timeout, and the temporary file
 * goes. */
Test(upload, stalled_body_408_removes_tmp, .timeout = 30, .fini = root_cleanup)
{
    struct th_server ts;
    struct th_response r;
    size_t len = 200000;
    char *body = make_body(len, 8);

    up_request_timeout = 1;
    start_own(&ts, 0, false);
    int fd = th_connect(&ts);
    th_sendf(&ts, fd,
             "POST /upload HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n",
             len);
    th_send(fd, body, len / 2);
    struct dir_count n = wait_tmp(&ts, 2000);
    cr_expect_gt(n.tmps, 0, "no temporary file while half the body is in");
    double t0 = th_now_ms();
    cr_assert(th_readable(fd, 3000), "no answer 3 s into a stalled body (timeout 1 s)");
    th_read_status(fd, &r, false, 408, "[stalled body]");
    cr_expect(th_now_ms() - t0 < 2500, "408 after %.0f ms", th_now_ms() - t0);
    th_response_free(&r);
    cr_expect(th_wait_closed(fd, 2000), "connection not closed after the 408");
    close(fd);
    expect_uploads_dir(&ts, 0, "after a stalled body");
    free(body);
    th_stop(&ts);
}

/* ---- keep-alive and pipelining after an upload ---- */

Test(upload, keep_alive_after_201, .timeout = 30, .fini = root_cleanup)
{
    struct th_server ts;
    struct th_response r;
    char fp1[512], fp2[512];

    start_own(&ts, 0, false);
    int fd = th_connect(&ts);
    send_upload(&ts, fd, "/upload", "application/json", "{\"n\":1}", 7);
    cr_assert_eq(th_read_response(fd, &r, false), 0);
    expect_created(&ts, &r, "{\"n\":1}", 7, fp1, sizeof(fp1), "[first upload]");
    th_expect_header_for(&r, "Connection", "keep-alive", "[201]");
    th_expect_header_for(&r, "Keep-Alive", "timeout=30, max=99", "[201]");
    th_response_free(&r);

    th_send_get(&ts, fd, fp1);
    th_read_status(fd, &r, false, 200, "[GET of the upload on the same connection]");
    cr_expect(r.body_len == 7 && memcmp(r.body, "{\"n\":1}", 7) == 0, "body %s", r.body);
    th_response_free(&r);

    send_upload(&ts, fd, "/upload", "application/json", "{\"n\":2}", 7);
    cr_assert_eq(th_read_response(fd, &r, false), 0);
    expect_created(&ts, &r, "{\"n\":2}", 7, fp2, sizeof(fp2), "[second upload]");
    th_expect_header_for(&r, "Keep-Alive", "timeout=30, max=97", "[third response]");
    th_response_free(&r);
    cr_expect_str_neq(fp1, fp2, "two uploads, one name");
    close(fd);
    th_stop(&ts);
}

Test(upload, pipelined_after_upload, .timeout = 30, .fini = root_cleanup)
{
    struct th_server ts;
    struct th_response r;
    char fp[512];
    const char *body = "[\"pipelined\"]";

    start_own(&ts, 0, false);
    int fd = th_connect(&ts);
    th_sendf(&ts, fd,
             "POST /upload HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n%s"
             "GET /index.html HTTP/1.1\r\nHost: {HOST}\r\n\r\n"
             "POST /upload HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
             "Transfer-Encoding: chunked\r\n\r\n3\r\n[2]\r\n0\r\n\r\n"
             "OPTIONS /upload HTTP/1.1\r\nHost: {HOST}\r\n\r\n",
             strlen(body), body);
    cr_assert_eq(th_read_response(fd, &r, false), 0);
    expect_created(&ts, &r, body, strlen(body), fp, sizeof(fp), "[pipelined upload 1]");
    th_response_free(&r);
    th_read_status(fd, &r, false, 200, "[pipelined GET after an upload]");
    cr_expect_str_eq(r.body, INDEX_BODY);
    th_response_free(&r);
    cr_assert_eq(th_read_response(fd, &r, false), 0);
    expect_created(&ts, &r, "[2]", 3, fp, sizeof(fp), "[pipelined chunked upload]");
    th_response_free(&r);
    th_read_status(fd, &r, false, 204, "[pipelined OPTIONS /upload]");
    th_expect_header_for(&r, "Allow", UPLOAD_ALLOW, "[OPTIONS /upload]");
    th_response_free(&r);
    close(fd);
    expect_uploads_dir(&ts, 2, "after the pipelined uploads");
    th_stop(&ts);
}

/* ---- against any server, the external one too: the shared root's uploads/ ---- */

Test(upload, shared_valid_then_get, .timeout = 30)
{
    struct th_server ts;
    struct th_response r;
    char body[256], fp[512];

    th_start(&ts, NULL);
    snprintf(body, sizeof(body),
             "{\"test\": \"shared_valid_then_get\", \"pid\": %ld, \"t\": %.0f, \"list\": [1, "
             "\"two\", null]}",
             (long)getpid(), th_now_ms());
    int fd = th_connect(&ts);
    send_upload(&ts, fd, "/upload?from=shared", "application/json; charset=utf-8", body,
                strlen(body));
    cr_assert_eq(th_read_response(fd, &r, false), 0, "no response to a valid upload");
    expect_created(&ts, &r, body, strlen(body), fp, sizeof(fp), "[shared valid]");
    th_expect_header_for(&r, "Connection", "keep-alive", "[shared 201]");
    th_response_free(&r);
    /* Keep-alive: the GET on the same connection. */
    th_send_get(&ts, fd, fp);
    th_read_status(fd, &r, false, 200, "[GET of the stored file]");
    th_expect_header_for(&r, "Content-Type", "application/json", "[GET of the stored file]");
    cr_expect(r.body_len == strlen(body) && memcmp(r.body, body, r.body_len) == 0,
              "GET %s returned \"%s\", uploaded \"%s\"", fp, r.body, body);
    th_response_free(&r);
    close(fd);

    /* A chunked one. */
    fd = th_connect(&ts);
    send_chunked(&ts, fd, body, strlen(body), 3, false);
    cr_assert_eq(th_read_response(fd, &r, false), 0, "no response to a chunked upload");
    expect_created(&ts, &r, body, strlen(body), fp, sizeof(fp), "[shared chunked]");
    th_response_free(&r);
    close(fd);
    expect_get_same(&ts, fp, body, strlen(body), "[shared chunked]");
    th_stop(&ts);
}

Test(upload, shared_unsupported_type_415, .timeout = 30)
{
    struct th_server ts;
    struct th_response r;

    th_start(&ts, NULL);
    post(&ts, &r, "/upload", "text/plain", "{}", 2, 415, "[text/plain]");
    th_response_free(&r);
    post(&ts, &r, "/upload", NULL, "{}", 2, 415, "[no Content-Type]");
    th_response_free(&r);
    th_stop(&ts);
}

Test(upload, shared_invalid_json_400, .timeout = 30)
{
    struct th_server ts;
    struct th_response r;
    static const char *const bodies[] = {"{\"a\":", "{} x", "{\"a\":1,\"a\":2}", "\xef\xbb\xbf{}"};

    th_start(&ts, NULL);
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        char what[96], show[64];
        snprintf(what, sizeof(what), "[shared invalid: %s]",
                 th_shown(bodies[i], strlen(bodies[i]), show, sizeof(show)));
        post(&ts, &r, "/upload", "Application/JSON", bodies[i], strlen(bodies[i]), 0, what);
        expect_invalid_json(&r, bodies[i], strlen(bodies[i]), what);
        th_response_free(&r);
    }
    th_stop(&ts);
}

/* ---- issue 14: several servers sharing one root ---- */

static unsigned clash_calls;

/* The first two names drawn end in "aaaaaa" (taken, as if another server had stored them);
 * later ones are random. */
static void clashing_random(unsigned char *buf, size_t n)
{
    if (clash_calls++ < 2)
        memset(buf, 0xaa, n);
    else
        uv_random(NULL, NULL, buf, n, 0, NULL);
}

Test(upload, regress_14_name_clash_draws_a_new_suffix, .timeout = 30, .fini = root_cleanup)
{
    th_skip_if_external("replaces the upload name's random source in-process");
    struct th_server ts;
    char fp[512], taken[64][64], log_path[] = "/tmp/uvhttpd-clash-log-XXXXXX";
    size_t n_taken = 0;

    /* The log goes to a file for this test: the clash must be logged. */
    int log_fd = mkstemp(log_path);
    cr_assert(log_fd >= 0);
    fflush(stderr);
    int saved_stderr = dup(2);
    dup2(log_fd, 2);

    start_own(&ts, 0, false);
    uvh_upload_set_random(clashing_random);
    /* Every name the next seconds could draw with the forced digits already exists. */
    time_t now = time(NULL);
    for (time_t t = now - 2; t <= now + 8; t++) {
        struct tm tm;
        gmtime_r(&t, &tm);
        snprintf(taken[n_taken], sizeof(taken[0]),
                 "uploads/upload_%04d%02d%02d_%02d%02d%02d_aaaaaa.json", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        th_write_file(ts.root, taken[n_taken++], "{\"other\": \"server\"}");
    }
    upload_ok(&ts, "application/json", "{\"mine\": 1}", 11, fp, sizeof(fp), "[clash]");
    uvh_upload_set_random(NULL);
    cr_expect(strstr(fp, "aaaaaa") == NULL, "stored under a taken name: %s", fp);
    cr_expect_eq(clash_calls, 3u, "%u names drawn, expected 2 taken and 1 free", clash_calls);
    for (size_t i = 0; i < n_taken; i++) {
        char path[sizeof(ts.root) + 80], buf[64] = "";
        snprintf(path, sizeof(path), "%s/%s", ts.root, taken[i]);
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f, "%s is gone", path);
        size_t got = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        cr_expect(got == 19 && memcmp(buf, "{\"other\": \"server\"}", 19) == 0,
                  "%s overwritten: %s", path, buf);
    }
    expect_uploads_dir(&ts, (int)n_taken + 1, "after the clash");
    th_stop(&ts);

    uvh_log_flush();
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    char log[8192] = "";
    FILE *lf = fopen(log_path, "rb");
    cr_assert_not_null(lf);
    size_t len = fread(log, 1, sizeof(log) - 1, lf);
    fclose(lf);
    close(log_fd);
    unlink(log_path);
    log[len] = '\0';
    cr_expect(strstr(log, "_aaaaaa.json was taken (another server sharing the root?): drew a new "
                          "suffix 2 times"),
              "no clash in the log:\n%s", log);
}
