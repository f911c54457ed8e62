/* check_tpl.c - unit tests for app/web/tpl.c: the official mustache spec
 * files (MUSTACHE_SPEC_DIR, default ../shared/mustache-spec) plus our own
 * tables for escaping, sections, parse errors, limits and template dirs. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "web/tpl.h"

/* ---- helpers ------------------------------------------------------------ */

static json_t *js(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    ck_assert_msg(v != NULL, "bad test JSON '%s': %s", text, jerr.text);
    return v;
}

/* Render src against data (JSON text) and partials (JSON text or NULL).
 * Returns the code; *got is a heap string the caller frees. */
static sl_err render(const char *src, const char *data, const char *partials, char **got,
                     sl_errbuf *eb)
{
    json_t *d = js(data);
    json_t *p = partials ? js(partials) : NULL;
    sbuf out;
    sb_init(&out, NULL, 1 << 20);
    sl_errbuf local;
    sl_errbuf_clear(&local);
    sl_err e = tpl_render_string(src, strlen(src), d, p, &out, eb ? eb : &local);
    *got = strdup(sb_str(&out));
    sb_free(&out);
    json_decref(d);
    json_decref(p);
    return e;
}

static void expect(const char *src, const char *data, const char *partials, const char *want)
{
    char *got;
    sl_errbuf eb;
    sl_errbuf_clear(&eb);
    sl_err e = render(src, data, partials, &got, &eb);
    ck_assert_msg(e == SL_OK, "render of '%s' failed: %s", src, eb.msg);
    ck_assert_msg(strcmp(got, want) == 0, "template '%s'\n want '%s'\n  got '%s'", src, want,
                  got);
    free(got);
}

/* ---- the official spec -------------------------------------------------- */

static const char *spec_files[] = {
    "comments.json",  "delimiters.json", "interpolation.json", "inverted.json",
    "partials.json",  "sections.json",   "~inheritance.json",
};
#define N_SPEC_FILES (sizeof spec_files / sizeof spec_files[0])

static const char *spec_dir(void)
{
    const char *d = getenv("MUSTACHE_SPEC_DIR");
    return d && *d ? d : "../shared/mustache-spec";
}

static int in_ci(void)
{
    const char *ci = getenv("CI");
    return ci && strcmp(ci, "true") == 0;
}

START_TEST(test_spec_file)
{
    const char *dir = spec_dir();
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        ck_assert_msg(!in_ci(), "mustache spec dir %s is missing (CI=true)", dir);
        if (_i == 0)
            printf("mustache spec: SKIPPED, no directory %s (set MUSTACHE_SPEC_DIR)\n", dir);
        return;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, spec_files[_i]);
    json_error_t jerr;
    json_t *spec = json_load_file(path, 0, &jerr);
    ck_assert_msg(spec != NULL, "cannot load %s: %s", path, jerr.text);
    json_t *tests = json_object_get(spec, "tests");
    ck_assert_msg(json_is_array(tests) && json_array_size(tests) > 0, "%s has no tests", path);

    size_t pass = 0, total = json_array_size(tests);
    for (size_t k = 0; k < total; k++) {
        json_t *t = json_array_get(tests, k);
        const char *name = json_string_value(json_object_get(t, "name"));
        json_t *tpl = json_object_get(t, "template");
        json_t *want = json_object_get(t, "expected");
        ck_assert(json_is_string(tpl) && json_is_string(want));
        sbuf out;
        sb_init(&out, NULL, 1 << 20);
        sl_errbuf eb;
        sl_errbuf_clear(&eb);
        sl_err e = tpl_render_string(json_string_value(tpl), json_string_length(tpl),
                                     json_object_get(t, "data"), json_object_get(t, "partials"),
                                     &out, &eb);
        if (e == SL_OK && out.len == json_string_length(want) &&
            memcmp(sb_str(&out), json_string_value(want), out.len) == 0) {
            pass++;
        } else {
            char *w = json_dumps(want, JSON_ENCODE_ANY);
            json_t *g = json_stringn(sb_str(&out), out.len);
            char *gs = g ? json_dumps(g, JSON_ENCODE_ANY) : NULL;
            fprintf(stderr, "mustache spec: %s: FAIL '%s': %s\n  want %s\n  got  %s\n",
                    spec_files[_i], name ? name : "?", e ? eb.msg : "wrong output", w,
                    gs ? gs : "(invalid UTF-8)");
            free(w);
            free(gs);
            json_decref(g);
        }
        sb_free(&out);
    }
    printf("mustache spec: %s %zu/%zu\n", spec_files[_i], pass, total);
    fflush(stdout);
    json_decref(spec);
    ck_assert_uint_eq(pass, total);
}
END_TEST

