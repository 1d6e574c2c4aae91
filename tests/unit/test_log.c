/* test_log.c - uvh_log_escape (client bytes made safe for a log line), uvh_log_parse_level, and
 * uvh_log_always (the readiness line at every threshold). */
#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct escape_case {
    struct uvh_slice in;
    const char *out;
};

#define CASE(in, out)                                                                              \
    {                                                                                              \
        UVH_SLICE_INIT(in), out                                                                    \
    }

/* Shows a slice in failure messages without trusting its bytes. */
static const char *show(struct uvh_slice s)
{
    static char buf[256];
    size_t o = 0;
    for (size_t i = 0; i < s.len && o + 5 < sizeof(buf); i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, c >= 0x20 && c < 0x7f ? "%c" : "<%02x>", c);
    }
    buf[o] = '\0';
    return buf;
}

Test(log, escape)
{
    static const struct escape_case cases[] = {
        CASE("", ""),
        CASE("GET /index.html", "GET /index.html"),
        CASE("/a?b=c&d=e~!@#$%^*()[]{}'", "/a?b=c&d=e~!@#$%^*()[]{}'"),
        CASE("a\r\nb", "a\\x0d\\x0ab"),
        CASE("\r\n", "\\x0d\\x0a"),
        CASE("say \"hi\"", "say \\x22hi\\x22"),
        CASE("C:\\dir", "C:\\x5cdir"),
        CASE("\t", "\\x09"),
        CASE("\x1b[31mred", "\\x1b[31mred"),
        CASE("del\x7f", "del\\x7f"),
        CASE("\xff\x80", "\\xff\\x80"),
        CASE("caf\xc3\xa9", "caf\\xc3\\xa9"),
        CASE("a\0b", "a\\x00b"),
    };
    for (size_t i = 0; i < N(cases); i++) {
        char out[256];
        char *ret = uvh_log_escape(out, sizeof(out), cases[i].in);
        cr_assert_eq(ret, out, "escape(\"%s\") did not return dst", show(cases[i].in));
        cr_assert_str_eq(out, cases[i].out, "escape(\"%s\"): expected \"%s\", got \"%s\"",
                         show(cases[i].in), cases[i].out, out);
    }
}

Test(log, escape_output_is_printable)
{
    char in[256];
    for (int i = 0; i < 256; i++)
        in[i] = (char)i;
    char out[2048];
    uvh_log_escape(out, sizeof(out), (struct uvh_slice){in, sizeof(in)});
    for (size_t i = 0; out[i]; i++) {
        unsigned char c = (unsigned char)out[i];
        cr_assert(c >= 0x20 && c < 0x7f && c != '"', "escaped byte %zu is 0x%02x", i, c);
    }
    /* 95 printable bytes minus '"' and '\\' stay, 163 others become four bytes each. */
    cr_assert_eq(strlen(out), (size_t)(93 + 163 * 4), "length %zu", strlen(out));
}

/* What uvh_log_escape produces with enough room. */
static size_t full_escape(struct uvh_slice in, char *out, size_t cap)
{
    uvh_log_escape(out, cap, in);
    return strlen(out);
}

Test(log, escape_truncates_safely)
{
    static const struct uvh_slice inputs[] = {
        UVH_SLICE_INIT("abcdefghijklmnop"),
        UVH_SLICE_INIT("\r\n\r\n\r\n"),
        UVH_SLICE_INIT("ab\x01"
                       "cd\x02"
                       "ef"),
        UVH_SLICE_INIT("\"\\\"\\"),
        UVH_SLICE_INIT("x"),
    };
    for (size_t i = 0; i < N(inputs); i++) {
        char full[256];
        size_t full_len = full_escape(inputs[i], full, sizeof(full));
        for (size_t cap = 1; cap <= 10; cap++) {
            char out[32];
            memset(out, 'Z', sizeof(out));
            uvh_log_escape(out, cap, inputs[i]);
            for (size_t k = cap; k < sizeof(out); k++)
                cr_assert_eq(out[k], 'Z', "escape(\"%s\", cap %zu) wrote byte %zu", show(inputs[i]),
                             cap, k);
            cr_assert_not_null(memchr(out, '\0', cap), "escape(\"%s\", cap %zu): no NUL",
                               show(inputs[i]), cap);
            size_t len = strlen(out);
            cr_assert_lt(len, cap, "escape(\"%s\", cap %zu): length %zu", show(inputs[i]), cap,
                         len);
            if (len == full_len) {
                cr_assert_str_eq(out, full, "escape(\"%s\", cap %zu)", show(inputs[i]), cap);
                continue;
            }
            /* Truncated: a prefix of the full escape, never a split \xNN, then "..." when there
             * is room for it. */
            if (cap >= 4) {
                cr_assert(len >= 3 && strcmp(out + len - 3, "...") == 0,
                          "escape(\"%s\", cap %zu) = \"%s\": truncated without \"...\"",
                          show(inputs[i]), cap, out);
                size_t kept = len - 3;
                cr_assert_eq(strncmp(out, full, kept), 0,
                             "escape(\"%s\", cap %zu) = \"%s\": not a prefix of \"%s\"",
                             show(inputs[i]), cap, out, full);
                cr_assert(kept == 0 || full[kept] != 'x' || full[kept - 1] != '\\',
                          "escape(\"%s\", cap %zu) = \"%s\": split an escape", show(inputs[i]), cap,
                          out);
                for (size_t k = kept; k > 0 && k + 3 > kept; k--)
                    cr_assert(full[k - 1] != '\\', "escape(\"%s\", cap %zu) = \"%s\": split \\xNN",
                              show(inputs[i]), cap, out);
            } else {
                cr_assert_eq(len, 0u, "escape(\"%s\", cap %zu) = \"%s\"", show(inputs[i]), cap,
                             out);
            }
        }
    }
}

