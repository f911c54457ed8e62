/* main.c - sluice-web: load configuration, then become the pool master. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "keyring.h"
#include "log.h"
#include "page.h"
#include "pool.h"
#include "worker.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sluice-web [--help] [--version]\n"
            "\n"
            "Runs the sluice web console and JSON API as a pool of FastCGI workers on a\n"
            "unix socket (SLUICE_WEB_SOCKET) for nginx to pass requests to. Configured by\n"
            "SLUICE_* environment variables and an optional config file; run\n"
            "`sluice config` to see the effective settings.\n"
            "\n"
            "Signals: TERM/INT drain and exit, HUP replaces every worker.\n");
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("sluice-web %s (%s)\n", SLUICE_VERSION, SLUICE_GITREV);
            return 0;
        }
        usage(stderr);
        return 2;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "sluice-web: libsodium failed to initialise\n");
        return 1;
    }
    static sl_config cfg;
    sl_errbuf eb = {0};
    if (config_load(&cfg, &eb) != SL_OK) {
        fprintf(stderr, "sluice-web: %s\n", eb.msg);
        return 1;
    }
    int level = log_level_parse(cfg.log_level);
    log_init("web", level < 0 ? LOG_INFO : (enum log_level)level);
    /* The master key is loaded once here and inherited by every worker. */
    unsigned char key[CR_KEY_BYTES];
    db *d = cfg.database_url[0] ? db_open(cfg.database_url, cfg.db_connect_timeout, NULL) : NULL;
    sl_err e = keyring_load(&cfg, d, key, &eb);
    db_close(d);
    if (e != SL_OK) {
        fprintf(stderr, "sluice-web: %s\n", eb.msg);
        log_error("%s", eb.msg);
        return 1;
    }
    worker_init_hook = page_init;
    return pool_run(&cfg);
}
