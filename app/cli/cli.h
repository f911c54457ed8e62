/* cli.h - subcommands of the `sluice` binary.
 *
 * Each subcommand is `int cmd_NAME(int argc, char **argv, const sl_config *cfg)`
 * where argv[0] is the subcommand name; it returns the process exit status
 * (0 success, 1 failure, 2 usage error) and prints its own --help. */
#ifndef SL_CLI_H
#define SL_CLI_H

#include "config.h"

int cmd_migrate(int argc, char **argv, const sl_config *cfg);
int cmd_tick(int argc, char **argv, const sl_config *cfg);
int cmd_user(int argc, char **argv, const sl_config *cfg);  /* user.c */
int cmd_token(int argc, char **argv, const sl_config *cfg); /* token.c */
int cmd_key(int argc, char **argv, const sl_config *cfg);   /* key.c */
int cmd_destination(int argc, char **argv, const sl_config *cfg); /* destination.c */
int cmd_source_probe(int argc, char **argv, const sl_config *cfg); /* probe.c */
int cmd_sync(int argc, char **argv, const sl_config *cfg);  /* sync.c */
int cmd_demo(int argc, char **argv, const sl_config *cfg);   /* demo.c */
int cmd_reap(int argc, char **argv, const sl_config *cfg);   /* reap.c */
int cmd_triggers(int argc, char **argv, const sl_config *cfg); /* triggers.c */
int cmd_notify(int argc, char **argv, const sl_config *cfg);   /* notify.c */
int cmd_partitions(int argc, char **argv, const sl_config *cfg); /* partitions.c */

#endif
