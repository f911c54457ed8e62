// fuzz-sources: app/web/tpl.c app/core/arena.c app/core/sbuf.c app/core/err.c
/* fuzz_tpl.c - libFuzzer target for app/web/tpl.c: compile arbitrary input
 * as a template and render it against fixed data.
 *
 * The input is registered as partial "p" too, so it can include itself, and
 * next to a small layout so {{<layout}} and {{$block}} paths run. Build:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iapp -Iapp/core \
 *       tests/fuzz/fuzz_tpl.c app/web/tpl.c app/core/arena.c app/core/sbuf.c \
 *       app/core/err.c -ljansson -o build/fuzz_tpl
 *   ./build/fuzz_tpl tests/fuzz/corpus/tpl */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "web/tpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *DATA_JSON =
    "{\"name\":\"<ann & 'bob'>\",\"n\":42,\"pi\":3.25,\"t\":true,\"f\":false,\"z\":null,"
    "\"e\":\"\",\"l\":[1,\"two\",{\"name\":\"x\",\"l\":[]}],\"empty\":[],"
    "\"o\":{\"a\":{\"b\":{\"c\":\"deep\"}},\"name\":\"inner\"},"
    "\"rows\":[{\"id\":1,\"v\":\"a\\nb\"},{\"id\":2,\"v\":\"<c>\"}]}";

static const char *LAYOUT =
    "<h1>{{$title}}Title{{/title}}</h1>\n<main>\n  {{$body}}\n  body\n  {{/body}}\n</main>\n"
    "{{>nav}}";
static const char *NAV = "{{#rows}}\n  <a>{{id}}</a>\n{{/rows}}\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *ctx;
    if (!ctx)
        ctx = json_loads(DATA_JSON, 0, NULL);
    if (!ctx)
        abort();

    tpl_set *s = tpl_set_new();
    tpl_set_max_steps(s, 200000);
    sl_errbuf eb;
    if (tpl_set_add(s, "layout", LAYOUT, strlen(LAYOUT), &eb) != SL_OK ||
        tpl_set_add(s, "nav", NAV, strlen(NAV), &eb) != SL_OK)
        abort();

    sl_err e = tpl_set_add(s, "p", (const char *)data, size, &eb);
    if (e != SL_OK && e != SL_EPARSE)
        abort();
    if (e == SL_OK) {
        sbuf out;
        sb_init(&out, NULL, 1 << 20);
        e = tpl_render(s, "p", ctx, &out, &eb);
        if (e != SL_OK && e != SL_ETOOBIG)
            abort();
        if (e != SL_OK && out.len != 0) /* failures leave the buffer as it was */
            abort();
        sb_free(&out);
    }
    tpl_set_free(s);
    return 0;
}