Test(log, escape_cap_zero_writes_nothing)
{
    char out[4] = {'Z', 'Z', 'Z', 'Z'};
    char *ret = uvh_log_escape(out, 0, UVH_SLICE_LIT("abc"));
    cr_assert_eq(ret, out);
    for (size_t k = 0; k < sizeof(out); k++)
        cr_assert_eq(out[k], 'Z', "cap 0 wrote byte %zu", k);
}

Test(log, escape_fits_exactly)
{
    /* A result that fits, NUL included, is copied whole: no "..." when nothing was cut. */
    static const struct escape_case cases[] = {
        CASE("ab", "ab"),
        CASE("abcdef", "abcdef"),
        CASE("a\r", "a\\x0d"),
    };
    for (size_t i = 0; i < N(cases); i++) {
        size_t need = strlen(cases[i].out) + 1;
        for (size_t cap = need; cap < need + 4; cap++) {
            char out[64];
            uvh_log_escape(out, cap, cases[i].in);
            cr_assert_str_eq(out, cases[i].out,
                             "escape(\"%s\", cap %zu): expected \"%s\" (it fits), got \"%s\"",
                             show(cases[i].in), cap, cases[i].out, out);
        }
    }
}

Test(log, escape_long_input_is_truncated)
{
    char in[1000];
    memset(in, 'a', sizeof(in));
    char out[64];
    uvh_log_escape(out, sizeof(out), (struct uvh_slice){in, sizeof(in)});
    cr_assert_eq(strlen(out), sizeof(out) - 1, "length %zu", strlen(out));
    cr_assert_str_eq(out + sizeof(out) - 4, "...");
}

Test(log, parse_level)
{
    static const struct {
        const char *s;
        enum uvh_log_level level;
    } ok[] = {{"error", UVH_LOG_ERROR},
              {"warn", UVH_LOG_WARN},
              {"info", UVH_LOG_INFO},
              {"debug", UVH_LOG_DEBUG}};
    for (size_t i = 0; i < N(ok); i++) {
        enum uvh_log_level level = (enum uvh_log_level)99;
        cr_assert_eq(uvh_log_parse_level(ok[i].s, &level), 0, "parse_level(\"%s\") failed",
                     ok[i].s);
        cr_assert_eq(level, ok[i].level, "parse_level(\"%s\") gave %d", ok[i].s, level);
    }

    static const char *const bad[] = {"",      "verbose", "warning", "err", "info ",
                                      "DEBUG", "Info",    "trace",   "0"};
    for (size_t i = 0; i < N(bad); i++) {
        enum uvh_log_level level = UVH_LOG_WARN;
        cr_assert_eq(uvh_log_parse_level(bad[i], &level), UV_EINVAL,
                     "parse_level(\"%s\") accepted it", bad[i]);
        cr_assert_eq(level, UVH_LOG_WARN, "parse_level(\"%s\") changed the output", bad[i]);
    }
}

static void redirect_stderr(void)
{
    cr_redirect_stderr();
}

/* The readiness line is written at every threshold, in the format of every other line; uvh_log
 * below the threshold writes nothing. */
