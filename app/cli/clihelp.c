/* clihelp.c - usage errors, port checks and the stdin password sealed under
 * the master key, for the stack-setup commands (see clihelp.h). */
#include "clihelp.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "crypto.h"
#include "keyring.h"

int clihelp_usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "sluice %s: ", cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nRun `sluice %s --help` for its options.\n", cmd);
    return 2;
}

int clihelp_port_ok(const char *port)
{
    char *end;
    errno = 0;
    long n = strtol(port, &end, 10);
    return !errno && end != port && !*end && n >= 1 && n <= 65535;
}

/* The first line of stdin (without "\n" / "\r\n") into buf; 0, or 1 after
 * printing why (too long, or a control character). Byte by byte, so no
 * copy of the password sits in a stdio buffer. */
static int read_line(const char *cmd, char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        char c;
        ssize_t got = read(STDIN_FILENO, &c, 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0 || c == '\n')
            break;
        if (n + 1 >= cap)
            return acct_fail(cmd, "the password is longer than %d bytes", ACCT_PASSWORD_MAX);
        buf[n++] = c;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
            return acct_fail(cmd, "the password must not contain control characters");
    return 0;
}

int clihelp_start_sealed(acct_run *r, const char *cmd, const sl_config *cfg,
                         const char **sealed)
{
    char pw[ACCT_PASSWORD_MAX + 2];
    if (read_line(cmd, pw, sizeof pw) || acct_start(r, cmd, cfg)) {
        sodium_memzero(pw, sizeof pw);
        return 1;
    }
    unsigned char key[CR_KEY_BYTES];
    sl_err e = keyring_load(cfg, r->d, key, &r->eb);
    sodium_memzero(key, sizeof key);
    if (e != SL_OK) {
        sodium_memzero(pw, sizeof pw);
        return acct_finish(r, acct_fail(cmd, "%s", r->eb.msg));
    }
    *sealed = pw[0] ? keyring_seal(r->a, pw) : NULL;
    sodium_memzero(pw, sizeof pw);
    return 0;
}
