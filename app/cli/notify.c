/* notify.c - `sluice notify`: deliver the notification outbox now.
 *
 * The command around outbox_run() (outbox.h): options, the keyring (to
 * open targets' secrets), stop signals, a summary line and the exit
 * status. Each tick does the same as its "notify" housekeeping job. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "keyring.h"
#include "log.h"
#include "outbox.h"
#include "runner.h"

#define CMD "notify"

static const char USAGE[] =
    "usage: sluice notify [--once] [--batch N] [--drain [--max-seconds S]]\n"
    "\n"
    "Deliver queued notification messages (the outbox that finishing a run\n"
    "fills) to Slack, Discord, Telegram and webhook targets, until no message\n"
    "is due; each tick does this too. Messages are claimed in batches (FOR\n"
    "UPDATE SKIP LOCKED), so any number of `sluice notify` and ticks may run at\n"
    "once without sending a message twice; the messages of one that is killed\n"
    "come back after the visibility timeout. A 2xx answer delivers; 408, 429,\n"
    "5xx, redirects (never followed) and transport errors are retried with\n"
    "exponential backoff and jitter (never sooner than Retry-After) until\n"
    "max_attempts, then the message is dead-lettered; other 4xx dead-letter it\n"
    "at once; 410 also disables the target. Every attempt is recorded.\n"
    "\n"
    "  --once          claim one batch, deliver it and exit\n"
    "  --batch N       messages per claim (1..1000; default: the setting)\n"
    "  --drain         also wait for queued messages that are not due yet\n"
    "                  (retries, claims of a stopped deliverer) until none is\n"
    "                  queued\n"
    "  --max-seconds S stop claiming after S seconds\n"
    "  --help          this text\n"
    "\n"
    "Settings (sluice.settings 'notifications'): max_attempts (8),\n"
    "base_backoff_seconds (10), max_backoff_seconds (21600),\n"
    "visibility_timeout_seconds (300), batch_size (100), concurrency (8),\n"
    "timeout_seconds (10), allow_private_networks (false).\n"
    "\n"
    "Exit status: 0 when every claimed message was handled, 1 when the\n"
    "database failed or a stop signal came, 2 for a usage error.\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "sluice " CMD ": ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nRun `sluice " CMD " --help` for its options.\n");
    return 2;
}

static int number(const char *s, long min, long max, long *out)
{
    char *end;
    if (!s || !*s)
        return 0;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return 0;
    *out = v;
    return 1;
}

int cmd_notify(int argc, char **argv, const sl_config *cfg)
{
    outbox_opts o = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long v;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(USAGE, stdout);
            return 0;
        } else if (strcmp(a, "--once") == 0) {
            o.max_batches = 1;
        } else if (strcmp(a, "--drain") == 0) {
            o.drain = 1;
        } else if (strcmp(a, "--batch") == 0) {
            if (!number(i + 1 < argc ? argv[i + 1] : NULL, 1, 1000, &v))
                return usage_error("--batch needs a number from 1 to 1000%s", "");
            o.batch = (int)v;
            i++;
        } else if (strcmp(a, "--max-seconds") == 0) {
            if (!number(i + 1 < argc ? argv[i + 1] : NULL, 1, 86400, &v))
                return usage_error("--max-seconds needs a number from 1 to 86400%s", "");
            o.max_seconds = (double)v;
            i++;
        } else {
            return usage_error("unexpected argument '%s'", a);
        }
    }
    if (o.max_batches && o.drain)
        return usage_error("--once and --drain do not go together%s", "");

    sl_errbuf eb = {0};
    db *d = db_open(cfg->database_url, cfg->db_connect_timeout, &eb);
    if (!d) {
        fprintf(stderr, "sluice " CMD ": control database unavailable: %s\n", eb.msg);
        return 1;
    }
    unsigned char key[CR_KEY_BYTES];
    sl_err e = keyring_load(cfg, d, key, &eb);
    sodium_memzero(key, sizeof key);
    if (e) {
        fprintf(stderr, "sluice " CMD ": %s\n", eb.msg);
        db_close(d);
        return 1;
    }
    runner_signals();
    o.stop = runner_stopping;
    outbox_counts n = {0};
    e = outbox_run(d, cfg->base_url[0] ? cfg->base_url : NULL, &o, &n, &eb);
    db_close(d);
    printf("notify: %ld claimed, %ld delivered, %ld to retry, %ld dead-lettered"
           ", %ld target(s) disabled, %ld stopped claim(s) taken over\n",
           n.claimed, n.delivered, n.retried, n.dead, n.disabled, n.expired);
    if (e) {
        fprintf(stderr, "sluice " CMD ": %s\n", eb.msg);
        return 1;
    }
    return runner_stopping() ? 1 : 0;
}
