/* health.c - liveness and metrics endpoints.
 *
 * /healthz answers 200 only when the control database answers a query, so
 * a load balancer takes a worker host out while its database is away. */
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "handlers.h"
#include "metrics.h"
#include "router.h"
#include "worker.h"

void h_healthz(request *r)
{
    sl_errbuf eb = {0};
    sl_err e = SL_ECONFIG;
    char *one = NULL;
    if (r->cfg->database_url[0])
        e = db_query_value(r->db, r->a, &eb, &one, "SELECT 1", 0, NULL);
    else
        sl_fail(&eb, SL_ECONFIG, "SLUICE_DATABASE_URL is not set");
    int up = e == SL_OK && one && strcmp(one, "1") == 0;
    if (!up && e != SL_ECONFIG)
        metrics_db_error();

    json_t *body = json_object();
    json_object_set_new(body, "status", json_string(up ? "ok" : "unavailable"));
    json_object_set_new(body, "database", json_string(up ? "up" : "down"));
    if (!up)
        json_object_set_new(body, "error", json_string(sl_strerror(e)));
    json_object_set_new(body, "version", json_string(SLUICE_VERSION));
    json_object_set_new(body, "pid", json_integer(getpid()));
    http_send_json(r, up ? 200 : 503, body);
}

static const char *route_label(int i)
{
    size_t n;
    const struct route *t = routes_table(&n);
    return i >= 0 && (size_t)i < n ? t[i].pattern : "unmatched";
}

void h_metrics(request *r)
{
    sbuf out;
    sb_init(&out, r->a, 4 * 1024 * 1024);
    if (metrics_render(&out, route_label) != SL_OK) {
        http_error(r, 500, "metrics unavailable");
        return;
    }
    http_send(r, 200, "text/plain; version=0.0.4; charset=utf-8", sb_str(&out), out.len);
}
