/* upload.h - streaming uploads into a landing zone (upload.c).
 *
 * A file streams from the request body to <var>/landing/<zone id>/.tmp-<random>
 * (O_EXCL, 0640) while its SHA-256 (sha256.c: the CPU's SHA extensions, else
 * libsodium) and size are computed; past the zone's max_file_bytes the
 * upload stops at once (413) and the temporary file is deleted, so no more
 * than the limit is ever written. When the whole body
 * has arrived, every file of the request is fsynced, renamed to its id (the
 * name on disk is always sluice's own) and recorded in one control-database
 * transaction: the landing_files row, a landing.file_uploaded event on
 * stream 'landing:<zone id>' with its notifications enqueued, and a
 * 'landing.upload' audit row. The directory is fsynced before the commit; a
 * failed commit removes the files again. A client that goes away, a body cut
 * short or a malformed body leaves no file and no row. Memory stays flat:
 * one 64 KiB buffer and the multipart parser, whatever the file's size.
 *
 * Duplicates: a file whose SHA-256 equals a file of the same zone that is
 * not purged (and not itself a duplicate) is recorded as 'rejected' with
 * duplicate_of set and error "identical to file N"; its bytes are not kept
 * (stored_name NULL) and no event is appended, so it is never loaded and
 * fires no trigger. The answer still says 201 and names the original.
 *
 * Everything lives in the request arena. */
#ifndef SL_WEB_UPLOAD_H
#define SL_WEB_UPLOAD_H

#include "http.h"
#include "sha256.h"

#define UPLOAD_NAME_MAX 255                   /* bytes of a file's original name */
#define UPLOAD_MAX_FILES 64                   /* files (parts) in one request */
#define UPLOAD_ZONE_MAX (8LL << 30)           /* the largest max_file_bytes of a zone */
#define UPLOAD_ROUTE_MAX (UPLOAD_ZONE_MAX + (1LL << 20)) /* routes' body limit */
#define UPLOAD_CHUNK (64 * 1024)              /* bytes read from the body at a time */

/* The zone a request uploads into. */
typedef struct {
    const char *id, *name;
    long long max_file_bytes;
} upload_zone;

typedef struct {
    const char *name;          /* sanitised original name (NULL: none usable yet) */
    const char *content_type;
    const char *tmp;           /* temporary path; NULL once renamed or removed */
    const char *final;         /* the path it was renamed to (until committed) */
    int fd;
    int empty_name;            /* the part had filename="" (no file chosen) */
    long long size;
    sha256_ctx sha;
    char sha256[65];
    const char *id;            /* after upload_commit: the file's id */
    const char *duplicate_of;  /* after upload_commit: NULL or the original's id */
} upload_file;

typedef struct {
    request *r;
    upload_zone zone;
    const char *dir;           /* <var>/landing/<zone id> */
    upload_file files[UPLOAD_MAX_FILES];
    int nfiles;
    upload_file *cur;          /* the file being written */
    int skipping;              /* the current multipart part is not a file */
    int status;                /* why it failed: an HTTP status ... */
    const char *why;           /* ... and a message for people */
} upload;

/* The name a file is known by, from what a client sent: the part after the
 * last '/' or '\', without control characters (C0, DEL, C1) or bidirectional
 * overrides, invalid UTF-8 bytes replaced by '_', surrounding spaces trimmed,
 * at most UPLOAD_NAME_MAX bytes (cut at a character boundary, keeping an
 * extension of up to 16 bytes). NULL when nothing is left or it is "." or
 * "..". Lives in a. */
char *upload_clean_name(arena *a, const char *raw);

/* Receive a raw body (PUT) as one file named raw_name into zone. 0 when it
 * was stored and recorded (u->files[0] has its id); otherwise the HTTP
 * status (u->why says why): 413 too large, 422 unusable name, 400 body cut
 * off, 500 / 503 disk or database. Nothing is left behind on failure. */
int upload_raw(request *r, const upload_zone *zone, const char *raw_name, upload *u);

/* Receive a multipart/form-data body: every part with a filename is a file
 * (parts without one are read past; a part with filename="" and no bytes,
 * what a browser sends when no file was chosen, is ignored). All files are
 * recorded together or none is. 0 on success (u->nfiles >= 1); otherwise the
 * status as upload_raw, plus 415 (not multipart/form-data), 400 (malformed
 * body) and 422 (no file in it). */
int upload_multipart(request *r, const upload_zone *zone, upload *u);

#endif
