/* http.h - one FastCGI request and its response, as handlers see them.
 *
 * A request lives in the worker's request arena: every string here is valid
 * until the accept loop resets the arena. Handlers fill the response through
 * the http_* functions; the worker sends it after the handler returns.
 * Bodies are buffered up to a cap; large responses may stream instead. */
#ifndef SL_HTTP_H
#define SL_HTTP_H

#include <jansson.h>
#include <stddef.h>

#include "arena.h"
#include "config.h"
#include "db.h"
#include "err.h"
#include "sbuf.h"

#define HTTP_MAX_PARAMS 8
#define HTTP_MAX_RESPONSE (64 * 1024 * 1024)
#define HTTP_MAX_HEADERS_BYTES (16 * 1024)

struct route;
struct worker;
struct tpl_set;

/* Roles, ordered: a route's minimum role is compared with >=. */
enum role { ROLE_PUBLIC = 0, ROLE_VIEWER, ROLE_EDITOR, ROLE_ADMIN };

typedef struct request {
    arena *a;
    void *fcgi;               /* FCGX_Request *, private to http.c/worker.c */
    struct worker *w;         /* the worker: config, db, templates */
    const sl_config *cfg;
    db *db;

    const char *method;       /* "GET", ... */
    const char *uri;          /* raw request URI as sent */
    const char *path;         /* raw path (percent-encoded), without query */
    const char *query;        /* raw query string, "" when none */
    const char *remote_addr;
    const char *request_id;
    const char *content_type; /* "" when none */
    long long content_length; /* -1 when the request has no body */
    int https;                /* the client talked TLS to the front */

    const struct route *route;
    const char *param_names[HTTP_MAX_PARAMS];
    const char *param_values[HTTP_MAX_PARAMS]; /* decoded path parameters */
    int nparams;

    void *form;               /* parsed form fields (form.c) */
    int audited;              /* a handler wrote an audit row for this request */
    char *body;               /* after http_read_body: NUL-terminated */
    size_t body_len;
    int body_read;
    long long body_streamed;  /* bytes read so far by http_body_read */
    int body_eof;             /* http_body_read reached the end of the body */

    /* The signed-in principal, filled by the auth layer (0 = anonymous). */
    int role;
    const char *user_id;
    const char *user_email;
    const char *user_name;
    const char *session_id;   /* the cookie session, when there is one */
    const char *csrf_token;   /* the session's CSRF token */
    int via_token;            /* authenticated by an API bearer token */

    /* Response. */
    int status;
    sbuf headers;             /* "Name: value\r\n" lines */
    sbuf out;                 /* body, unless streaming */
    int streaming;            /* headers sent; body written through */
    int responded;            /* a handler produced a response */
    int io_error;             /* the client went away */
} request;

/* Value of a FastCGI parameter (e.g. "HTTP_COOKIE"), or NULL. */
const char *http_param(const request *r, const char *name);
/* Request header by its HTTP name ("Content-Type"), or NULL. */
const char *http_header(const request *r, const char *name);
/* A decoded path parameter by name, or NULL. */
const char *http_path_param(const request *r, const char *name);
/* A decoded query parameter by name (first occurrence), or NULL. */
const char *http_query(const request *r, const char *name);

/* One name=value pair of a query string, as raw (still percent-encoded)
 * slices of it; value is NULL when the pair has no '='. */
typedef struct {
    const char *name, *value;
    size_t name_len, value_len;
} http_qpair;

/* Step through a query string split at '&': the pair at *p goes into *q and
 * *p moves past it. Start with *p = r->query (NULL is fine); returns 0 when
 * no pair is left. Empty pairs ("a=1&&b") are returned too. */
int http_query_next(const char **p, http_qpair *q);
/* The first pair of r's query string whose name decodes to name, into *q;
 * 0 when there is none. The decoded name lives in r's arena. */
int http_query_find(const request *r, const char *name, http_qpair *q);

/* Read the whole body (at most max bytes). SL_ETOOBIG when CONTENT_LENGTH
 * or the bytes sent exceed max, SL_EINVAL when fewer bytes than announced
 * arrive, SL_EIO on a read error. Idempotent. */
sl_err http_read_body(request *r, size_t max, sl_errbuf *eb);

/* Stream the body instead (uploads): read up to n bytes into buf, as they
 * arrive. Returns the bytes read (> 0), 0 at the end of the body (all of
 * CONTENT_LENGTH, or the end of a chunked body nginx passes through), or -1
 * with eb: SL_ETOOBIG once the running total passes the route's limit
 * (max_body, else SLUICE_WEB_MAX_BODY), SL_EIO when the client went away
 * (fewer bytes than CONTENT_LENGTH, or a chunked body cut off), SL_EINVAL
 * after http_read_body. Nothing is buffered beyond libfcgi's own buffer. */
long http_body_read(request *r, void *buf, size_t n, sl_errbuf *eb);

/* Percent-decode (and '+' -> ' ' when form is set) into the arena. NULL when
 * the input has a bad escape, a NUL or a control character. */
char *http_decode(arena *a, const char *s, size_t n, int form);

/* Response building. Header names and values with CR, LF or NUL are
 * dropped (and logged): a handler can never split a response. */
void http_set_status(request *r, int status);
void http_add_header(request *r, const char *name, const char *value);
void http_write(request *r, const void *p, size_t n);
void http_puts(request *r, const char *s);
void http_printf(request *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Whole responses. Each sets status, Content-Type and body. */
void http_send(request *r, int status, const char *content_type, const char *body, size_t n);
/* JSON body; steals the reference to v. */
void http_send_json(request *r, int status, json_t *v);
/* application/problem+json with type/title/status/detail; errors (field ->
 * message object, may be NULL) is stolen. */
void http_problem(request *r, int status, const char *detail, json_t *errors);
/* 303 See Other (or the status given) to a local path. */
void http_redirect(request *r, int status, const char *location);
/* An error response that suits the route: problem+json for API routes and
 * for clients that ask for JSON, an HTML page otherwise. */
void http_error(request *r, int status, const char *detail);

/* Send the headers now and write the body straight to the client from here
 * on (for downloads and streams). */
void http_begin_stream(request *r);

/* The HTTP status that an sl_err should produce. */
int http_status_for(sl_err e);
/* Reason phrase for a status code ("Not Found"). */
const char *http_reason(int status);
/* 1 when the request prefers JSON (API route, Accept or Content-Type). */
int http_wants_json(const request *r);

/* Worker-internal: set up a request from an accepted FastCGI request, and
 * send the buffered response. */
sl_err http_request_init(request *r, arena *a, void *fcgi, sl_errbuf *eb);
void http_finish(request *r);

#endif
