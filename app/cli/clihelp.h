/* clihelp.h - what the stack-setup commands (`sluice demo setup`, `sluice
 * destination add-local`) share: usage errors, the --port check, and the
 * connection password read from stdin and sealed under the master key.
 *
 * Messages go to stderr as "sluice <cmd>: message". */
#ifndef SL_CLIHELP_H
#define SL_CLIHELP_H

#include "account.h"

/* Print "sluice <cmd>: " fmt (with arg) and the --help hint; returns 2
 * (the usage exit status). */
int clihelp_usage_error(const char *cmd, const char *fmt, const char *arg);

/* Whether port is a decimal number from 1 to 65535. */
int clihelp_port_ok(const char *port);

/* Read the password from the first line of stdin (empty: none; no control
 * characters, at most ACCT_PASSWORD_MAX bytes), connect (acct_start) and
 * load the master key (keyring_load, so a wrong key file is refused before
 * anything is stored). 0: r is started and *sealed is the sealed password
 * in r->a, or NULL when none. Otherwise the exit status after printing
 * why, with r finished. The plaintext is wiped from memory either way. */
int clihelp_start_sealed(acct_run *r, const char *cmd, const sl_config *cfg,
                         const char **sealed);

#endif
