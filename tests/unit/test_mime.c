/* test_mime.c - uvh_mime_lookup: the default table, case folding, names without a usable
 * extension, and --mime overrides. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "mime.h"

#define HTML "text/html; charset=utf-8"
#define OCTET "application/octet-stream"

struct mime_case {
    const char *name;
    const char *type; /* NULL: not in the table */
    bool download;
};

static void check_cases(const struct uvh_config *cfg, const struct mime_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct mime_case *c = &cases[i];
        struct uvh_mime_type m = uvh_mime_lookup(cfg, uvh_slice_from(c->name));
        if (c->type == NULL) {
            cr_assert_null(m.type, "lookup(\"%s\"): expected no type, got \"%s\"", c->name, m.type);
            cr_assert_not(m.download, "lookup(\"%s\"): download set without a type", c->name);
            continue;
        }
        cr_assert_not_null(m.type, "lookup(\"%s\"): expected \"%s\", got NULL", c->name, c->type);
        cr_assert_str_eq(m.type, c->type, "lookup(\"%s\"): expected \"%s\", got \"%s\"", c->name,
                         c->type, m.type);
        cr_assert_eq(m.download, c->download, "lookup(\"%s\"): expected download=%d, got %d",
                     c->name, c->download, m.download);
    }
}

Test(mime, defaults)
{
    static const struct mime_case cases[] = {
        {"index.html", HTML, false},
        {"page.htm", HTML, false},
        {"notes.txt", OCTET, true},
        {"logo.png", OCTET, true},
        {"photo.jpg", OCTET, true},
        {"photo.jpeg", OCTET, true},
        {"data.json", "application/json", false},
        {"dir/sub/deep.json", "application/json", false},
        {"archive.tar.html", HTML, false},
    };
    check_cases(NULL, cases, sizeof(cases) / sizeof(cases[0]));
    check_cases(&uvh_config_defaults, cases, sizeof(cases) / sizeof(cases[0]));
}

Test(mime, case_insensitive)
{
    static const struct mime_case cases[] = {
        {"LOGO.PNG", OCTET, true}, {"Index.HTML", HTML, false},
        {"page.HtM", HTML, false}, {"DATA.Json", "application/json", false},
        {"IMG.JPEG", OCTET, true},
    };
    check_cases(&uvh_config_defaults, cases, sizeof(cases) / sizeof(cases[0]));
}

Test(mime, unknown_or_no_extension)
{
    static const struct mime_case cases[] = {
        {"style.css", NULL, false},  {"README", NULL, false},
        {"file.", NULL, false},      {".hidden", NULL, false},
        {"a.dir/file", NULL, false}, {"a.html/file", NULL, false},
        {"dir.png/", NULL, false},   {"", NULL, false},
        {"html", NULL, false},       {"x.htmlx", NULL, false},
        {"x.ht", NULL, false},       {"x.verylongextension12345", NULL, false},
    };
    check_cases(&uvh_config_defaults, cases, sizeof(cases) / sizeof(cases[0]));
}

Test(mime, slice_is_not_read_past_its_length)
{
    /* The slice ends before ".html": only "index" is looked up. */
    const char buf[] = "index.html";
    struct uvh_mime_type m = uvh_mime_lookup(NULL, (struct uvh_slice){buf, 5});
    cr_assert_null(m.type, "lookup of \"index\" (prefix of \"index.html\") found \"%s\"", m.type);

    /* The slice ends right after ".png" of a longer buffer. */
    const char buf2[] = "logo.pngXYZ";
    m = uvh_mime_lookup(NULL, (struct uvh_slice){buf2, 8});
    cr_assert_not_null(m.type, "lookup of \"logo.png\" inside a longer buffer found nothing");
    cr_assert_str_eq(m.type, OCTET);
}

static void add_override(struct uvh_config *cfg, const char *ext, const char *type)
{
    cr_assert_lt(cfg->n_mime, (size_t)UVH_MIME_OVERRIDES_MAX);
    cfg->mime[cfg->n_mime].ext = ext;
    cfg->mime[cfg->n_mime].type = type;
    cfg->n_mime++;
}

Test(mime, overrides)
{
    struct uvh_config cfg = uvh_config_defaults;
    add_override(&cfg, "css", "text/css");
    add_override(&cfg, "png", "image/png");
    add_override(&cfg, "html", OCTET);
    add_override(&cfg, "WASM", "application/wasm");

    static const struct mime_case cases[] = {
        {"style.css", "text/css", false},
        {"STYLE.CSS", "text/css", false},
        {"logo.png", "image/png", false}, /* no longer a download */
        {"index.html", OCTET, true},      /* octet-stream means a download */
        {"page.htm", HTML, false},        /* untouched defaults still apply */
        {"data.json", "application/json", false},
        {"app.wasm", "application/wasm", false},
        {"unknown.xyz", NULL, false},
    };
    check_cases(&cfg, cases, sizeof(cases) / sizeof(cases[0]));
}

Test(mime, later_override_wins)
{
    struct uvh_config cfg = uvh_config_defaults;
    add_override(&cfg, "css", "text/plain");
    add_override(&cfg, "txt", "text/plain; charset=utf-8");
    add_override(&cfg, "css", "text/css");
    add_override(&cfg, "txt", OCTET);

    static const struct mime_case cases[] = {
        {"a.css", "text/css", false},
        {"a.txt", OCTET, true},
    };
    check_cases(&cfg, cases, sizeof(cases) / sizeof(cases[0]));
}

Test(mime, full_override_table)
{
    static char exts[UVH_MIME_OVERRIDES_MAX][8];
    struct uvh_config cfg = uvh_config_defaults;
    for (int i = 0; i < UVH_MIME_OVERRIDES_MAX; i++) {
        snprintf(exts[i], sizeof(exts[i]), "e%d", i);
        add_override(&cfg, exts[i], i % 2 ? OCTET : "text/x-test");
    }
    for (int i = 0; i < UVH_MIME_OVERRIDES_MAX; i++) {
        char name[32];
        snprintf(name, sizeof(name), "f.%.7s", exts[i]);
        struct uvh_mime_type m = uvh_mime_lookup(&cfg, uvh_slice_from(name));
        cr_assert_not_null(m.type, "lookup(\"%s\") found nothing", name);
        cr_assert_str_eq(m.type, i % 2 ? OCTET : "text/x-test", "lookup(\"%s\"): got \"%s\"", name,
                         m.type);
        cr_assert_eq(m.download, i % 2 == 1, "lookup(\"%s\"): download=%d", name, m.download);
    }
}