/* ---- our tables ----------------------------------------------------------- */

struct case_ {
    const char *src, *data, *partials, *want;
};

static const struct case_ cases[] = {
    /* escaping is the default; raw output paths are separate */
    {"{{x}}", "{\"x\": \"<a href='x'>&\\\"</a>\"}", NULL,
     "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"},
    {"{{{x}}}|{{&x}}", "{\"x\": \"<b>'&'</b>\"}", NULL, "<b>'&'</b>|<b>'&'</b>"},
    {"{{x}}", "{\"x\": \"plain text\"}", NULL, "plain text"},
    {"{{x}}", "{\"x\": \"caf\\u00e9 \\u2603\"}", NULL, "caf\xc3\xa9 \xe2\x98\x83"},
    /* numbers, booleans, null, containers */
    {"{{a}} {{b}} {{c}} {{d}} {{e}} {{f}}", "{\"a\":1.5,\"b\":3,\"c\":-0.25,\"d\":100.0,"
     "\"e\":0.1,\"f\":-7}", NULL, "1.5 3 -0.25 100 0.1 -7"},
    {"{{a}} {{b}}", "{\"a\":123456789012,\"b\":1e21}", NULL, "123456789012 1e+21"},
    {"[{{t}}|{{f}}|{{n}}|{{o}}|{{l}}]", "{\"t\":true,\"f\":false,\"n\":null,\"o\":{},\"l\":[1]}",
     NULL, "[true|false|||]"},
    /* truthiness: false, null, missing, [] falsy; 0, "", {} truthy */
    {"{{#z}}0{{/z}}{{#s}}s{{/s}}{{#o}}o{{/o}}{{#l}}l{{/l}}{{#f}}f{{/f}}{{#n}}n{{/n}}{{#m}}m{{/m}}",
     "{\"z\":0,\"s\":\"\",\"o\":{},\"l\":[],\"f\":false,\"n\":null}", NULL, "0so"},
    {"{{^l}}empty{{/l}}{{^m}}!{{/m}}", "{\"l\":[]}", NULL, "empty!"},
    /* nested sections and the context stack */
    {"{{#users}}{{name}}:{{#roles}}[{{.}}@{{org}}]{{/roles}};{{/users}}",
     "{\"org\":\"acme\",\"users\":[{\"name\":\"ann\",\"roles\":[\"admin\",\"dev\"]},"
     "{\"name\":\"bob\",\"roles\":[]}]}", NULL, "ann:[admin@acme][dev@acme];bob:;"},
    {"<ul>\n{{#rows}}\n  <li>{{id}}</li>\n{{/rows}}\n</ul>\n",
     "{\"rows\":[{\"id\":1},{\"id\":2}]}", NULL, "<ul>\n  <li>1</li>\n  <li>2</li>\n</ul>\n"},
    {"{{#a.b}}{{c}}{{/a.b}}", "{\"a\":{\"b\":{\"c\":\"deep\"}}}", NULL, "deep"},
    /* partials: indentation applies to template lines, not to values */
    {"<div>\n  {{>row}}\n</div>", "{\"v\":\"x\\ny\"}", "{\"row\":\"<p>{{v}}</p>\\n<hr>\\n\"}",
     "<div>\n  <p>x\ny</p>\n  <hr>\n</div>"},
    {"{{>missing}}|", "{}", NULL, "|"},
    /* inheritance, layout style */
    {"{{<layout}}{{$title}}Users{{/title}}\n{{$body}}\n<p>{{n}}</p>\n{{/body}}\n{{/layout}}",
     "{\"n\":2}",
     "{\"layout\":\"<title>{{$title}}sluice{{/title}}</title>\\n<main>\\n  {{$body}}\\n  {{/body}}"
     "\\n</main>\\n\"}",
     "<title>Users</title>\n<main>\n  <p>2</p>\n</main>\n"},
    {"{{<layout}}{{/layout}}", "{}", "{\"layout\":\"<title>{{$title}}sluice{{/title}}</title>\"}",
     "<title>sluice</title>"},
    {"{{<l}}{{$c}}hi{{/c}}{{/l}}", "{}", "{\"l\":\"<main>\\n{{$c}}{{/c}}\\n</main>\"}",
     "<main>\nhi\n</main>"},
    {"<body>\n  {{<l}}{{$c}}\n<p>\n  x\n</p>\n{{/c}}{{/l}}\n</body>", "{}",
     "{\"l\":\"<main>\\n  {{$c}}\\n  {{/c}}\\n</main>\\n\"}",
     "<body>\n  <main>\n    <p>\n      x\n    </p>\n  </main>\n</body>"},
    /* comments and delimiters */
    {"a{{! x }}b{{=<% %>=}}<% v %>{{v}}", "{\"v\":1}", NULL, "ab1{{v}}"},
};

