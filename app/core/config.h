/* config.h - effective configuration from defaults, a config file and
 * SLUICE_* environment variables (later wins).
 *
 * Every setting is described once in a table (name, env var, default,
 * secret flag, help) that drives loading, `sluice config` and the README
 * table. The config file is `key = value` lines with `#` comments; keys are
 * the setting names (e.g. `web_workers = 8`). Its path comes from
 * SLUICE_CONFIG, else `<var>/sluice.conf` if it exists. */
#ifndef SL_CONFIG_H
#define SL_CONFIG_H

#include <stdio.h>

#include "err.h"

#define CFG_STR 1024

typedef struct {
    char database_url[CFG_STR];    /* SLUICE_DATABASE_URL: control database (libpq URL) */
    char var_dir[CFG_STR];         /* SLUICE_VAR: state dir (run/, landing/, secret.key) */
    char share_dir[CFG_STR];       /* SLUICE_SHARE_DIR: where templates/, static/, sql/ live */
    char web_socket[CFG_STR];      /* SLUICE_WEB_SOCKET: FastCGI unix socket path */
    int web_socket_mode;           /* SLUICE_WEB_SOCKET_MODE: octal, default 0660 */
    int web_workers;               /* SLUICE_WEB_WORKERS: default 4 */
    int web_max_requests;          /* SLUICE_WEB_MAX_REQUESTS: recycle after, default 10000 */
    long long web_max_body;        /* SLUICE_WEB_MAX_BODY: bytes, default 1 MiB */
    char log_level[16];            /* SLUICE_LOG_LEVEL: debug|info|warn|error */
    char secret_key_file[CFG_STR]; /* SLUICE_SECRET_KEY_FILE: default <var>/secret.key */
    char base_url[CFG_STR];        /* SLUICE_BASE_URL: public URL for links */
    int tick_seconds;              /* SLUICE_TICK_SECONDS: default 55 */
    int db_connect_timeout;        /* SLUICE_DB_CONNECT_TIMEOUT: seconds, default 5 */
    char config_file[CFG_STR];     /* the file read, or "" */
} sl_config;

/* One row of the settings table. */
typedef struct {
    const char *name;    /* key in the config file */
    const char *env;     /* environment variable */
    const char *def;     /* default as text ("" for none); may mention <var> */
    int secret;          /* masked by config_print */
    const char *help;    /* one line for README and --help */
} config_setting;

/* The settings table, terminated by a row with name == NULL. */
const config_setting *config_settings(void);

/* Fill cfg from defaults, then the file, then the environment. Returns
 * SL_ECONFIG with a message naming the setting on a bad value or an
 * unreadable explicit config file. */
sl_err config_load(sl_config *cfg, sl_errbuf *eb);

/* Apply a config file's text (buf, len bytes, need not be NUL-terminated)
 * to cfg, on top of what cfg holds. Format: `key = value` lines, `#` comment
 * lines, blank lines; whitespace around key and value is trimmed and the
 * value may be wrapped in double quotes. Returns SL_ECONFIG naming origin and
 * the line on an unknown key, a bad value or a value longer than its field
 * (never truncated); cfg may then be partly updated. */
sl_err config_parse_buffer(sl_config *cfg, const char *buf, size_t len, const char *origin,
                           sl_errbuf *eb);

/* Print `name = value` lines of the effective configuration; secrets (and
 * the password inside database_url) are masked. */
void config_print(const sl_config *cfg, FILE *out);

/* Copy database_url with any password replaced by "****" into out: the
 * user:password@ of a URL, a ?password= URL parameter, or password=... in a
 * key=value conninfo string. Truncated to outlen, always NUL-terminated. */
void config_mask_url(const char *url, char *out, size_t outlen);

/* Print the settings table as Markdown (| setting | env | default |
 * description |) for the README. */
void config_markdown_table(FILE *out);

#endif