Test(log, always_ignores_the_threshold, .init = redirect_stderr)
{
    static const char want[] = " [info] HTTP Server started on http://127.0.0.1:8080\n";
    static const char stamp[] = "[dddd-dd-dd dd:dd:dd]";
    enum uvh_log_level saved = uvh_log_threshold;

    uvh_log_threshold = UVH_LOG_ERROR;
    uvh_log(UVH_LOG_INFO, "hidden %d", 1);
    uvh_log(UVH_LOG_WARN, "hidden %d", 2);
    uvh_log_always(UVH_LOG_INFO, "HTTP Server started on %s", "http://127.0.0.1:8080");
    uvh_log_flush();
    uvh_log_threshold = saved;
    fclose(stderr);

    char got[256];
    size_t n = fread(got, 1, sizeof(got) - 1, cr_get_redirected_stderr());
    got[n] = '\0';
    cr_assert_eq(n, strlen(stamp) + strlen(want), "stderr was \"%s\"", got);
    for (size_t i = 0; i < strlen(stamp); i++) {
        bool ok = stamp[i] == 'd' ? got[i] >= '0' && got[i] <= '9' : got[i] == stamp[i];
        cr_assert(ok, "timestamp byte %zu of \"%s\"", i, got);
    }
    cr_assert_str_eq(got + strlen(stamp), want);
}

/* Issue 13: with several loops, each line names its loop: "[w2#17]" for a connection's line,
 * "[w2]" for the loop's own; a thread with no worker number keeps "[#17]". */
Test(log, worker_named_in_lines, .init = redirect_stderr)
{
    uvh_log_set_worker(2);
    uvh_clog(UVH_LOG_WARN, 17, "conn %d", 1);
    uvh_log(UVH_LOG_WARN, "loop %d", 2);
    uvh_log_set_worker(0);
    uvh_clog(UVH_LOG_WARN, 17, "conn %d", 3);
    uvh_log_flush();
    fclose(stderr);

    char got[512];
    size_t n = fread(got, 1, sizeof(got) - 1, cr_get_redirected_stderr());
    got[n] = '\0';
    cr_assert_not_null(strstr(got, "] [warn] [w2#17] conn 1\n"), "stderr was \"%s\"", got);
    cr_assert_not_null(strstr(got, "] [warn] [w2] loop 2\n"), "stderr was \"%s\"", got);
    cr_assert_not_null(strstr(got, "] [warn] [#17] conn 3\n"), "stderr was \"%s\"", got);
}

struct burst {
    unsigned worker;
    uv_barrier_t *go;
};

static void log_burst(void *arg)
{
    struct burst *b = arg;
    uvh_log_set_worker(b->worker);
    uv_barrier_wait(b->go);
    for (int i = 0; i < 2000; i++)
        uvh_clog(UVH_LOG_WARN, (uint64_t)i + 1, "%0*d", 40 + i % 200, 0);
}

/* Lines logged by several loops at once never mix: every line is whole, and every line of
 * every thread is there (the batches are swapped and written in order, none lost). */
Test(log, lines_from_threads_never_interleave)
{
    enum { THREADS = 4 };
    uv_thread_t t[THREADS];
    struct burst b[THREADS];
    uv_barrier_t go;

    /* A file, not criterion's redirect: its pipe would not hold 8000 lines. */
    FILE *f = tmpfile();
    cr_assert_not_null(f);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    cr_assert_eq(dup2(fileno(f), STDERR_FILENO), STDERR_FILENO);
    cr_assert_eq(uv_barrier_init(&go, THREADS), 0);
    for (unsigned i = 0; i < THREADS; i++) {
        b[i] = (struct burst){i + 1, &go};
        cr_assert_eq(uv_thread_create(&t[i], log_burst, &b[i]), 0);
    }
    for (unsigned i = 0; i < THREADS; i++)
        uv_thread_join(&t[i]);
    uv_barrier_destroy(&go);
    uvh_log_flush();
    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(f);

    char line[1024];
    unsigned counts[THREADS + 1] = {0};
    while (fgets(line, sizeof(line), f)) {
        unsigned w, id;
        int zeros_at = 0;
        cr_assert_eq(sscanf(line, "[%*[0-9-] %*[0-9:]] [warn] [w%u#%u] %n", &w, &id, &zeros_at), 2,
                     "mixed line: %s", line);
        cr_assert(w >= 1 && w <= THREADS, "line: %s", line);
        size_t zeros = strspn(line + zeros_at, "0");
        cr_assert_eq(zeros, 40 + (id - 1) % 200, "line of w%u #%u cut or mixed: %s", w, id, line);
        cr_assert_str_eq(line + zeros_at + zeros, "\n", "line: %s", line);
        counts[w]++;
    }
    for (unsigned i = 1; i <= THREADS; i++)
        cr_expect_eq(counts[i], 2000, "w%u: %u of 2000 lines", i, counts[i]);
}
