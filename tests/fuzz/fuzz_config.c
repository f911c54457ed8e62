/* fuzz_config.c - libFuzzer target for the config file format
 * (config_parse_buffer) and database URL masking (config_mask_url).
 *
 * Invariants checked beyond memory safety: after a successful parse every
 * numeric setting is in its documented range and every string field is
 * NUL-terminated inside its array; masking never overruns its buffer. */
// fuzz-sources: app/core/config.c app/core/err.c app/core/log.c app/core/arena.c
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static sl_config g_defaults;
static FILE *g_null;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    unsetenv("SLUICE_CONFIG");
    for (const config_setting *s = config_settings(); s->name; s++)
        unsetenv(s->env);
    sl_errbuf eb;
    if (config_load(&g_defaults, &eb) != SL_OK) {
        fprintf(stderr, "fuzz_config: config_load: %s\n", eb.msg);
        abort();
    }
    g_null = fopen("/dev/null", "w");
    return 0;
}

#define TERMINATED(f) (memchr((f), '\0', sizeof(f)) != NULL)

static void check_config(const sl_config *c)
{
    if (!TERMINATED(c->database_url) || !TERMINATED(c->var_dir) || !TERMINATED(c->share_dir) ||
        !TERMINATED(c->web_socket) || !TERMINATED(c->log_level) ||
        !TERMINATED(c->secret_key_file) || !TERMINATED(c->base_url))
        abort();
    if (c->web_workers < 1 || c->web_workers > 256 || c->web_max_requests < 1 ||
        c->web_max_body < 1 || c->tick_seconds < 1 || c->tick_seconds > 3600 ||
        c->web_socket_mode < 0 || c->web_socket_mode > 07777 || c->db_connect_timeout < 1)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size heap copy so ASan sees any read past len. */
    char *buf = malloc(size ? size : 1);
    if (size)
        memcpy(buf, data, size);

    sl_config cfg = g_defaults;
    sl_errbuf eb = {0};
    sl_err e = config_parse_buffer(&cfg, buf, size, "fuzz", &eb);
    if (e == SL_OK) {
        check_config(&cfg);
        if (g_null)
            config_print(&cfg, g_null);
    } else if (e != SL_ECONFIG || eb.code != SL_ECONFIG || !TERMINATED(eb.msg)) {
        abort();
    }

    /* Masking: the input as a C string, into a buffer sized by its first byte. */
    char *str = malloc(size + 1);
    if (size)
        memcpy(str, data, size);
    str[size] = '\0';
    size_t outlen = size ? (size_t)data[0] % 300 : 0;
    char *out = malloc(outlen ? outlen : 1);
    config_mask_url(str, out, outlen);
    if (outlen && strnlen(out, outlen) >= outlen)
        abort();

    free(out);
    free(str);
    free(buf);
    return 0;
}