START_TEST(test_table)
{
    const struct case_ *c = &cases[_i];
    expect(c->src, c->data, c->partials, c->want);
}
END_TEST

START_TEST(test_escape_html)
{
    sbuf b;
    sb_init(&b, NULL, 1000);
    ck_assert_int_eq(tpl_escape_html(&b, "a&b<c>d\"e'f", 11), SL_OK);
    ck_assert_str_eq(sb_str(&b), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
    sb_clear(&b);
    ck_assert_int_eq(tpl_escape_html(&b, "x\0<", 3), SL_OK);
    ck_assert_uint_eq(b.len, 6);
    ck_assert_int_eq(memcmp(b.ptr, "x\0&lt;", 7), 0);
    sb_free(&b);

    /* at the cap: error, and the buffer is left as it was */
    sb_init(&b, NULL, 8);
    ck_assert_int_eq(sb_puts(&b, "ok"), SL_OK);
    ck_assert_int_eq(tpl_escape_html(&b, "<<", 2), SL_ETOOBIG);
    ck_assert_str_eq(sb_str(&b), "ok");
    sb_free(&b);
}
END_TEST

struct perr_case {
    const char *src;
    const char *want[3]; /* substrings of the message */
};

static const struct perr_case perrs[] = {
    {"ok\n{{#rows}}\n  x\n", {"line 2", "column 1", "unclosed section '{{#rows}}'"}},
    {"a\n\n  {{#a}}{{/b}}", {"line 3", "column 9", "does not match '{{#a}}'"}},
    {"x\n  {{name", {"line 2", "column 3", "unclosed tag"}},
    {"{{{x}}", {"line 1", "column 1", "unclosed tag"}},
    {"text {{/a}}", {"line 1", "column 6", "without an opening tag"}},
    {"{{}}", {"line 1", "empty tag", NULL}},
    {"{{a b}}", {"line 1", "invalid tag name", NULL}},
    {"{{a..b}}", {"line 1", "invalid dotted name", NULL}},
    {"{{=<%=}}", {"line 1", "two delimiters", NULL}},
    {"{{<p}}{{$b}}{{/p}}", {"line 1", "column 13", "does not match '{{$b}}'"}},
    {"{{=<% %>=}}\n<%#a%>", {"line 2", "unclosed section", NULL}},
};

START_TEST(test_parse_errors)
{
    const struct perr_case *pc = &perrs[_i];
    tpl_set *s = tpl_set_new();
    sl_errbuf eb;
    sl_errbuf_clear(&eb);
    ck_assert_int_eq(tpl_set_add(s, "users/list", pc->src, strlen(pc->src), &eb), SL_EPARSE);
    ck_assert_int_eq(eb.code, SL_EPARSE);
    ck_assert_msg(strstr(eb.msg, "template 'users/list'") != NULL, "message: %s", eb.msg);
    for (int k = 0; k < 3 && pc->want[k]; k++)
        ck_assert_msg(strstr(eb.msg, pc->want[k]) != NULL, "'%s' not in '%s'", pc->want[k],
                      eb.msg);
    ck_assert(!tpl_set_has(s, "users/list"));
    tpl_set_free(s);
}
END_TEST

START_TEST(test_nesting_limit)
{
    size_t n = TPL_MAX_NEST + 1;
    sbuf src;
    sb_init(&src, NULL, 1 << 20);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(sb_puts(&src, "{{#a}}"), SL_OK);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(sb_puts(&src, "{{/a}}"), SL_OK);
    tpl_set *s = tpl_set_new();
    sl_errbuf eb;
    ck_assert_int_eq(tpl_set_add(s, "deep", src.ptr, src.len, &eb), SL_EPARSE);
    ck_assert_ptr_nonnull(strstr(eb.msg, "nested deeper"));
    /* one level less compiles and renders */
    ck_assert_int_eq(tpl_set_add(s, "ok", src.ptr + 6, src.len - 12, &eb), SL_OK);
    sb_free(&src);
    tpl_set_free(s);
}
END_TEST

START_TEST(test_output_cap)
{
    json_t *d = js("{\"x\":\"0123456789abcdef\", \"l\":[1,2,3,4,5,6,7,8,9]}");
    sbuf out;
    sb_init(&out, NULL, 10);
    ck_assert_int_eq(sb_puts(&out, "pre"), SL_OK);
    sl_errbuf eb;
    sl_errbuf_clear(&eb);
    const char *t1 = "{{x}}";
    ck_assert_int_eq(tpl_render_string(t1, strlen(t1), d, NULL, &out, &eb), SL_ETOOBIG);
    ck_assert_ptr_nonnull(strstr(eb.msg, "exceeds 10 bytes"));
    ck_assert_str_eq(sb_str(&out), "pre"); /* truncated back */
    const char *t2 = "{{#l}}<{{.}}>{{/l}}";
    ck_assert_int_eq(tpl_render_string(t2, strlen(t2), d, NULL, &out, &eb), SL_ETOOBIG);
    ck_assert_str_eq(sb_str(&out), "pre");
    const char *t3 = "{{{x}}}";
    ck_assert_int_eq(tpl_render_string(t3, strlen(t3), d, NULL, &out, &eb), SL_ETOOBIG);
    const char *t4 = "ab{{l.0}}";
    ck_assert_int_eq(tpl_render_string(t4, strlen(t4), d, NULL, &out, &eb), SL_OK);
    ck_assert_str_eq(sb_str(&out), "preab");
    sb_free(&out);
    json_decref(d);
}
END_TEST

START_TEST(test_partial_recursion)
{
    char *got;
    sl_errbuf eb;
    sl_errbuf_clear(&eb);
    ck_assert_int_eq(render("{{>p}}", "{}", "{\"p\":\"x{{>p}}\"}", &got, &eb), SL_ETOOBIG);
    ck_assert_ptr_nonnull(strstr(eb.msg, "partials nested deeper than 64"));
    ck_assert_str_eq(got, "");
    free(got);
    /* mutual recursion through parents */
    ck_assert_int_eq(render("{{<a}}{{/a}}", "{}", "{\"a\":\"{{<b}}{{/b}}\",\"b\":\"{{>a}}\"}",
                            &got, &eb),
                     SL_ETOOBIG);
    free(got);
    /* a block that expands itself */
    ck_assert_int_eq(render("{{<p}}{{$a}}[{{$a}}{{/a}}]{{/a}}{{/p}}", "{}",
                            "{\"p\":\"{{$a}}{{/a}}\"}", &got, &eb),
                     SL_ETOOBIG);
    free(got);
    /* data-driven recursion that ends is fine */
    expect("{{>node}}", "{\"n\":1,\"kids\":[{\"n\":2,\"kids\":[{\"n\":3,\"kids\":[]}]}]}",
           "{\"node\":\"{{n}}({{#kids}}{{>node}}{{/kids}})\"}", "1(2(3()))");
}
END_TEST

START_TEST(test_step_limit)
{
    /* 30^3 expansions against a cap of 10000 steps */
    tpl_set *s = tpl_set_new();
    sl_errbuf eb;
    const char *p = "{{#l}}{{#l}}{{#l}}x{{/l}}{{/l}}{{/l}}";
    ck_assert_int_eq(tpl_set_add(s, "p", p, strlen(p), &eb), SL_OK);
    json_t *d = json_pack("{s:[iiiiiiiiiiiiiiiiiiiiiiiiiiiiii]}", "l", 1, 2, 3, 4, 5, 6, 7, 8, 9,
                          10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27,
                          28, 29, 30);
    ck_assert_ptr_nonnull(d);
    sbuf out;
    sb_init(&out, NULL, 1 << 20);
    ck_assert_int_eq(tpl_render(s, "p", d, &out, &eb), SL_OK);
    ck_assert_uint_eq(out.len, 27000);
    sb_clear(&out);
    tpl_set_max_steps(s, 10000);
    ck_assert_int_eq(tpl_render(s, "p", d, &out, &eb), SL_ETOOBIG);
    ck_assert_ptr_nonnull(strstr(eb.msg, "exceeded 10000 steps"));
    ck_assert_uint_eq(out.len, 0);
    json_decref(d);
    /* exponential partials stop at the depth or step cap, whichever comes first */
    const char *q = "{{>q}}{{>q}}";
    ck_assert_int_eq(tpl_set_add(s, "q", q, strlen(q), &eb), SL_OK);
    ck_assert_int_eq(tpl_render(s, "q", NULL, &out, &eb), SL_ETOOBIG);
    ck_assert_uint_eq(out.len, 0);
    sb_free(&out);
    tpl_set_free(s);
}
END_TEST

START_TEST(test_compile_once_render_many)
{
    tpl_set *s = tpl_set_new();
    sl_errbuf eb;
    const char *src = "Hello {{who}}{{#n}} x{{n}}{{/n}}!";
    ck_assert_int_eq(tpl_set_add(s, "greet", src, strlen(src), &eb), SL_OK);
    ck_assert(tpl_set_has(s, "greet"));
    ck_assert(!tpl_set_has(s, "nope"));
    const char *datas[] = {"{\"who\":\"ann\"}", "{\"who\":\"<bob>\",\"n\":2}", "null"};
    const char *wants[] = {"Hello ann!", "Hello &lt;bob&gt; x2!", "Hello !"};
    for (int k = 0; k < 3; k++) {
        json_t *d = js(datas[k]);
        sbuf out;
        sb_init(&out, NULL, 1000);
        ck_assert_int_eq(tpl_render(s, "greet", d, &out, &eb), SL_OK);
        ck_assert_str_eq(sb_str(&out), wants[k]);
        sb_free(&out);
        json_decref(d);
    }
    sbuf out;
    sb_init(&out, NULL, 1000);
    ck_assert_int_eq(tpl_render(s, "nope", NULL, &out, &eb), SL_ENOTFOUND);
    ck_assert_int_eq(tpl_render(s, "greet", NULL, &out, &eb), SL_OK);
    ck_assert_str_eq(sb_str(&out), "Hello !");
    /* replacing a template */
    ck_assert_int_eq(tpl_set_add(s, "greet", "bye", 3, &eb), SL_OK);
    sb_clear(&out);
    ck_assert_int_eq(tpl_render(s, "greet", NULL, &out, &eb), SL_OK);
    ck_assert_str_eq(sb_str(&out), "bye");
    ck_assert_int_eq(tpl_set_add(s, "", "x", 1, &eb), SL_EINVAL);
    sb_free(&out);
    tpl_set_free(s);
}
END_TEST

START_TEST(test_many_templates)
{
    tpl_set *s = tpl_set_new();
    sl_errbuf eb;
    char name[32], src[64];
    for (int k = 0; k < 300; k++) {
        snprintf(name, sizeof name, "t%d", k);
        snprintf(src, sizeof src, "<%d>{{>t%d}}", k, k + 1);
        ck_assert_int_eq(tpl_set_add(s, name, src, strlen(src), &eb), SL_OK);
    }
    for (int k = 0; k < 300; k++) {
        snprintf(name, sizeof name, "t%d", k);
        ck_assert(tpl_set_has(s, name));
    }
    sbuf out;
    sb_init(&out, NULL, 1000);
    ck_assert_int_eq(tpl_render(s, "t290", NULL, &out, &eb), SL_OK);
    ck_assert_str_eq(sb_str(&out), "<290><291><292><293><294><295><296><297><298><299>");
    sb_free(&out);
    tpl_set_free(s);
}
END_TEST

START_TEST(test_render_string_bad_partials)
{
    char *got;
    sl_errbuf eb;
    ck_assert_int_eq(render("x", "{}", "{\"p\":1}", &got, &eb), SL_EINVAL);
    free(got);
    ck_assert_int_eq(render("x", "{}", "[]", &got, &eb), SL_EINVAL);
    free(got);
    ck_assert_int_eq(render("x", "{}", "{\"p\":\"{{#a}}\"}", &got, &eb), SL_EPARSE);
    ck_assert_ptr_nonnull(strstr(eb.msg, "template 'p'"));
    free(got);
}
END_TEST

static void write_file(const char *dir, const char *rel, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "fopen %s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
}

START_TEST(test_load_dir)
{
    char dir[] = "/tmp/check_tpl_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/partials", dir);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    snprintf(sub, sizeof sub, "%s/users", dir);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    snprintf(sub, sizeof sub, "%s/layouts", dir);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    write_file(dir, "layout.mustache",
               "<html>\n<nav>{{>partials/nav}}</nav>\n<main>{{$content}}default{{/content}}</main>"
               "\n</html>\n");
    write_file(dir, "layouts/app.mustache",
               "<html>\n<main>\n  {{$content}}\n  default\n  {{/content}}\n</main>\n</html>\n");
    write_file(dir, "partials/nav.mustache", "{{#user}}{{name}}{{/user}}");
    write_file(dir, "page.mustache", "{{<layout}}{{$content}}hi{{/content}}{{/layout}}");
    write_file(dir, "users/list.mustache",
               "{{<layouts/app}}\n{{$content}}\n<ul>\n{{#users}}\n  <li>{{name}}</li>\n"
               "{{/users}}\n</ul>\n{{/content}}\n{{/layouts/app}}\n");
    write_file(dir, "README.txt", "not a template {{");
    write_file(dir, ".hidden.mustache", "{{#broken");

    tpl_set *s = tpl_set_new();
    sl_errbuf eb;
    sl_errbuf_clear(&eb);
    ck_assert_msg(tpl_set_load_dir(s, dir, &eb) == SL_OK, "load_dir: %s", eb.msg);
    ck_assert(tpl_set_has(s, "layout"));
    ck_assert(tpl_set_has(s, "layouts/app"));
    ck_assert(tpl_set_has(s, "partials/nav"));
    ck_assert(tpl_set_has(s, "users/list"));
    ck_assert(tpl_set_has(s, "page"));
    ck_assert(!tpl_set_has(s, "nav"));
    ck_assert(!tpl_set_has(s, "README"));
    ck_assert(!tpl_set_has(s, ".hidden"));

    json_t *d = js("{\"user\":{\"name\":\"ann\"},"
                   "\"users\":[{\"name\":\"<x>\"},{\"name\":\"y\"}]}");
    sbuf out;
    sb_init(&out, NULL, 4096);
    ck_assert_int_eq(tpl_render(s, "page", d, &out, &eb), SL_OK);
    ck_assert_str_eq(sb_str(&out), "<html>\n<nav>ann</nav>\n<main>hi</main>\n</html>\n");
    sb_clear(&out);
    ck_assert_int_eq(tpl_render(s, "users/list", d, &out, &eb), SL_OK);
    ck_assert_str_eq(sb_str(&out), "<html>\n<main>\n  <ul>\n    <li>&lt;x&gt;</li>\n"
                                   "    <li>y</li>\n  </ul>\n</main>\n</html>\n");
    sb_clear(&out);
    ck_assert_int_eq(tpl_render(s, "layout", d, &out, &eb), SL_OK);
    ck_assert_str_eq(sb_str(&out), "<html>\n<nav>ann</nav>\n<main>default</main>\n</html>\n");
    sb_clear(&out);
    ck_assert_int_eq(tpl_render(s, "layouts/app", d, &out, &eb), SL_OK);
    ck_assert_str_eq(sb_str(&out), "<html>\n<main>\n  default\n</main>\n</html>\n");
    sb_free(&out);
    json_decref(d);
    tpl_set_free(s);

    /* a parse error names the file's template and line */
    write_file(dir, "users/bad.mustache", "ok\n{{#x}}\n");
    s = tpl_set_new();
    ck_assert_int_eq(tpl_set_load_dir(s, dir, &eb), SL_EPARSE);
    ck_assert_msg(strstr(eb.msg, "template 'users/bad', line 2") != NULL, "%s", eb.msg);
    tpl_set_free(s);

    s = tpl_set_new();
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/nope", dir);
    ck_assert_int_eq(tpl_set_load_dir(s, missing, &eb), SL_EIO);
    tpl_set_free(s);

    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *tpl_suite(void)
{
    Suite *s = suite_create("tpl");
    TCase *tc = tcase_create("spec");
    tcase_add_loop_test(tc, test_spec_file, 0, (int)N_SPEC_FILES);
    suite_add_tcase(s, tc);
    tc = tcase_create("engine");
    tcase_add_loop_test(tc, test_table, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_escape_html);
    tcase_add_loop_test(tc, test_parse_errors, 0, (int)(sizeof perrs / sizeof perrs[0]));
    tcase_add_test(tc, test_nesting_limit);
    tcase_add_test(tc, test_output_cap);
    tcase_add_test(tc, test_partial_recursion);
    tcase_add_test(tc, test_step_limit);
    tcase_add_test(tc, test_compile_once_render_many);
    tcase_add_test(tc, test_many_templates);
    tcase_add_test(tc, test_render_string_bad_partials);
    tcase_add_test(tc, test_load_dir);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(tpl_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
