/* pool.c - master process of sluice-web (see pool.h).
 *
 * Signals arrive through a signalfd so the master is one poll() loop with
 * no async-signal-safety puzzles. Worker slots are a fixed array twice the
 * pool size, so a rolling restart can run old and new workers side by side.
 * The backoff is per pool: consecutive workers that die within
 * START_GRACE_MS of starting double the delay before the next fork, up to
 * MAX_BACKOFF_MS; one worker that lives past the grace period resets it. */
#include "pool.h"

#include <errno.h>
#include <fcgiapp.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "router.h"
#include "worker.h"

#define START_GRACE_MS 1000
#define MAX_BACKOFF_MS 10000
#define DRAIN_TIMEOUT_MS 30000
#define RESIGNAL_MS 200

struct slot {
    pid_t pid;
    int64_t started_ms;
    int retiring; /* asked to stop (roll or drain); not counted as active */
};

struct pool {
    const sl_config *cfg;
    int listen_fd;
    struct slot *slots;
    int nslots;
    int fail_streak;
    int64_t next_fork_ms;
    int draining;
    int64_t drain_deadline_ms;
    int64_t last_signal_ms;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int open_socket(const sl_config *cfg)
{
    unlink(cfg->web_socket); /* a stale socket from a crash; we own the path */
    int fd = FCGX_OpenSocket(cfg->web_socket, 256);
    if (fd < 0) {
        log_error("cannot listen on %s: %s", cfg->web_socket, strerror(errno));
        return -1;
    }
    if (chmod(cfg->web_socket, (mode_t)cfg->web_socket_mode) != 0)
        log_warn("chmod %s: %s", cfg->web_socket, strerror(errno));
    return fd;
}

static int count_children(const struct pool *p, int active_only)
{
    int n = 0;
    for (int i = 0; i < p->nslots; i++)
        if (p->slots[i].pid > 0 && (!active_only || !p->slots[i].retiring))
            n++;
    return n;
}

static void spawn(struct pool *p, int sfd)
{
    int i;
    for (i = 0; i < p->nslots && p->slots[i].pid > 0; i++)
        ;
    if (i == p->nslots)
        return;
    pid_t pid = fork();
    if (pid < 0) {
        log_error("fork: %s", strerror(errno));
        p->next_fork_ms = now_ms() + 1000;
        return;
    }
    if (pid == 0) {
        close(sfd);
        _exit(worker_main(p->cfg, p->listen_fd, i));
    }
    p->slots[i].pid = pid;
    p->slots[i].started_ms = now_ms();
    p->slots[i].retiring = 0;
}

static void signal_workers(struct pool *p, int sig, int retiring_only)
{
    for (int i = 0; i < p->nslots; i++)
        if (p->slots[i].pid > 0 && (!retiring_only || p->slots[i].retiring))
            kill(p->slots[i].pid, sig);
    p->last_signal_ms = now_ms();
}

static void reap(struct pool *p)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        int i;
        for (i = 0; i < p->nslots && p->slots[i].pid != pid; i++)
            ;
        if (i == p->nslots)
            continue;
        struct slot *s = &p->slots[i];
        int64_t lived = now_ms() - s->started_ms;
        int clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        int planned = s->retiring || p->draining;
        if (!clean && !planned) {
            if (WIFSIGNALED(status))
                log_warn("worker %d (pid %d) killed by signal %d after %lld ms", i, (int)pid,
                         WTERMSIG(status), (long long)lived);
            else
                log_warn("worker %d (pid %d) exited with status %d after %lld ms", i, (int)pid,
                         WEXITSTATUS(status), (long long)lived);
        }
        if (!planned) {
            if (!clean && lived < START_GRACE_MS) {
                p->fail_streak++;
                int64_t delay = 100LL << (p->fail_streak < 8 ? p->fail_streak : 8);
                p->next_fork_ms = now_ms() + (delay > MAX_BACKOFF_MS ? MAX_BACKOFF_MS : delay);
                log_warn("worker died at start; next start in %lld ms",
                         (long long)(p->next_fork_ms - now_ms()));
            } else {
                p->fail_streak = 0;
            }
            metrics_worker_restart(!clean);
        } else if (!p->draining) {
            metrics_worker_restart(0);
        }
        s->pid = 0;
        s->retiring = 0;
    }
}

