/* check_landing_parse.c - unit tests for reading landing files
 * (app/sync/landing_types.c, landing_csv.c, landing_jsonl.c): CSV quoting,
 * embedded newlines, byte order marks, CRLF, other delimiters and quotes,
 * ragged and malformed records and their line numbers (fed whole, byte by
 * byte and in odd pieces); JSON Lines good and bad lines and exact member
 * texts; column names; inference and value checks, table-driven. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/landing_parse.h"

/* ---- CSV helpers ------------------------------------------------------------------ */

#define MAXREC 32

typedef struct {
    int n;
    long long line[MAXREC];
    int nf[MAXREC];
    char text[MAXREC][256];   /* fields joined with '|', NULL as <N> */
    char error[MAXREC][96];
    int stop_after;           /* 0: never stop */
} recs;

static int on_rec(void *arg, long long line, const lp_field *f, int nf, const char *error)
{
    recs *r = arg;
    if (r->n >= MAXREC)
        return 1;
    int i = r->n++;
    r->line[i] = line;
    r->nf[i] = nf;
    snprintf(r->error[i], sizeof r->error[i], "%s", error ? error : "");
    size_t o = 0;
    r->text[i][0] = '\0';
    for (int k = 0; k < nf; k++) {
        if (k)
            o += (size_t)snprintf(r->text[i] + o, sizeof r->text[i] - o, "|");
        if (f[k].kind == LP_NULL)
            o += (size_t)snprintf(r->text[i] + o, sizeof r->text[i] - o, "<N>");
        else
            o += (size_t)snprintf(r->text[i] + o, sizeof r->text[i] - o, "%.*s", (int)f[k].n,
                                  f[k].p);
    }
    return r->stop_after && r->n >= r->stop_after;
}

/* Parse s with delim/quote, fed in pieces of step bytes (0: at once). */
static sl_err parse_csv(const char *s, size_t n, char delim, char quote, size_t step, recs *r)
{
    memset(r, 0, sizeof *r);
    lcsv *x = lcsv_new(delim, quote, on_rec, r);
    sl_errbuf eb = {0};
    sl_err e = SL_OK;
    if (step == 0)
        step = n ? n : 1;
    for (size_t i = 0; i < n && e == SL_OK; i += step)
        e = lcsv_feed(x, s + i, n - i < step ? n - i : step, &eb);
    if (e == SL_OK)
        e = lcsv_finish(x, &eb);
    lcsv_free(x);
    return e;
}

static const size_t steps[] = {0, 1, 2, 3, 7};

/* ---- CSV ---------------------------------------------------------------------- */

START_TEST(test_csv_quotes_newlines)
{
    const char *s = "id,name,note\n"
                    "1,\"Smith, John\",\"said \"\"hi\"\"\"\n"
                    "2,\"two\nlines\",plain\n"
                    "3,,\"\"\n";
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        recs r;
        ck_assert_int_eq(parse_csv(s, strlen(s), ',', '"', steps[k], &r), SL_OK);
        ck_assert_int_eq(r.n, 4);
        ck_assert_str_eq(r.text[0], "id|name|note");
        ck_assert_str_eq(r.text[1], "1|Smith, John|said \"hi\"");
        ck_assert_str_eq(r.text[2], "2|two\nlines|plain");
        ck_assert_str_eq(r.text[3], "3|<N>|");
        ck_assert_int_eq(r.line[0], 1);
        ck_assert_int_eq(r.line[1], 2);
        ck_assert_int_eq(r.line[2], 3);
        ck_assert_int_eq(r.line[3], 5); /* the record before took two lines */
        ck_assert_str_eq(r.error[3], "");
    }
}
END_TEST

