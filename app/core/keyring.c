/* keyring.c - load and verify the master key (see keyring.h). */
#include "keyring.h"

#include <string.h>

#define CANARY "sluice secret key check v1"

static unsigned char g_key[CR_KEY_BYTES];
static int g_loaded;

static sl_err verify(db *d, const unsigned char key[CR_KEY_BYTES], sl_errbuf *eb)
{
    arena *a = arena_new(0);
    sl_errbuf qeb = {0};
    char *stored = NULL;
    sl_err e = db_query_value(d, a, &qeb, &stored,
                              "SELECT value->>'sealed' FROM sluice.settings"
                              " WHERE key = 'secret_key_check'",
                              0, NULL);
    if (e == SL_ENOTFOUND) {
        char *sealed = cr_seal(a, key, CANARY);
        char *json = arena_printf(a, "{\"sealed\": \"%s\"}", sealed);
        db_exec(d, NULL,
                "INSERT INTO sluice.settings (key, value) VALUES ('secret_key_check', $1::jsonb)"
                " ON CONFLICT (key) DO NOTHING",
                1, (const char *[]){json});
        arena_free(a);
        return SL_OK;
    }
    if (e != SL_OK || !stored) { /* database away or not migrated: check next time */
        arena_free(a);
        return SL_OK;
    }
    char *plain = NULL;
    e = cr_open(a, key, stored, &plain, NULL);
    int ok = e == SL_OK && strcmp(plain, CANARY) == 0;
    arena_free(a);
    if (!ok)
        return sl_fail(eb, SL_ECONFIG,
                       "the secret key does not match the one this database's credentials were "
                       "stored with; restore the original key file (SLUICE_SECRET_KEY_FILE)");
    return SL_OK;
}

sl_err keyring_load(const sl_config *cfg, db *d, unsigned char key[CR_KEY_BYTES], sl_errbuf *eb)
{
    sl_err e = cr_load_key(cfg->secret_key_file, key, eb);
    if (e)
        return e;
    if (d) {
        e = verify(d, key, eb);
        if (e)
            return e;
    }
    memcpy(g_key, key, CR_KEY_BYTES);
    g_loaded = 1;
    return SL_OK;
}

const unsigned char *keyring_key(void)
{
    return g_loaded ? g_key : NULL;
}

char *keyring_seal(arena *a, const char *plaintext)
{
    if (!g_loaded)
        sl_panic("keyring_seal before keyring_load");
    return cr_seal(a, g_key, plaintext);
}

sl_err keyring_open(arena *a, const char *sealed, char **out, sl_errbuf *eb)
{
    if (!g_loaded)
        return sl_fail(eb, SL_ECONFIG, "no secret key loaded");
    return cr_open(a, g_key, sealed, out, eb);
}
