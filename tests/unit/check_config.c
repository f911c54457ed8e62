/* check_config.c - unit tests for app/core/config.c: defaults, the file
 * format, environment precedence, errors, masking, printing.
 *
 * Each test runs in a fresh temporary directory with every SLUICE_* variable
 * unset (Check forks per test, so chdir/setenv do not leak between tests). */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

static char g_dir[PATH_MAX];
static char g_cwd[PATH_MAX];

static void setup(void)
{
    for (const config_setting *s = config_settings(); s->name; s++)
        unsetenv(s->env);
    unsetenv("SLUICE_CONFIG");
    snprintf(g_dir, sizeof g_dir, "/tmp/check_config.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
    ck_assert_int_eq(chdir(g_dir), 0);
    ck_assert_ptr_nonnull(getcwd(g_cwd, sizeof g_cwd));
}

static void teardown(void)
{
    char cmd[PATH_MAX + 16];
    if (chdir("/") == 0 && g_dir[0]) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", g_dir);
    }
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static const char *in_cwd(const char *rel)
{
    static char buf[PATH_MAX * 2];
    snprintf(buf, sizeof buf, "%s/%s", g_cwd, rel);
    return buf;
}

START_TEST(test_settings_table)
{
    int n = 0;
    for (const config_setting *s = config_settings(); s->name; s++, n++) {
        ck_assert_uint_gt(strlen(s->name), 0);
        ck_assert_int_eq(strncmp(s->env, "SLUICE_", 7), 0);
        ck_assert_ptr_nonnull(s->def);
        ck_assert_uint_gt(strlen(s->help), 10);
        for (const config_setting *t = config_settings(); t != s; t++) {
            ck_assert_str_ne(s->name, t->name);
            ck_assert_str_ne(s->env, t->env);
        }
    }
    ck_assert_int_eq(n, 13); /* every field of sl_config but config_file */
}
END_TEST

START_TEST(test_defaults)
{
    sl_config c;
    sl_errbuf eb = {0};
    ck_assert_int_eq(config_load(&c, &eb), SL_OK);
    ck_assert_str_eq(c.database_url, "");
    ck_assert_str_eq(c.var_dir, in_cwd("var"));
    ck_assert_str_eq(c.web_socket, in_cwd("var/run/sluice-web.sock"));
    ck_assert_str_eq(c.secret_key_file, in_cwd("var/secret.key"));
    ck_assert_int_eq(c.web_socket_mode, 0660);
    ck_assert_int_eq(c.web_workers, 4);
    ck_assert_int_eq(c.web_max_requests, 10000);
    ck_assert_int_eq(c.web_max_body, 1048576);
    ck_assert_str_eq(c.log_level, "info");
    ck_assert_str_eq(c.base_url, "http://127.0.0.1:8080");
    ck_assert_int_eq(c.tick_seconds, 55);
    ck_assert_int_eq(c.db_connect_timeout, 5);
    ck_assert_str_eq(c.config_file, "");
    ck_assert_int_eq(c.share_dir[0], '/');
}
END_TEST

START_TEST(test_share_dir_from_cwd_with_sql)
{
    /* The test binary's <exe>/.. has no sql/, so a cwd holding sql/ wins. */
    ck_assert_int_eq(mkdir("sql", 0755), 0);
    sl_config c;
    ck_assert_int_eq(config_load(&c, NULL), SL_OK);
    ck_assert_str_eq(c.share_dir, g_cwd);
    setenv("SLUICE_SHARE_DIR", "/opt/share/sluice", 1);
    ck_assert_int_eq(config_load(&c, NULL), SL_OK);
    ck_assert_str_eq(c.share_dir, "/opt/share/sluice");
}
END_TEST

/* ---- the file format, table-driven ---- */

enum check { C_NONE, C_INT, C_LL, C_STR };

static const struct {
    const char *name;
    const char *text;
    enum check what;
    const char *field; /* setting name */
    long long ival;
    const char *sval;
} parse_ok[] = {
    {"plain", "web_workers = 8\n", C_INT, "web_workers", 8, NULL},
    {"no spaces, CRLF", "  web_workers=9  \r\n", C_INT, "web_workers", 9, NULL},
    {"tabs", "\tweb_workers\t=\t10\t", C_INT, "web_workers", 10, NULL},
    {"comments and blanks", "# top\n\n   # indented\nlog_level = debug", C_STR, "log_level", 0,
     "debug"},
    {"later wins", "web_workers = 2\nweb_workers = 3\n", C_INT, "web_workers", 3, NULL},
    {"quoted", "base_url = \"https://x.example\"\n", C_STR, "base_url", 0, "https://x.example"},
    {"quoted keeps spaces", "database_url = \" host=h dbname=d \"", C_STR, "database_url", 0,
     " host=h dbname=d "},
    {"hash inside value", "database_url = postgresql://u:p#w@h/d", C_STR, "database_url", 0,
     "postgresql://u:p#w@h/d"},
    {"empty quoted", "database_url = \"\"", C_STR, "database_url", 0, ""},
    {"mode octal", "web_socket_mode = 0600", C_INT, "web_socket_mode", 0600, NULL},
    {"mode no zero", "web_socket_mode = 640", C_INT, "web_socket_mode", 0640, NULL},
    {"body plain", "web_max_body = 512", C_LL, "web_max_body", 512, NULL},
    {"body k", "web_max_body = 10k", C_LL, "web_max_body", 10240, NULL},
    {"body K", "web_max_body = 10K", C_LL, "web_max_body", 10240, NULL},
    {"body M", "web_max_body = 2M", C_LL, "web_max_body", 2097152, NULL},
    {"body g", "web_max_body = 1g", C_LL, "web_max_body", 1073741824LL, NULL},
    {"body G", "web_max_body = 8G", C_LL, "web_max_body", 8589934592LL, NULL},
    {"workers max", "web_workers = 256", C_INT, "web_workers", 256, NULL},
    {"tick min", "tick_seconds = 1", C_INT, "tick_seconds", 1, NULL},
    {"tick max", "tick_seconds = 3600", C_INT, "tick_seconds", 3600, NULL},
    {"level error", "log_level = error", C_STR, "log_level", 0, "error"},
    {"var", "var_dir = /srv/sluice", C_STR, "var_dir", 0, "/srv/sluice"},
    {"empty file", "", C_NONE, NULL, 0, NULL},
    {"only comments", "# nothing\n#\n", C_NONE, NULL, 0, NULL},
};

static void field_value(const sl_config *c, const char *name, long long *iv, const char **sv)
{
    *sv = NULL;
    *iv = 0;
    if (strcmp(name, "web_workers") == 0) *iv = c->web_workers;
    else if (strcmp(name, "web_socket_mode") == 0) *iv = c->web_socket_mode;
    else if (strcmp(name, "web_max_body") == 0) *iv = c->web_max_body;
    else if (strcmp(name, "tick_seconds") == 0) *iv = c->tick_seconds;
    else if (strcmp(name, "log_level") == 0) *sv = c->log_level;
    else if (strcmp(name, "base_url") == 0) *sv = c->base_url;
    else if (strcmp(name, "database_url") == 0) *sv = c->database_url;
    else if (strcmp(name, "var_dir") == 0) *sv = c->var_dir;
    else ck_abort_msg("test table names unknown field %s", name);
}

START_TEST(test_parse_ok)
{
    sl_config c;
    sl_errbuf eb = {0};
    ck_assert_int_eq(config_load(&c, &eb), SL_OK);
    const char *t = parse_ok[_i].text;
    sl_err e = config_parse_buffer(&c, t, strlen(t), "test.conf", &eb);
    ck_assert_msg(e == SL_OK, "%s: %s", parse_ok[_i].name, eb.msg);
    if (parse_ok[_i].what == C_NONE) {
        ck_assert_int_eq(c.web_workers, 4);
        return;
    }
    long long iv;
    const char *sv;
    field_value(&c, parse_ok[_i].field, &iv, &sv);
    if (parse_ok[_i].what == C_STR)
        ck_assert_msg(sv && strcmp(sv, parse_ok[_i].sval) == 0, "%s: got '%s'",
                      parse_ok[_i].name, sv);
    else
        ck_assert_msg(iv == parse_ok[_i].ival, "%s: got %lld", parse_ok[_i].name, iv);
}
END_TEST

static const struct {
    const char *text;
    size_t len; /* 0: strlen */
    const char *want; /* substring of the message */
} parse_bad[] = {
    {"foo = 1\n", 0, "test.conf line 1: unknown setting 'foo'"},
    {"\n# c\nbar=1\n", 0, "line 3: unknown setting 'bar'"},
    {"config_file = /x\n", 0, "unknown setting 'config_file'"},
    {"Web_Workers = 3\n", 0, "unknown setting 'Web_Workers'"},
    {"web_workers = abc", 0, "line 1: web_workers must be an integer in 1..256, got 'abc'"},
    {"web_workers = 0", 0, "web_workers must be"},
    {"web_workers = 257", 0, "web_workers must be"},
    {"web_workers = -1", 0, "web_workers must be"},
    {"web_workers = 99999999999999999999", 0, "web_workers must be"},
    {"web_workers = 8 # comment", 0, "web_workers must be"},
    {"web_workers = 0x10", 0, "web_workers must be"},
    {"web_workers =", 0, "web_workers must be"},
    {"web_max_requests = 0", 0, "web_max_requests must be"},
    {"web_max_body = 10x", 0, "web_max_body must be a byte count"},
    {"web_max_body = 10kk", 0, "web_max_body must be"},
    {"web_max_body = 0", 0, "web_max_body must be"},
    {"web_max_body = -5", 0, "web_max_body must be"},
    {"web_max_body = 9999999999999G", 0, "web_max_body must be"},
    {"web_socket_mode = 0999", 0, "web_socket_mode must be an octal mode"},
    {"web_socket_mode = 17777", 0, "web_socket_mode must be"},
    {"tick_seconds = 3601", 0, "tick_seconds must be"},
    {"db_connect_timeout = 0", 0, "db_connect_timeout must be"},
    {"log_level = loud", 0, "log_level must be debug, info, warn or error"},
    {"log_level = INFO", 0, "log_level must be"},
    {"base_url = ftp://x", 0, "base_url must start with http:// or https://"},
    {"web_workers", 0, "line 1: expected 'key = value'"},
    {"= 5", 0, "missing setting name"},
    {"base_url = \"http://x", 0, "unterminated quoted value"},
    {"base_url = \"", 0, "unterminated quoted value"},
    {"web_workers = 4\0\n", 17, "line 1: NUL byte"},
    {"database_url = a\x01" "b", 0, "control character"},
};

START_TEST(test_parse_errors)
{
    sl_config c;
    sl_errbuf eb = {0};
    ck_assert_int_eq(config_load(&c, &eb), SL_OK);
    size_t len = parse_bad[_i].len ? parse_bad[_i].len : strlen(parse_bad[_i].text);
    sl_err e = config_parse_buffer(&c, parse_bad[_i].text, len, "test.conf", &eb);
    ck_assert_int_eq(e, SL_ECONFIG);
    ck_assert_int_eq(eb.code, SL_ECONFIG);
    ck_assert_msg(strstr(eb.msg, parse_bad[_i].want) != NULL, "want '%s' in '%s'",
                  parse_bad[_i].want, eb.msg);
}
END_TEST

START_TEST(test_parse_long_values)
{
    sl_config c;
    sl_errbuf eb = {0};
    ck_assert_int_eq(config_load(&c, &eb), SL_OK);
    static char buf[4096], want[2048];
    /* 1023 bytes fit exactly. */
    memset(want, 'a', CFG_STR - 1);
    want[CFG_STR - 1] = '\0';
    snprintf(buf, sizeof buf, "database_url = %s\n", want);
    ck_assert_int_eq(config_parse_buffer(&c, buf, strlen(buf), "t", &eb), SL_OK);
    ck_assert_str_eq(c.database_url, want);
    /* 1024 bytes do not, and the field keeps its value. */
    snprintf(buf, sizeof buf, "database_url = %sb\n", want);
    ck_assert_int_eq(config_parse_buffer(&c, buf, strlen(buf), "t", &eb), SL_ECONFIG);
    ck_assert_ptr_nonnull(strstr(eb.msg, "database_url is too long"));
    ck_assert_str_eq(c.database_url, want);
    /* log_level is a short field: 16 bytes. */
    const char *lv = "log_level = debugdebugdebugdebug";
    ck_assert_int_eq(config_parse_buffer(&c, lv, strlen(lv), "t", &eb), SL_ECONFIG);
    ck_assert_ptr_nonnull(strstr(eb.msg, "log_level is too long"));
    ck_assert_str_eq(c.log_level, "info");
}
END_TEST

START_TEST(test_parse_unterminated_buffer)
{
    /* The buffer need not be NUL-terminated: only len bytes are read. */
    sl_config c;
    ck_assert_int_eq(config_load(&c, NULL), SL_OK);
    char raw[] = {'w', 'e', 'b', '_', 'w', 'o', 'r', 'k', 'e', 'r', 's', '=', '7', '9'};
    ck_assert_int_eq(config_parse_buffer(&c, raw, 13, "t", NULL), SL_OK);
    ck_assert_int_eq(c.web_workers, 7);
}
END_TEST

/* ---- loading: file, env, precedence ---- */

START_TEST(test_file_in_var_dir)
{
    ck_assert_int_eq(mkdir("var", 0755), 0);
    write_file("var/sluice.conf", "web_workers = 8\nlog_level = debug\n");
    sl_config c;
    sl_errbuf eb = {0};
    ck_assert_int_eq(config_load(&c, &eb), SL_OK);
    ck_assert_int_eq(c.web_workers, 8);
    ck_assert_str_eq(c.log_level, "debug");
    ck_assert_str_eq(c.config_file, in_cwd("var/sluice.conf"));
}
END_TEST

START_TEST(test_env_beats_file)
{
    ck_assert_int_eq(mkdir("var", 0755), 0);
    write_file("var/sluice.conf", "web_workers = 8\nlog_level = debug\ntick_seconds = 30\n");
    setenv("SLUICE_WEB_WORKERS", "16", 1);
    setenv("SLUICE_TICK_SECONDS", "", 1); /* empty counts as unset */
    sl_config c;
    sl_errbuf eb = {0};
    ck_assert_int_eq(config_load(&c, &eb), SL_OK);
    ck_assert_int_eq(c.web_workers, 16);
    ck_assert_str_eq(c.log_level, "debug");
    ck_assert_int_eq(c.tick_seconds, 30);
}
END_TEST

START_TEST(test_env_all_settings)
{
    setenv("SLUICE_DATABASE_URL", "postgresql://u@h/d", 1);
    setenv("SLUICE_VAR", "state", 1);
    setenv("SLUICE_WEB_SOCKET", "sock/fcgi.sock", 1);
    setenv("SLUICE_WEB_SOCKET_MODE", "0600", 1);
    setenv("SLUICE_WEB_MAX_REQUESTS", "5", 1);
    setenv("SLUICE_WEB_MAX_BODY", "64k", 1);
    setenv("SLUICE_SECRET_KEY_FILE", "/etc/sluice/key", 1);
    setenv("SLUICE_BASE_URL", "https://sluice.example.com", 1);
    setenv("SLUICE_DB_CONNECT_TIMEOUT", "12", 1);
    sl_config c;
    sl_errbuf eb = {0};
    ck_assert_int_eq(config_load(&c, &eb), SL_OK);
    ck_assert_str_eq(c.database_url, "postgresql://u@h/d");
    ck_assert_str_eq(c.var_dir, in_cwd("state"));
    ck_assert_str_eq(c.web_socket, in_cwd("sock/fcgi.sock"));
    ck_assert_int_eq(c.web_socket_mode, 0600);
    ck_assert_int_eq(c.web_max_requests, 5);
    ck_assert_int_eq(c.web_max_body, 65536);
    ck_assert_str_eq(c.secret_key_file, "/etc/sluice/key");
    ck_assert_str_eq(c.base_url, "https://sluice.example.com");
    ck_assert_int_eq(c.db_connect_timeout, 12);
}
END_TEST

START_TEST(test_var_dir_from_env_finds_file_and_derives)
{
    ck_assert_int_eq(mkdir("state", 0755), 0);
    write_file("state/sluice.conf", "web_workers = 3\n");
    setenv("SLUICE_VAR", "./state", 1);
    sl_config c;
    sl_errbuf eb = {0};
    ck_assert_int_eq(config_load(&c, &eb), SL_OK);
    ck_assert_int_eq(c.web_workers, 3);
    ck_assert_str_eq(c.var_dir, in_cwd("state"));
    ck_assert_str_eq(c.web_socket, in_cwd("state/run/sluice-web.sock"));
    ck_assert_str_eq(c.secret_key_file, in_cwd("state/secret.key"));
}
END_TEST

START_TEST(test_var_dir_from_file_derives)
{
    write_file("my.conf", "var_dir = /srv/sluice\n");
    setenv("SLUICE_CONFIG", "my.conf", 1);
    sl_config c;
    sl_errbuf eb = {0};
    ck_assert_int_eq(config_load(&c, &eb), SL_OK);
    ck_assert_str_eq(c.config_file, in_cwd("my.conf"));
    ck_assert_str_eq(c.var_dir, "/srv/sluice");
    ck_assert_str_eq(c.web_socket, "/srv/sluice/run/sluice-web.sock");
    ck_assert_str_eq(c.secret_key_file, "/srv/sluice/secret.key");
}
END_TEST

START_TEST(test_explicit_config_must_exist)
{
    setenv("SLUICE_CONFIG", "/nonexistent/sluice.conf", 1);
    sl_config c;
    sl_errbuf eb = {0};
    ck_assert_int_eq(config_load(&c, &eb), SL_ECONFIG);
    ck_assert_ptr_nonnull(strstr(eb.msg, "SLUICE_CONFIG"));
    ck_assert_ptr_nonnull(strstr(eb.msg, "/nonexistent/sluice.conf"));
}
END_TEST

START_TEST(test_file_error_names_path_and_line)
{
    write_file("bad.conf", "web_workers = 4\n\nnope = 1\n");
    setenv("SLUICE_CONFIG", "bad.conf", 1);
    sl_config c;
    sl_errbuf eb = {0};
    ck_assert_int_eq(config_load(&c, &eb), SL_ECONFIG);
    ck_assert_str_eq(eb.msg, "bad.conf line 3: unknown setting 'nope'");
}
END_TEST

static const struct {
    const char *env;
    const char *value;
} env_bad[] = {
    {"SLUICE_WEB_WORKERS", "many"},
    {"SLUICE_WEB_WORKERS", "1000"},
    {"SLUICE_WEB_SOCKET_MODE", "rw"},
    {"SLUICE_WEB_MAX_BODY", "1T"},
    {"SLUICE_TICK_SECONDS", "0"},
    {"SLUICE_LOG_LEVEL", "trace"},
    {"SLUICE_BASE_URL", "example.com"},
};

START_TEST(test_env_errors_name_the_variable)
{
    setenv(env_bad[_i].env, env_bad[_i].value, 1);
    sl_config c;
    sl_errbuf eb = {0};
    ck_assert_int_eq(config_load(&c, &eb), SL_ECONFIG);
    ck_assert_msg(strncmp(eb.msg, env_bad[_i].env, strlen(env_bad[_i].env)) == 0,
                  "message '%s' should start with %s", eb.msg, env_bad[_i].env);
    ck_assert_ptr_nonnull(strstr(eb.msg, env_bad[_i].value));
}
END_TEST

START_TEST(test_env_too_long_is_an_error)
{
    static char v[3000];
    memset(v, 'x', sizeof v - 1);
    setenv("SLUICE_DATABASE_URL", v, 1);
    sl_config c;
    sl_errbuf eb = {0};
    ck_assert_int_eq(config_load(&c, &eb), SL_ECONFIG);
    ck_assert_ptr_nonnull(strstr(eb.msg, "SLUICE_DATABASE_URL: database_url is too long"));
}
END_TEST

/* ---- masking and printing ---- */

static const struct {
    const char *in;
    const char *want;
} mask_cases[] = {
    {"postgresql://user:secret@host:5432/db", "postgresql://user:****@host:5432/db"},
    {"postgres://user:secret@host/db?sslmode=require", "postgres://user:****@host/db?sslmode=require"},
    {"postgresql://user@host/db", "postgresql://user@host/db"},
    {"postgresql://host/db", "postgresql://host/db"},
    {"postgresql://", "postgresql://"},
    {"postgresql://u:p@ss@h/db", "postgresql://u:****@h/db"},
    {"postgresql://u:@h/db", "postgresql://u:@h/db"},
    {"postgresql://h/db?user=u&password=secret&sslmode=disable",
     "postgresql://h/db?user=u&password=****&sslmode=disable"},
    {"postgresql://h/db?password=secret", "postgresql://h/db?password=****"},
    {"postgresql:///db?host=/var/run/postgresql", "postgresql:///db?host=/var/run/postgresql"},
    {"host=h user=u password=secret dbname=d", "host=h user=u password=**** dbname=d"},
    {"password=secret", "password=****"},
    {"host=h password = 'se cr\\'et' dbname=d", "host=h password = **** dbname=d"},
    {"  password='x'  port=5432", "  password=****  port=5432"},
    {"host=h passwordx=keep", "host=h passwordx=keep"},
    {"dbname=sluice", "dbname=sluice"},
    {"", ""},
};

START_TEST(test_mask_url)
{
    char out[256];
    config_mask_url(mask_cases[_i].in, out, sizeof out);
    ck_assert_str_eq(out, mask_cases[_i].want);
}
END_TEST

START_TEST(test_mask_url_truncates)
{
    char out[16];
    memset(out, 'Z', sizeof out);
    config_mask_url("postgresql://user:secret@host/db", out, sizeof out);
    ck_assert_uint_eq(strlen(out), 15);
    ck_assert_str_eq(out, "postgresql://us");
    config_mask_url("host=h password=secretsecret", out, 10);
    ck_assert_str_eq(out, "host=h pa");
    config_mask_url("x", out, 0); /* must not write */
    config_mask_url(NULL, out, sizeof out);
    ck_assert_str_eq(out, "");
}
END_TEST

static char *print_to_string(const sl_config *c)
{
    static char buf[16384];
    FILE *f = fmemopen(buf, sizeof buf, "w");
    ck_assert_ptr_nonnull(f);
    config_print(c, f);
    fclose(f);
    return buf;
}

START_TEST(test_print_masks)
{
    sl_config c;
    ck_assert_int_eq(config_load(&c, NULL), SL_OK);
    snprintf(c.database_url, sizeof c.database_url, "postgresql://app:hunter2@db/sluice");
    const char *out = print_to_string(&c);
    ck_assert_ptr_null(strstr(out, "hunter2"));
    ck_assert_ptr_nonnull(strstr(out, "database_url = postgresql://app:****@db/sluice\n"));
    ck_assert_ptr_nonnull(strstr(out, "web_socket_mode = 0660\n"));
    ck_assert_ptr_nonnull(strstr(out, "web_max_body = 1048576\n"));
    ck_assert_ptr_nonnull(strstr(out, "web_workers = 4\n"));
    ck_assert_ptr_nonnull(strstr(out, "log_level = info\n"));
    ck_assert_ptr_nonnull(strstr(out, "# config file: (none)\n"));

    snprintf(c.database_url, sizeof c.database_url, "host=db password=hunter2");
    out = print_to_string(&c);
    ck_assert_ptr_null(strstr(out, "hunter2"));
    ck_assert_ptr_nonnull(strstr(out, "database_url = host=db password=****\n"));
}
END_TEST

START_TEST(test_printed_config_parses_back)
{
    sl_config c, d;
    ck_assert_int_eq(config_load(&c, NULL), SL_OK);
    c.web_workers = 7;
    c.web_socket_mode = 0640;
    const char *out = print_to_string(&c);
    ck_assert_int_eq(config_load(&d, NULL), SL_OK);
    sl_errbuf eb = {0};
    ck_assert_msg(config_parse_buffer(&d, out, strlen(out), "printed", &eb) == SL_OK, "%s",
                  eb.msg);
    ck_assert_int_eq(d.web_workers, 7);
    ck_assert_int_eq(d.web_socket_mode, 0640);
    ck_assert_str_eq(d.web_socket, c.web_socket);
}
END_TEST

START_TEST(test_markdown_table)
{
    static char buf[16384];
    FILE *f = fmemopen(buf, sizeof buf, "w");
    config_markdown_table(f);
    fclose(f);
    const char *head = "| setting | env | default | description |\n|---|---|---|---|\n";
    ck_assert_int_eq(strncmp(buf, head, strlen(head)), 0);
    int lines = 0;
    for (const char *p = buf; *p; p++)
        lines += *p == '\n';
    ck_assert_int_eq(lines, 2 + 13);
    ck_assert_ptr_nonnull(strstr(buf, "| `web_workers` | `SLUICE_WEB_WORKERS` | `4` |"));
    ck_assert_ptr_nonnull(strstr(buf, "| `database_url` | `SLUICE_DATABASE_URL` | (none) |"));
    ck_assert_ptr_nonnull(strstr(buf, "`<var>/run/sluice-web.sock`"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_settings_table);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_share_dir_from_cwd_with_sql);
    tcase_add_loop_test(tc, test_parse_ok, 0, sizeof parse_ok / sizeof parse_ok[0]);
    tcase_add_loop_test(tc, test_parse_errors, 0, sizeof parse_bad / sizeof parse_bad[0]);
    tcase_add_test(tc, test_parse_long_values);
    tcase_add_test(tc, test_parse_unterminated_buffer);
    tcase_add_test(tc, test_file_in_var_dir);
    tcase_add_test(tc, test_env_beats_file);
    tcase_add_test(tc, test_env_all_settings);
    tcase_add_test(tc, test_var_dir_from_env_finds_file_and_derives);
    tcase_add_test(tc, test_var_dir_from_file_derives);
    tcase_add_test(tc, test_explicit_config_must_exist);
    tcase_add_test(tc, test_file_error_names_path_and_line);
    tcase_add_loop_test(tc, test_env_errors_name_the_variable, 0,
                        sizeof env_bad / sizeof env_bad[0]);
    tcase_add_test(tc, test_env_too_long_is_an_error);
    tcase_add_loop_test(tc, test_mask_url, 0, sizeof mask_cases / sizeof mask_cases[0]);
    tcase_add_test(tc, test_mask_url_truncates);
    tcase_add_test(tc, test_print_masks);
    tcase_add_test(tc, test_printed_config_parses_back);
    tcase_add_test(tc, test_markdown_table);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