START_TEST(test_csv_bom_crlf)
{
    const char *s = "\xEF\xBB\xBF" "a,b\r\n1,\"x\r\ny\"\r\n\r\n2,z\r\n";
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        recs r;
        ck_assert_int_eq(parse_csv(s, strlen(s), ',', '"', steps[k], &r), SL_OK);
        ck_assert_int_eq(r.n, 3);
        ck_assert_str_eq(r.text[0], "a|b"); /* no BOM in the first name */
        ck_assert_str_eq(r.text[1], "1|x\r\ny"); /* CRLF inside quotes is data */
        ck_assert_str_eq(r.text[2], "2|z");
        ck_assert_int_eq(r.line[2], 5); /* the blank line is skipped but counted */
    }
    /* A BOM anywhere else is data; a file that is only a BOM has no record. */
    recs r;
    ck_assert_int_eq(parse_csv("\xEF\xBB\xBF", 3, ',', '"', 1, &r), SL_OK);
    ck_assert_int_eq(r.n, 0);
    ck_assert_int_eq(parse_csv("\xEF\xBB", 2, ',', '"', 0, &r), SL_OK);
    ck_assert_int_eq(r.n, 1);
    ck_assert_str_eq(r.text[0], "\xEF\xBB");
    ck_assert_int_eq(parse_csv("x\n\xEF\xBB\xBFy", 6, ',', '"', 0, &r), SL_OK);
    ck_assert_str_eq(r.text[1], "\xEF\xBB\xBFy");
}
END_TEST

START_TEST(test_csv_delimiters_quotes)
{
    recs r;
    const char *s1 = "a;b;c\n1;'x;y';'it''s'\n";
    ck_assert_int_eq(parse_csv(s1, strlen(s1), ';', '\'', 0, &r), SL_OK);
    ck_assert_str_eq(r.text[1], "1|x;y|it's");
    const char *s2 = "a\tb\n \t\"q\"\n";
    ck_assert_int_eq(parse_csv(s2, strlen(s2), '\t', '"', 0, &r), SL_OK);
    ck_assert_str_eq(r.text[1], " |q"); /* spaces are data */
    const char *s3 = "a|b\n\"x|y\"|2\n";
    ck_assert_int_eq(parse_csv(s3, strlen(s3), '|', '"', 1, &r), SL_OK);
    ck_assert_str_eq(r.text[1], "x|y|2");
    ck_assert_int_eq(r.nf[1], 2);
    /* with ' as the quote, " is an ordinary character */
    const char *s4 = "\"a\",'b'\n";
    ck_assert_int_eq(parse_csv(s4, strlen(s4), ',', '\'', 0, &r), SL_OK);
    ck_assert_str_eq(r.text[0], "\"a\"|b");
}
END_TEST

START_TEST(test_csv_ragged_malformed)
{
    recs r;
    const char *s = "a,b\n1\n1,2,3\n,\nlast,\"never closed\n2,3\n";
    ck_assert_int_eq(parse_csv(s, strlen(s), ',', '"', 0, &r), SL_OK);
    ck_assert_int_eq(r.n, 5);
    ck_assert_int_eq(r.nf[1], 1);
    ck_assert_int_eq(r.nf[2], 3);
    ck_assert_str_eq(r.text[3], "<N>|<N>");
    ck_assert_int_eq(r.line[4], 5);
    ck_assert_str_eq(r.error[4], "has a quoted field that is never closed");
    ck_assert_str_eq(r.text[4], "last|never closed\n2,3\n");
    /* no final newline: the last record still comes */
    ck_assert_int_eq(parse_csv("a,b\n1,2", 7, ',', '"', 3, &r), SL_OK);
    ck_assert_int_eq(r.n, 2);
    ck_assert_str_eq(r.text[1], "1|2");
    ck_assert_str_eq(r.error[1], "");
    /* a lone CR ends a record on the same line; CRLF and LF count lines */
    ck_assert_int_eq(parse_csv("a\rb\nc\r\nd", 9, ',', '"', 0, &r), SL_OK);
    ck_assert_int_eq(r.n, 4);
    ck_assert_int_eq(r.line[1], 1);
    ck_assert_int_eq(r.line[2], 2);
    ck_assert_int_eq(r.line[3], 3);
    ck_assert_str_eq(r.text[3], "d");
    /* a stray quote inside an unquoted field is kept (not strict) */
    ck_assert_int_eq(parse_csv("ab\"c,d\n", 7, ',', '"', 0, &r), SL_OK);
    ck_assert_str_eq(r.text[0], "ab\"c|d");
    /* empty input, blank lines only */
    ck_assert_int_eq(parse_csv("", 0, ',', '"', 0, &r), SL_OK);
    ck_assert_int_eq(r.n, 0);
    ck_assert_int_eq(parse_csv("\n\r\n\n", 4, ',', '"', 0, &r), SL_OK);
    ck_assert_int_eq(r.n, 0);
}
END_TEST

