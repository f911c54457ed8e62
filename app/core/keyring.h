/* keyring.h - the master key that seals stored credentials, and the check
 * that it is the key this control database was set up with.
 *
 * The first process to run with a database stores a sealed canary in
 * sluice.settings ('secret_key_check'); every later start opens it, so a
 * wrong key is a clear startup error instead of garbage credentials. */
#ifndef SL_KEYRING_H
#define SL_KEYRING_H

#include "config.h"
#include "crypto.h"
#include "db.h"

/* Load cfg->secret_key_file into key and, when d is not NULL and the
 * database answers, check it against the canary (creating the canary on
 * first use). SL_ECONFIG with a message saying what to do when the file is
 * missing, unreadable, malformed or the wrong key. A database that does
 * not answer is not an error here (the check happens on the next start). */
sl_err keyring_load(const sl_config *cfg, db *d, unsigned char key[CR_KEY_BYTES], sl_errbuf *eb);

/* The key loaded by keyring_load() in this process (NULL before). */
const unsigned char *keyring_key(void);

/* Seal / open with the process key; see cr_seal and cr_open. */
char *keyring_seal(arena *a, const char *plaintext);
sl_err keyring_open(arena *a, const char *sealed, char **out, sl_errbuf *eb);

#endif
