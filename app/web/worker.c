/* worker.c - the accept loop of one FastCGI worker, and request dispatch.
 *
 * Shape of one iteration: reset the request arena, accept, build the
 * request, check the body limit, route (404/405), auth_guard (roles, CSRF),
 * run the handler, send, count, log. SIGTERM makes the loop finish the
 * request in hand and return; so does reaching max_requests. */
#include "worker.h"

#include <errno.h>
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "auth.h"
#include "features.h"
#include "log.h"
#include "metrics.h"
#include "router.h"

static volatile sig_atomic_t g_stop;

static void on_term(int sig)
{
    (void)sig;
    g_stop = 1;
    FCGX_ShutdownPending();
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void web_db_error(request *r, sl_err e, const sl_errbuf *eb)
{
    metrics_db_error();
    log_error("database: %s", eb && eb->msg[0] ? eb->msg : sl_strerror(e));
    http_error(r, e == SL_EDBDOWN ? 503 : 500,
               e == SL_EDBDOWN ? "the database is unavailable; try again shortly"
                               : "a database error occurred");
}

static void dispatch(struct worker *w, request *r)
{
    char allow[128];
    const struct route *any = router_find_path(r->path);
    long long limit = any && any->max_body ? any->max_body : w->cfg->web_max_body;
    if (r->content_length > limit) {
        char *msg = arena_printf(r->a, "the request body is larger than %lld bytes", limit);
        http_error(r, 413, msg);
        return;
    }
    switch (router_match(r, allow, sizeof allow)) {
    case ROUTER_FOUND:
        break;
    case ROUTER_NOT_FOUND:
        http_error(r, 404, "no such page");
        return;
    case ROUTER_BAD_METHOD:
        http_add_header(r, "Allow", allow);
        http_error(r, 405, arena_printf(r->a, "use %s", allow));
        return;
    case ROUTER_BAD_PATH:
        http_error(r, 400, "the path has a bad escape or a control character");
        return;
    }
    log_set_context(r->request_id, r->route->pattern);
    if (!auth_guard(r))
        return;
    if (!features_gate(r)) /* a route of a feature turned off: 404 */
        return;
    r->route->handler(r);
    if (!r->responded) {
        log_error("handler for %s %s produced no response", r->method, r->route->pattern);
        http_error(r, 500, "no response");
    }
    audit_fallback(r);
}

void worker_handle(struct worker *w, void *fcgi_request)
{
    request r;
    sl_errbuf eb = {0};
    double t0 = now_seconds();
    sl_err e = http_request_init(&r, w->a, fcgi_request, &eb);
    r.w = w;
    r.cfg = w->cfg;
    r.db = w->db;
    db_rollback(w->db); /* a transaction a previous request left open ends here */
    log_set_context(r.request_id, NULL);
    if (e != SL_OK)
        http_error(&r, 400, eb.msg);
    else
        dispatch(w, &r);
    http_finish(&r);

    double dt = now_seconds() - t0;
    metrics_request(router_index(r.route), r.status, dt);
    json_t *f = json_pack("{s:s, s:s, s:i, s:f, s:s}", "method", r.method, "path", r.path,
                          "status", r.status, "duration_ms", dt * 1000.0, "remote_addr",
                          r.remote_addr);
    sl_log_fields(r.status >= 500 ? LOG_ERROR : LOG_INFO, f, "request");
    log_set_context(NULL, NULL);
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term; /* no SA_RESTART: a blocked accept returns */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Worker start-up hook for later layers (templates, crypto keys). Returns
 * non-zero when the worker cannot serve; the master then backs off. */
int (*worker_init_hook)(struct worker *w);

int worker_main(const sl_config *cfg, int listen_fd, int index)
{
    install_signals();
    srandom((unsigned)(getpid() ^ time(NULL)));
    struct worker w = {0};
    w.cfg = cfg;
    w.index = index;
    w.a = arena_new(64 * 1024);
    w.db = db_open_lazy(cfg->database_url, cfg->db_connect_timeout);
    if (worker_init_hook && worker_init_hook(&w) != 0) {
        log_error("worker %d failed to start", index);
        return 1;
    }

    FCGX_Request req;
    if (FCGX_InitRequest(&req, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
        log_error("FCGX_InitRequest failed");
        return 1;
    }
    log_debug("worker %d ready", index);
    while (!g_stop && (cfg->web_max_requests <= 0 ||
                       w.served < (unsigned long)cfg->web_max_requests)) {
        arena_reset(w.a);
        if (FCGX_Accept_r(&req) < 0) {
            if (g_stop)
                break;
            if (errno == EINTR)
                continue;
            log_error("accept failed: %s", strerror(errno));
            usleep(100 * 1000);
            continue;
        }
        worker_handle(&w, &req);
        FCGX_Finish_r(&req);
        w.served++;
    }
    arena_reset(w.a);
    log_debug("worker %d exiting after %lu requests", index, w.served);
    db_close(w.db);
    arena_free(w.a);
    return 0;
}