START_TEST(test_csv_stop_and_caps)
{
    recs r;
    memset(&r, 0, sizeof r);
    r.stop_after = 2;
    lcsv *x = lcsv_new(',', '"', on_rec, &r);
    sl_errbuf eb = {0};
    ck_assert_int_eq(lcsv_feed(x, "1\n2\n3\n4\n", 8, &eb), SL_ECONFLICT);
    ck_assert_int_eq(r.n, 2);
    lcsv_free(x);
    /* too many fields: a malformed record, the next one is fine */
    size_t n = 5000 * 2 + 4;
    char *big = malloc(n);
    for (size_t i = 0; i < 5000; i++) {
        big[2 * i] = 'x';
        big[2 * i + 1] = ',';
    }
    memcpy(big + 10000, "x\ny\n", 4);
    ck_assert_int_eq(parse_csv(big, n, ',', '"', 0, &r), SL_OK);
    ck_assert_int_eq(r.n, 2);
    ck_assert_str_eq(r.error[0], "has more than 4096 fields");
    ck_assert_str_eq(r.text[1], "y");
    ck_assert_int_eq(r.line[1], 2);
    free(big);
}
END_TEST

/* ---- JSON Lines ------------------------------------------------------------------- */

typedef struct {
    int n;
    long long line[MAXREC];
    char text[MAXREC][128];
    int too_long[MAXREC];
} lines;

static int on_line(void *arg, long long line, const char *p, size_t n, int too_long)
{
    lines *l = arg;
    int i = l->n++;
    l->line[i] = line;
    l->too_long[i] = too_long;
    snprintf(l->text[i], sizeof l->text[i], "%.*s", (int)n, p);
    return 0;
}

START_TEST(test_jsonl_lines)
{
    const char *s = "\xEF\xBB\xBF{\"a\":1}\r\n\n  \n{\"a\":2}\n{\"a\":3}";
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        lines l = {0};
        lj_reader *x = lj_new(on_line, &l);
        size_t n = strlen(s), step = steps[k] ? steps[k] : n;
        for (size_t i = 0; i < n; i += step)
            ck_assert_int_eq(lj_feed(x, s + i, n - i < step ? n - i : step), SL_OK);
        ck_assert_int_eq(lj_finish(x), SL_OK);
        lj_free(x);
        ck_assert_int_eq(l.n, 3);
        ck_assert_str_eq(l.text[0], "{\"a\":1}");
        ck_assert_int_eq(l.line[0], 1);
        ck_assert_int_eq(l.line[1], 4);
        ck_assert_str_eq(l.text[2], "{\"a\":3}");
        ck_assert_int_eq(l.line[2], 5);
    }
}
END_TEST

