/* main.c - the `sluice` command: dispatch to subcommands.
 *
 * Global options come before the subcommand; everything after it belongs to
 * the subcommand, which prints its own --help. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "log.h"

static int cmd_version(int argc, char **argv, const sl_config *cfg);
static int cmd_config(int argc, char **argv, const sl_config *cfg);

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv, const sl_config *cfg);
    int needs_config; /* a bad configuration stops it before it starts */
    const char *help;
} commands[] = {
    {"migrate", cmd_migrate, 1, "apply pending SQL migrations to the control database"},
    {"tick", cmd_tick, 1, "do the work that is due (cron runs this every minute)"},
    {"triggers", cmd_triggers, 1, "fire event triggers now (each tick does this)"},
    {"notify", cmd_notify, 1, "deliver queued notifications now (each tick does this)"},
    {"partitions", cmd_partitions, 1, "partition maintenance now (each tick does this)"},
    {"sync", cmd_sync, 1, "run one pipeline now, in the foreground, with progress"},
    {"user", cmd_user, 1, "manage console users (add, list, set-password, set-role, ...)"},
    {"token", cmd_token, 1, "create, list and revoke API tokens"},
    {"key", cmd_key, 1, "create the secret key file that seals credentials"},
    {"destination", cmd_destination, 1, "register the local warehouse as a destination"},
    {"reap", cmd_reap, 1, "apply the retention settings now (each tick does this hourly)"},
    {"demo", cmd_demo, 1, "set up the demo shop source and pipeline (make run does)"},
    {"config", cmd_config, 0, "print the effective configuration, secrets masked"},
    /* help NULL: not listed in `sluice --help` (documented in its own --help) */
    {"source-probe", cmd_source_probe, 0, NULL},
    {"version", cmd_version, 0, "print the version"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: sluice <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (commands[i].help)
            fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(out, "\nRun `sluice <command> --help` for a command's options.\n"
                 "Configuration comes from SLUICE_* environment variables and an optional\n"
                 "config file (SLUICE_CONFIG); see README.md.\n");
}

static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

static int cmd_version(int argc, char **argv, const sl_config *cfg)
{
    (void)cfg;
    if (wants_help(argc, argv)) {
        printf("usage: sluice version\n\nPrints the version and build revision.\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "sluice version: unexpected argument '%s'\n", argv[1]);
        return 2;
    }
    printf("sluice %s (%s)\n", SLUICE_VERSION, SLUICE_GITREV);
    return 0;
}

static int cmd_config(int argc, char **argv, const sl_config *cfg)
{
    if (wants_help(argc, argv)) {
        printf("usage: sluice config [--markdown]\n\n"
               "Prints the effective configuration (defaults, then the config file, then\n"
               "SLUICE_* environment variables), with secrets masked. --markdown prints the\n"
               "table of every setting instead.\n");
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--markdown") == 0) {
        config_markdown_table(stdout);
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "sluice config: unexpected argument '%s'\n", argv[1]);
        return 2;
    }
    config_print(cfg, stdout);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        argv[1] = "version";
    if (sodium_init() < 0) {
        fprintf(stderr, "sluice: libsodium failed to initialise\n");
        return 1;
    }
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        static sl_config cfg;
        sl_errbuf eb = {0};
        sl_err e = config_load(&cfg, &eb);
        if (e != SL_OK && (commands[i].needs_config || strcmp(argv[1], "config") == 0) &&
            !wants_help(argc - 1, argv + 1)) {
            fprintf(stderr, "sluice: %s\n", eb.msg);
            return 1;
        }
        int level = log_level_parse(cfg.log_level);
        log_init("cli", level < 0 ? LOG_INFO : (enum log_level)level);
        return commands[i].fn(argc - 1, argv + 1, &cfg);
    }
    fprintf(stderr, "sluice: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