static void roll(struct pool *p, int sfd)
{
    log_info("rolling workers");
    for (int i = 0; i < p->nslots; i++)
        if (p->slots[i].pid > 0)
            p->slots[i].retiring = 1;
    p->fail_streak = 0;
    p->next_fork_ms = 0;
    for (int n = 0; n < p->cfg->web_workers; n++)
        spawn(p, sfd);
    signal_workers(p, SIGTERM, 1);
}

static void handle_signals(struct pool *p, int sfd)
{
    struct signalfd_siginfo si;
    while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        switch (si.ssi_signo) {
        case SIGCHLD:
            reap(p);
            break;
        case SIGHUP:
            if (!p->draining)
                roll(p, sfd);
            break;
        case SIGTERM:
        case SIGINT:
            if (!p->draining) {
                log_info("draining %d workers", count_children(p, 0));
                p->draining = 1;
                p->drain_deadline_ms = now_ms() + DRAIN_TIMEOUT_MS;
                signal_workers(p, SIGTERM, 0);
            }
            break;
        default:
            break;
        }
    }
}

int pool_run(const sl_config *cfg)
{
    if (FCGX_Init() != 0) {
        log_error("FCGX_Init failed");
        return 1;
    }
    struct pool p = {0};
    p.cfg = cfg;
    p.nslots = cfg->web_workers * 2;
    p.slots = xcalloc((size_t)p.nslots, sizeof *p.slots);
    size_t nroutes;
    routes_table(&nroutes);
    metrics_init(nroutes);

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0) {
        log_error("signalfd: %s", strerror(errno));
        return 1;
    }
    p.listen_fd = open_socket(cfg);
    if (p.listen_fd < 0)
        return 1;
    log_info("listening on %s with %d workers", cfg->web_socket, cfg->web_workers);

    for (;;) {
        int64_t now = now_ms();
        if (!p.draining) {
            while (count_children(&p, 1) < cfg->web_workers && now >= p.next_fork_ms &&
                   count_children(&p, 0) < p.nslots) {
                spawn(&p, sfd);
                if (p.fail_streak)
                    break; /* one at a time while workers keep dying */
            }
        } else {
            if (count_children(&p, 0) == 0)
                break;
            if (now >= p.drain_deadline_ms) {
                log_warn("drain timed out; killing %d workers", count_children(&p, 0));
                signal_workers(&p, SIGKILL, 0);
            } else if (now - p.last_signal_ms >= RESIGNAL_MS) {
                signal_workers(&p, SIGTERM, 0); /* one blocked in accept may have missed it */
            }
        }
        if (p.nslots && now - p.last_signal_ms >= RESIGNAL_MS && count_children(&p, 0) >
            count_children(&p, 1))
            signal_workers(&p, SIGTERM, 1); /* retiring workers idle in accept */
        metrics_set_workers(count_children(&p, 0));

        int timeout = 1000;
        if (p.draining || count_children(&p, 0) > count_children(&p, 1))
            timeout = RESIGNAL_MS;
        else if (count_children(&p, 1) < cfg->web_workers)
            timeout = (int)(p.next_fork_ms > now ? p.next_fork_ms - now : 0);
        struct pollfd pfd = {.fd = sfd, .events = POLLIN};
        if (poll(&pfd, 1, timeout) > 0)
            handle_signals(&p, sfd);
    }
    close(p.listen_fd);
    unlink(cfg->web_socket);
    free(p.slots);
    close(sfd);
    log_info("stopped");
    return 0;
}