START_TEST(test_jsonl_objects)
{
    arena *a = arena_new(0);
    lj_member m[8];
    const char *why = NULL;
    const char *ok = "{\"id\": 12345678901234567890, \"x\":0.1, \"s\":\"a\\tb\\u00e9\","
                     " \"o\": {\"k\": [1, \"}\"]}, \"b\":true, \"n\":null, \"k\\\"q\": \"\"}";
    int n = lj_object(a, ok, strlen(ok), m, 8, &why);
    ck_assert_int_eq(n, 7);
    ck_assert_str_eq(m[0].key, "id");
    ck_assert_int_eq(m[0].v.kind, LP_JNUMBER);
    ck_assert_int_eq((int)m[0].v.n, 20);
    ck_assert_int_eq(memcmp(m[0].v.p, "12345678901234567890", 20), 0); /* every digit */
    ck_assert_int_eq(memcmp(m[1].v.p, "0.1", m[1].v.n), 0);
    ck_assert_int_eq(m[2].v.kind, LP_TEXT);
    ck_assert_str_eq(m[2].v.p, "a\tb\xC3\xA9");
    ck_assert_int_eq((int)m[2].v.raw_n, (int)strlen("\"a\\tb\\u00e9\""));
    ck_assert_int_eq(m[3].v.kind, LP_JCOMPOSITE);
    ck_assert_int_eq(memcmp(m[3].v.p, "{\"k\": [1, \"}\"]}", m[3].v.n), 0);
    ck_assert_int_eq(m[4].v.kind, LP_JBOOL);
    ck_assert_int_eq(m[5].v.kind, LP_NULL);
    ck_assert_str_eq(m[6].key, "k\"q");
    ck_assert_int_eq((int)m[6].v.n, 0);

    static const struct {
        const char *line, *why;
    } bad[] = {
        {"[1,2]", "is not a JSON object"},
        {"42", "is not a JSON object"},
        {"\"s\"", "is not a JSON object"},
        {"{\"a\":1,\"a\":2}", "has a key twice"},
        {"{\"a\":1", "is not valid JSON"},
        {"{\"a\":\"\\u0000\"}", "is not valid JSON"},
        {"{\"a\":\"\xff\"}", "is not valid JSON"},
        {"{\"a\":1} {\"b\":2}", "is not valid JSON"},
        {"{a:1}", "is not valid JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        ck_assert_int_eq(lj_object(a, bad[i].line, strlen(bad[i].line), m, 8, &why), -1);
        ck_assert_msg(strncmp(why, bad[i].why, strlen(bad[i].why)) == 0, "%s: %s", bad[i].line,
                      why);
    }
    /* more keys than room */
    ck_assert_int_eq(lj_object(a, "{\"a\":1,\"b\":2,\"c\":3}", 19, m, 2, &why), -1);
    ck_assert_str_eq(why, "has more than 4096 keys");
    arena_free(a);
}
END_TEST

/* ---- names ------------------------------------------------------------------------ */

START_TEST(test_names)
{
    arena *a = arena_new(0);
    static const struct {
        const char *in, *out;
    } t[] = {
        {"Order ID", "order_id"},     {"  Amount ($) ", "amount"}, {"a--b__c", "a_b_c"},
        {"2nd", "c_2nd"},             {"", "column_3"},          {"$$$", "column_3"},
        {"caf\xC3\xA9", "caf"},       {"UPPER", "upper"},        {"x1", "x1"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        ck_assert_str_eq(lp_ident(a, t[i].in, strlen(t[i].in), 3), t[i].out);
    char longname[200];
    memset(longname, 'a', sizeof longname);
    ck_assert_uint_eq(strlen(lp_ident(a, longname, sizeof longname, 1)), 63);

    char *names[] = {"a", "a", "b", "a_2", "_sluice_line", "a"};
    lp_dedupe(a, names, 6);
    ck_assert_str_eq(names[0], "a");
    ck_assert_str_eq(names[1], "a_3"); /* a_2 is taken by a later column */
    ck_assert_str_eq(names[2], "b");
    ck_assert_str_eq(names[3], "a_2");
    ck_assert_str_eq(names[4], "_sluice_line_2");
    ck_assert_str_eq(names[5], "a_4");
    arena_free(a);
}
END_TEST

/* ---- inference ------------------------------------------------------------------- */

static lp_field text(const char *s)
{
    lp_field f = {LP_TEXT, s, strlen(s), NULL, 0};
    return f;
}

static lp_field json(enum lp_kind k, const char *s)
{
    lp_field f = {k, s, strlen(s), s, strlen(s)};
    return f;
}

static lp_type infer(const char *const *vals)
{
    lp_infer s;
    lp_infer_init(&s);
    for (int i = 0; vals[i]; i++) {
        lp_field f = strcmp(vals[i], "<N>") == 0 ? (lp_field){LP_NULL, NULL, 0, NULL, 0}
                                                 : text(vals[i]);
        lp_infer_add(&s, &f);
    }
    return lp_infer_type(&s);
}

START_TEST(test_infer_table)
{
    static const struct {
        const char *vals[6];
        lp_type want;
    } t[] = {
        {{"1", "2", "-3", NULL}, LT_BIGINT},
        {{"1", "<N>", "", " 4 ", NULL}, LT_BIGINT},
        {{"9223372036854775807", NULL}, LT_BIGINT},
        {{"9223372036854775808", NULL}, LT_NUMERIC},
        {{"1", "2.5", NULL}, LT_NUMERIC},
        {{"1e3", "-.5", NULL}, LT_NUMERIC},
        {{"007", "8", NULL}, LT_TEXT},     /* leading zeros: codes */
        {{"0.5", "0", NULL}, LT_NUMERIC},
        {{"true", "False", "YES", "no", NULL}, LT_BOOL},
        {{"1", "0", NULL}, LT_BIGINT},     /* not boolean */
        {{"true", "1", NULL}, LT_TEXT},
        {{"on", "off", NULL}, LT_TEXT},
        {{"2024-02-29", "2023-12-31", NULL}, LT_DATE},
        {{"2023-02-29", NULL}, LT_TEXT},  /* not a day */
        {{"2024-01-01", "2024-01-01T10:00:00Z", NULL}, LT_TIMESTAMPTZ},
        {{"2024-01-01 10:00", "2024-01-01 10:00:00.123456+02:00", NULL}, LT_TIMESTAMPTZ},
        {{"2024-01-01 25:00", NULL}, LT_TEXT},
        {{"NaN", NULL}, LT_TEXT},
        {{"<N>", "", NULL}, LT_TEXT},
        {{"a", "1", NULL}, LT_TEXT},
        {{"1,5", NULL}, LT_TEXT},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        ck_assert_msg(infer(t[i].vals) == t[i].want, "case %zu: got %s want %s", i,
                      lp_type_name(infer(t[i].vals)), lp_type_name(t[i].want));

    /* JSON: numbers, booleans, strings that look like numbers, objects */
    lp_infer s;
    lp_infer_init(&s);
    lp_field f1 = json(LP_JNUMBER, "12"), f2 = json(LP_JNUMBER, "12.5");
    lp_infer_add(&s, &f1);
    ck_assert_int_eq(lp_infer_type(&s), LT_BIGINT);
    lp_infer_add(&s, &f2);
    ck_assert_int_eq(lp_infer_type(&s), LT_NUMERIC);
    lp_infer_init(&s);
    lp_field q = {LP_TEXT, "12", 2, "\"12\"", 4};
    lp_infer_add(&s, &q);
    ck_assert_int_eq(lp_infer_type(&s), LT_TEXT);
    lp_infer_init(&s);
    lp_field d = {LP_TEXT, "2024-05-01", 10, "\"2024-05-01\"", 12};
    lp_infer_add(&s, &d);
    ck_assert_int_eq(lp_infer_type(&s), LT_DATE);
    lp_field o = json(LP_JCOMPOSITE, "{\"a\":1}");
    lp_infer_add(&s, &o);
    ck_assert_int_eq(lp_infer_type(&s), LT_JSONB);
    lp_infer_init(&s);
    lp_field b = json(LP_JBOOL, "true");
    lp_infer_add(&s, &b);
    ck_assert_int_eq(lp_infer_type(&s), LT_BOOL);
    lp_infer_add(&s, &f1);
    ck_assert_int_eq(lp_infer_type(&s), LT_TEXT);
}
END_TEST

/* ---- values --------------------------------------------------------------------- */

START_TEST(test_values_table)
{
    static const struct {
        lp_type t;
        const char *in;
        const char *out;  /* the COPY text, or NULL when refused */
        const char *why;  /* the start of the reason when refused */
    } t[] = {
        {LT_INT, "42", "42", NULL},
        {LT_INT, " -7 ", "-7", NULL},
        {LT_INT, "+5", "+5", NULL},
        {LT_INT, "2147483647", "2147483647", NULL},
        {LT_INT, "-2147483648", "-2147483648", NULL},
        {LT_INT, "2147483648", NULL, "is out of range for int"},
        {LT_INT, "1.0", NULL, "is not an integer"},
        {LT_INT, "1e3", NULL, "is not an integer"},
        {LT_INT, "-", NULL, "is not an integer"},
        {LT_INT, "", "\\N", NULL},
        {LT_INT, "   ", "\\N", NULL},
        {LT_BIGINT, "-9223372036854775808", "-9223372036854775808", NULL},
        {LT_BIGINT, "9223372036854775808", NULL, "is out of range for bigint"},
        {LT_BIGINT, "0x10", NULL, "is not an integer"},
        {LT_NUMERIC, "12.50", "12.50", NULL},
        {LT_NUMERIC, ".5", ".5", NULL},
        {LT_NUMERIC, "5.", "5.", NULL},
        {LT_NUMERIC, "-1.5E+3", "-1.5E+3", NULL},
        {LT_NUMERIC, "1e1001", NULL, "is out of range for numeric"},
        {LT_NUMERIC, "1,5", NULL, "is not a number"},
        {LT_NUMERIC, "NaN", NULL, "is not a number"},
        {LT_NUMERIC, "Infinity", NULL, "is not a number"},
        {LT_NUMERIC, ".", NULL, "is not a number"},
        {LT_NUMERIC, "1e", NULL, "is not a number"},
        {LT_BOOL, "TRUE", "t", NULL},
        {LT_BOOL, "no", "f", NULL},
        {LT_BOOL, "1", "t", NULL},
        {LT_BOOL, "Off", "f", NULL},
        {LT_BOOL, "maybe", NULL, "is not a boolean"},
        {LT_BOOL, "tru", NULL, "is not a boolean"},
        {LT_DATE, "2024-02-29", "2024-02-29", NULL},
        {LT_DATE, "2000-02-29", "2000-02-29", NULL},
        {LT_DATE, "1900-02-29", NULL, "is not a date"},
        {LT_DATE, "2024-04-31", NULL, "is not a date"},
        {LT_DATE, "2024-13-01", NULL, "is not a date"},
        {LT_DATE, "0000-01-01", NULL, "is not a date"},
        {LT_DATE, "24-01-01", NULL, "is not a date"},
        {LT_DATE, "2024/01/01", NULL, "is not a date"},
        {LT_DATE, "2024-01-01 10:00", NULL, "is not a date"},
        {LT_TIMESTAMPTZ, "2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z", NULL},
        {LT_TIMESTAMPTZ, "2024-01-02 03:04", "2024-01-02 03:04", NULL},
        {LT_TIMESTAMPTZ, "2024-01-02 03:04:05.123456789", "2024-01-02 03:04:05.123456789",
         NULL},
        {LT_TIMESTAMPTZ, "2024-01-02 03:04:05+0530", "2024-01-02 03:04:05+0530", NULL},
        {LT_TIMESTAMPTZ, "2024-01-02 03:04:05 -08:00", "2024-01-02 03:04:05 -08:00", NULL},
        {LT_TIMESTAMPTZ, "2024-01-02", "2024-01-02", NULL},
        {LT_TIMESTAMPTZ, "2024-01-02 24:00:00", NULL, "is not a timestamp"},
        {LT_TIMESTAMPTZ, "2024-01-02 03:60", NULL, "is not a timestamp"},
        {LT_TIMESTAMPTZ, "2024-01-02 03:04:60", NULL, "is not a timestamp"},
        {LT_TIMESTAMPTZ, "2024-01-02 03:04:05.", NULL, "is not a timestamp"},
        {LT_TIMESTAMPTZ, "2024-01-02 03:04:05+16", NULL, "is not a timestamp"},
        {LT_TIMESTAMPTZ, "2024-01-02 03:04:05 PST", NULL, "is not a timestamp"},
        {LT_TIMESTAMPTZ, "yesterday", NULL, "is not a timestamp"},
        {LT_TEXT, " keep spaces ", " keep spaces ", NULL},
        {LT_TEXT, "tab\there\nnl\\", "tab\\there\\nnl\\\\", NULL},
        {LT_TEXT, "", "", NULL},
        {LT_TEXT, "caf\xC3\xA9", "caf\xC3\xA9", NULL},
        {LT_TEXT, "bad\xC3", NULL, "is not valid UTF-8"},
        {LT_TEXT, "\xED\xA0\x80", NULL, "is not valid UTF-8"}, /* a surrogate */
        {LT_TEXT, "\xC0\xAF", NULL, "is not valid UTF-8"},     /* overlong */
        {LT_JSONB, "{\"a\": [1, 2]}", "{\"a\": [1, 2]}", NULL},
        {LT_JSONB, " 12 ", "12", NULL},
        {LT_JSONB, "{\"a\":", NULL, "is not valid JSON"},
        {LT_JSONB, "'x'", NULL, "is not valid JSON"},
        {LT_ANY, "anything", "anything", NULL},
        {LT_ANY, "\xff", NULL, "is not valid UTF-8"},
    };
    sbuf out;
    sb_init(&out, NULL, 1 << 20);
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        sb_clear(&out);
        lp_field f = text(t[i].in);
        const char *why = lp_value_copy(t[i].t, &f, &out);
        if (t[i].out) {
            ck_assert_msg(why == NULL, "case %zu (%s): %s", i, t[i].in, why);
            ck_assert_msg(strcmp(sb_str(&out), t[i].out) == 0, "case %zu: %s", i, sb_str(&out));
        } else {
            ck_assert_msg(why && strncmp(why, t[i].why, strlen(t[i].why)) == 0,
                          "case %zu (%s): %s", i, t[i].in, why ? why : "accepted");
            ck_assert_uint_eq(out.len, 0);
        }
    }
    /* NUL bytes, NULL fields */
    sb_clear(&out);
    lp_field nul = {LP_TEXT, "a\0b", 3, NULL, 0};
    ck_assert_str_eq(lp_value_copy(LT_TEXT, &nul, &out), "contains a NUL byte");
    lp_field null = {LP_NULL, NULL, 0, NULL, 0};
    ck_assert_ptr_null(lp_value_copy(LT_DATE, &null, &out));
    ck_assert_str_eq(sb_str(&out), "\\N");
    sb_free(&out);
}
END_TEST

START_TEST(test_values_json)
{
    sbuf out;
    sb_init(&out, NULL, 1 << 20);
    struct {
        lp_type t;
        lp_field f;
        const char *out;
    } t[] = {
        {LT_NUMERIC, json(LP_JNUMBER, "0.1"), "0.1"},
        {LT_TEXT, json(LP_JNUMBER, "12.50"), "12.50"},
        {LT_BOOL, json(LP_JBOOL, "false"), "f"},
        {LT_TEXT, json(LP_JBOOL, "true"), "true"},
        {LT_JSONB, json(LP_JCOMPOSITE, "{\"a\":\t1}"), "{\"a\":\\t1}"},
        {LT_TEXT, json(LP_JCOMPOSITE, "[1]"), "[1]"},
        {LT_JSONB, (lp_field){LP_TEXT, "x", 1, "\"x\"", 3}, "\"x\""},
        {LT_DATE, (lp_field){LP_TEXT, "2024-01-01", 10, "\"2024-01-01\"", 12}, "2024-01-01"},
        {LT_INT, (lp_field){LP_TEXT, "12", 2, "\"12\"", 4}, "12"},
        {LT_INT, json(LP_JCOMPOSITE, "[1]"), NULL},
        {LT_INT, json(LP_JBOOL, "true"), NULL},
        {LT_DATE, json(LP_JNUMBER, "20240101"), NULL},
        {LT_INT, json(LP_JNUMBER, "1.5"), NULL},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        sb_clear(&out);
        const char *why = lp_value_copy(t[i].t, &t[i].f, &out);
        if (t[i].out)
            ck_assert_msg(!why && strcmp(sb_str(&out), t[i].out) == 0, "case %zu: %s %s", i,
                          why ? why : "", sb_str(&out));
        else
            ck_assert_msg(why != NULL, "case %zu accepted", i);
    }
    sb_free(&out);
}
END_TEST

START_TEST(test_row_copy)
{
    lp_type types[3] = {LT_INT, LT_TEXT, LT_DATE};
    lp_field f[4] = {text("1"), text("a\tb"), {LP_NULL, NULL, 0, NULL, 0}, text("x")};
    sbuf out;
    sb_init(&out, NULL, 1 << 20);
    sb_puts(&out, "keep");
    lp_bad bad;
    ck_assert_int_eq(lp_row_copy(types, 3, f, 3, &out, &bad), 0);
    ck_assert_str_eq(sb_str(&out), "keep1\ta\\tb\t\\N");
    sb_clear(&out);
    ck_assert_int_eq(lp_row_copy(types, 3, f, 4, &out, &bad), -1);
    ck_assert_int_eq(bad.col, -1);
    ck_assert_int_eq(bad.nfields, 4);
    ck_assert_str_eq(bad.why, "has too many fields");
    ck_assert_int_eq(lp_row_copy(types, 3, f, 2, &out, &bad), -1);
    ck_assert_str_eq(bad.why, "has too few fields");
    f[2] = text("2024-02-30");
    sb_puts(&out, "x");
    ck_assert_int_eq(lp_row_copy(types, 3, f, 3, &out, &bad), -1);
    ck_assert_int_eq(bad.col, 2);
    ck_assert_str_eq(sb_str(&out), "x"); /* left as it was */
    sb_free(&out);
}
END_TEST

START_TEST(test_types)
{
    lp_type t;
    ck_assert_int_eq(lp_type_parse("INT", &t), 0);
    ck_assert_int_eq(t, LT_INT);
    ck_assert_int_eq(lp_type_parse("timestamptz", &t), 0);
    ck_assert_int_eq(t, LT_TIMESTAMPTZ);
    ck_assert_int_eq(lp_type_parse("varchar", &t), -1);
    ck_assert_str_eq(lp_type_sql(LT_TIMESTAMPTZ), "timestamp with time zone");
    ck_assert_str_eq(lp_type_sql(LT_INT), "integer");
    ck_assert_int_eq(lp_type_of_pg("numeric(12,2)"), LT_NUMERIC);
    ck_assert_int_eq(lp_type_of_pg("character varying(20)"), LT_TEXT);
    ck_assert_int_eq(lp_type_of_pg("timestamp without time zone"), LT_TIMESTAMPTZ);
    ck_assert_int_eq(lp_type_of_pg("uuid"), LT_ANY);
    ck_assert_int_eq(lp_type_of_pg("smallint"), LT_INT);
    ck_assert_int_eq(lp_type_kind(LT_BIGINT), CT_NUMBER);
    ck_assert_int_eq(lp_type_kind(LT_JSONB), CT_JSON);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("landing_parse");
    TCase *c = tcase_create("csv");
    tcase_add_test(c, test_csv_quotes_newlines);
    tcase_add_test(c, test_csv_bom_crlf);
    tcase_add_test(c, test_csv_delimiters_quotes);
    tcase_add_test(c, test_csv_ragged_malformed);
    tcase_add_test(c, test_csv_stop_and_caps);
    suite_add_tcase(s, c);
    c = tcase_create("jsonl");
    tcase_add_test(c, test_jsonl_lines);
    tcase_add_test(c, test_jsonl_objects);
    suite_add_tcase(s, c);
    c = tcase_create("types");
    tcase_add_test(c, test_names);
    tcase_add_test(c, test_infer_table);
    tcase_add_test(c, test_values_table);
    tcase_add_test(c, test_values_json);
    tcase_add_test(c, test_row_copy);
    tcase_add_test(c, test_types);
    suite_add_tcase(s, c);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
