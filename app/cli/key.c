/* key.c - `sluice key`: the master key file that seals credentials at rest.
 *
 * `sluice key create` makes the file (cfg->secret_key_file unless --file)
 * with 32 random bytes as hex, mode 0600, and never overwrites one that
 * exists: a new key would make every sealed secret unreadable. An existing
 * file is checked the way the binaries will load it. The key itself is
 * never printed. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "account.h"
#include "cli.h"
#include "crypto.h"

static const acct_cmd CREATE = {
    "key create",
    "usage: sluice key create [--file PATH]\n"
    "\n"
    "Create the secret key file (mode 0600) that seals source and destination\n"
    "credentials, unless it exists; an existing file is checked, never replaced.\n"
    "Back it up: without it, stored credentials cannot be read.\n"
    "\n"
    "  --file PATH   where (default: secret_key_file, SLUICE_SECRET_KEY_FILE,\n"
    "                which defaults to <var>/secret.key)\n"
    "  --help        this text\n",
    ACCT_O_FILE,
    0,
};

/* The file exists: is it a key the binaries will accept? */
static int check_existing(const char *path)
{
    unsigned char key[CR_KEY_BYTES];
    sl_errbuf eb = {0};
    sl_err e = cr_load_key(path, key, &eb);
    sodium_memzero(key, sizeof key);
    if (e != SL_OK)
        return acct_fail(CREATE.cmd, "%s already exists but is not usable: %s", path, eb.msg);
    printf("secret key file %s already exists; left unchanged\n", path);
    return 0;
}

static int key_create(int argc, char **argv, const sl_config *cfg)
{
    acct_opts o;
    int rc = acct_parse(&CREATE, argc, argv, &o);
    if (rc >= 0)
        return rc;
    const char *path = o.file ? o.file : cfg->secret_key_file;
    if (!path[0])
        return acct_fail(CREATE.cmd, "secret_key_file is not set (SLUICE_SECRET_KEY_FILE); "
                                     "give --file PATH");
    struct stat st;
    if (lstat(path, &st) == 0)
        return check_existing(path);
    if (errno != ENOENT)
        return acct_fail(CREATE.cmd, "%s: %s", path, strerror(errno));
    sl_errbuf eb = {0};
    if (cr_create_key(path, &eb) != SL_OK)
        return acct_fail(CREATE.cmd, "%s", eb.msg);
    printf("created secret key file %s (mode 0600); back it up\n", path);
    return 0;
}

static const acct_subcmd SUBS[] = {
    {"create", key_create, "create the secret key file unless it exists"},
};

int cmd_key(int argc, char **argv, const sl_config *cfg)
{
    return acct_dispatch("key", "Manage the master key that seals credentials at rest.", SUBS,
                         sizeof SUBS / sizeof SUBS[0], argc, argv, cfg);
}
