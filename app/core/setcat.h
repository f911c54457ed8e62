/* setcat.h - the catalog of the settings people edit: every field of
 * sluice.settings that the console and the API show, with its type, range,
 * default, label and the page section it appears in.
 *
 * The catalog is the one place a setting's default and range are written
 * down for the readers in app/core (the reaper) and the settings page and
 * API in app/web: setcat_int() reads a field from a settings object with the
 * catalog's default and range, setcat_parse_*() validate what a person
 * typed or sent. Rows of sluice.settings may hold other keys too; those are
 * kept as they are and not shown. Nothing here holds a secret: a secret
 * never belongs in sluice.settings (credentials live sealed in their own
 * tables). */
#ifndef SL_SETCAT_H
#define SL_SETCAT_H

#include <jansson.h>
#include <stddef.h>

#include "arena.h"

typedef enum {
    SETCAT_INT = 0, /* whole number in [min, max] */
    SETCAT_NUM,     /* any number in [min, max] */
    SETCAT_BOOL,    /* true / false (a checkbox) */
    SETCAT_URL      /* an http(s) URL of at most max characters */
} setcat_type;

typedef struct {
    const char *group;    /* the sluice.settings key: "retention", "scheduler", ... */
    const char *name;     /* the field of its JSON object */
    const char *section;  /* the page section it is shown in (usually the group) */
    setcat_type type;
    long long min, max;   /* INT / NUM range; URL: maximum length */
    double def;           /* default of INT / NUM / BOOL (0 / 1) */
    const char *def_text; /* default of URL */
    const char *label;
    const char *unit;     /* "days", "seconds", ...; NULL for none */
    const char *help;     /* one sentence under the input; NULL for none */
} setcat_field;

typedef struct {
    const char *key;      /* the section's id, also the group it mostly edits */
    const char *title;
    const char *intro;    /* a sentence under the heading */
    int optional;         /* shown only when its group's row exists (notifications) */
} setcat_section;

/* Every field, in page order (static storage). */
const setcat_field *setcat_fields(size_t *n);
/* Every section, in page order (static storage). */
const setcat_section *setcat_sections(size_t *n);

/* The field group.name, or NULL. */
const setcat_field *setcat_find(const char *group, const char *name);
/* The section with key, or NULL. */
const setcat_section *setcat_section_find(const char *key);
/* 1 when some field lives in group (a sluice.settings key the catalog edits). */
int setcat_group_known(const char *group);

/* obj[name] of an INT field of the catalog, with its default and range
 * (obj may be NULL; a missing, mistyped or out-of-range value gives the
 * default). Aborts (sl_panic) when group.name is not in the catalog: that
 * is a programming error. */
long long setcat_int(const json_t *obj, const char *group, const char *name);

/* The effective value of f in obj (the group's stored object, may be NULL):
 * the stored value when it is valid for f, else the default. A new
 * reference the caller owns. */
json_t *setcat_value(const setcat_field *f, const json_t *obj);

/* Validate a JSON value sent for f. Returns a new reference to the value to
 * store (integers stay integers; an INT sent as 5.0 becomes 5), or NULL with
 * *msg set to a sentence for the person ("must be a whole number from 0 to
 * 36500"), living in a. */
json_t *setcat_check_json(arena *a, const setcat_field *f, const json_t *v, const char **msg);

/* Validate what a person typed into a form for f (text: the field's value,
 * NULL when absent; for BOOL, NULL means unchecked). Same results as
 * setcat_check_json. */
json_t *setcat_check_text(arena *a, const setcat_field *f, const char *text, const char **msg);

/* Rules between the fields of one group, checked on the merged object
 * (stored values with the changes applied). Returns NULL when they hold,
 * else a sentence and, in *field, the field it belongs to. */
const char *setcat_check_group(arena *a, const char *group, const json_t *merged,
                               const char **field);

#endif
