/* tpl.c - mustache template engine: a compiler from source to a node tree,
 * and a renderer that walks the tree against jansson data.
 *
 * Compiling runs in passes over a token list: tokenize (tags and text, text
 * split after each newline, set delimiters applied), match (sections,
 * parents and blocks to their closing tags), strip standalone lines, work
 * out block indentation (the ~inheritance rules), then build the tree. The
 * tree, its strings and the template names live in the set's arena; the
 * token list is scratch heap memory freed before tpl_set_add returns.
 *
 * Rendering keeps a bounded context stack, a stack of indentation strings
 * (standalone partials, parents and blocks indent every line they expand)
 * and the chain of parent calls whose block arguments are in scope (the
 * outermost argument wins). Indentation is applied lazily: after a template
 * newline the next output is prefixed with the current indentation, so
 * interpolated values are never re-indented. Entry points: tpl_set_add,
 * tpl_set_load_dir, tpl_render, tpl_render_string, tpl_escape_html. */
#include "tpl.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_INDENT (64 * 1024)   /* bytes of accumulated indentation */
#define MAX_DIR_DEPTH 16         /* subdirectories under a template dir */
#define MAX_NAME_IN_MSG 64       /* tag names quoted in error messages */

/* ---- compiled form ---------------------------------------------------- */

enum ntype { N_TEXT, N_VAR, N_RAW, N_SECTION, N_INVERTED, N_PARTIAL, N_PARENT, N_BLOCK };

struct node {
    enum ntype type;
    struct node *next;
    struct node *kids;    /* section/inverted/block body; parent: argument blocks */
    const char *text;     /* N_TEXT: the bytes; otherwise the name, NUL-terminated */
    size_t len;
    const char **parts;   /* dotted name split on '.'; NULL for "." */
    size_t nparts;
    const char *indent;   /* standalone partial/parent/block: indentation to add */
    size_t indent_len;
    int standalone;       /* partial/parent/block: indent every line of the expansion */
};

struct tpl {
    const char *name;
    struct node *root;
};

struct tpl_set {
    arena *a;
    struct tpl **slots;   /* open addressing, linear probing; NULL = empty */
    size_t nslots;
    size_t count;
    size_t max_steps;
};

/* ---- tokens ------------------------------------------------------------ */

enum ttype {
    T_TEXT, T_VAR, T_RAW, T_SECTION, T_INVERTED, T_CLOSE, T_COMMENT, T_DELIM,
    T_PARTIAL, T_PARENT, T_BLOCK
};

struct tok {
    enum ttype type;
    size_t start, end;    /* source bytes: the text, or the whole tag */
    size_t skip;          /* text: leading bytes dropped (block indentation) */
    const char *name;     /* tag content, trimmed; points into the source */
    size_t nlen;
    int line, col;
    size_t match;         /* open tag: index of its close; close: of its open */
    long owner;           /* innermost enclosing open tag, or -1 */
    size_t lfirst, llast; /* first and last token of this token's line */
    const char *intr;     /* block at end of a standalone line: intrinsic indent */
    size_t intr_len;
    unsigned removed : 1; /* text dropped by the standalone rules */
    unsigned stripped : 1;/* the token's line is standalone */
    unsigned eol : 1;     /* block tag ends its standalone line */
    unsigned standalone : 1;
    const char *indent;   /* partial/parent/block: indentation to add */
    size_t indent_len;
};

struct compiler {
    const char *name;     /* template name, for messages */
    const char *src;
    size_t len;
    arena *a;
    sl_errbuf *eb;
    struct tok *toks;
    size_t ntoks, cap;
    size_t cur_pos;       /* line/column cursor: moves forward only */
    int cur_line;
    size_t cur_ls;
    sbuf text;            /* scratch for merging text tokens */
};

static sl_err perr(struct compiler *c, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static sl_err perr(struct compiler *c, int line, int col, const char *fmt, ...)
{
    char msg[SL_ERRBUF_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sl_fail(c->eb, SL_EPARSE, "template '%s', line %d, column %d: %s", c->name, line,
                   col, msg);
}

static int shown(size_t n)
{
    return n > MAX_NAME_IN_MSG ? MAX_NAME_IN_MSG : (int)n;
}

static void locate(struct compiler *c, size_t pos, int *line, int *col)
{
    while (c->cur_pos < pos) {
        if (c->src[c->cur_pos] == '\n') {
            c->cur_line++;
            c->cur_ls = c->cur_pos + 1;
        }
        c->cur_pos++;
    }
    *line = c->cur_line;
    *col = (int)(pos - c->cur_ls) + 1;
}

static struct tok *push_tok(struct compiler *c, enum ttype type, size_t start, size_t end)
{
    if (c->ntoks == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->toks = xrealloc(c->toks, c->cap * sizeof *c->toks);
    }
    struct tok *t = &c->toks[c->ntoks++];
    memset(t, 0, sizeof *t);
    t->type = type;
    t->start = start;
    t->end = end;
    t->owner = -1;
    return t;
}

/* Text tokens end after each newline, so a line is a run of tokens. */
static void add_text(struct compiler *c, size_t from, size_t to)
{
    while (from < to) {
        const char *nl = memchr(c->src + from, '\n', to - from);
        size_t end = nl ? (size_t)(nl - c->src) + 1 : to;
        push_tok(c, T_TEXT, from, end);
        from = end;
    }
}

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* The closing of a tag opened at p: ctag, preceded by `before` if not 0.
 * Returns the offset of the closing sequence (including `before`). */
static int find_close(const struct compiler *c, size_t p, char before, const char *ctag,
                      size_t clen, size_t *at)
{
    size_t from = p;
    while (from < c->len) {
        const char *q = memmem(c->src + from, c->len - from, ctag, clen);
        if (!q)
            return 0;
        size_t off = (size_t)(q - c->src);
        if (!before) {
            *at = off;
            return 1;
        }
        if (off > p && c->src[off - 1] == before) {
            *at = off - 1;
            return 1;
        }
        from = off + 1;
    }
    return 0;
}

static enum ttype sigil_type(char ch)
{
    switch (ch) {
    case '#': return T_SECTION;
    case '^': return T_INVERTED;
    case '/': return T_CLOSE;
    case '!': return T_COMMENT;
    case '=': return T_DELIM;
    case '>': return T_PARTIAL;
    case '<': return T_PARENT;
    case '$': return T_BLOCK;
    case '{': return T_RAW;
    case '&': return T_RAW;
    default: return T_VAR;
    }
}

/* A name: non-empty, no whitespace or NUL; dotted names have no empty part. */
static sl_err check_name(struct compiler *c, const struct tok *t, int dotted)
{
    if (t->nlen == 0)
        return perr(c, t->line, t->col, "empty tag");
    for (size_t i = 0; i < t->nlen; i++) {
        if (is_space(t->name[i]) || t->name[i] == '\0')
            return perr(c, t->line, t->col, "invalid tag name '%.*s'", shown(t->nlen),
                        t->name);
    }
    if (!dotted || (t->nlen == 1 && t->name[0] == '.'))
        return SL_OK;
    int empty_part = t->name[0] == '.' || t->name[t->nlen - 1] == '.' ||
                     memmem(t->name, t->nlen, "..", 2) != NULL;
    if (empty_part)
        return perr(c, t->line, t->col, "invalid dotted name '%.*s'", shown(t->nlen), t->name);
    return SL_OK;
}

/* {{=<% %>=}}: two delimiters without whitespace. */
static sl_err set_delims(struct compiler *c, const struct tok *t, const char **otag,
                         size_t *olen, const char **ctag, size_t *clen)
{
    const char *p = t->name, *end = t->name + t->nlen;
    const char *a = p;
    while (p < end && !is_space(*p))
        p++;
    size_t alen = (size_t)(p - a);
    while (p < end && is_space(*p))
        p++;
    const char *b = p;
    while (p < end && !is_space(*p))
        p++;
    size_t blen = (size_t)(p - b);
    if (alen == 0 || blen == 0 || p != end)
        return perr(c, t->line, t->col, "set-delimiter tag needs two delimiters");
    if (memchr(a, '\0', alen) || memchr(b, '\0', blen))
        return perr(c, t->line, t->col, "NUL in delimiter");
    *otag = a;
    *olen = alen;
    *ctag = b;
    *clen = blen;
    return SL_OK;
}

static sl_err tokenize(struct compiler *c)
{
    const char *otag = "{{", *ctag = "}}";
    size_t olen = 2, clen = 2, pos = 0;
    while (pos < c->len) {
        const char *q = memmem(c->src + pos, c->len - pos, otag, olen);
        size_t tstart = q ? (size_t)(q - c->src) : c->len;
        add_text(c, pos, tstart);
        if (!q)
            break;
        int line, col;
        locate(c, tstart, &line, &col);
        size_t p = tstart + olen;
        char sig = p < c->len ? c->src[p] : '\0';
        enum ttype type = sigil_type(sig);
        if (type != T_VAR)
            p++;
        char before = (sig == '{' || sig == '=') ? (sig == '{' ? '}' : '=') : '\0';
        size_t e;
        if (!find_close(c, p, before, ctag, clen, &e)) {
            size_t n = 0;
            while (tstart + n < c->len && n < 24 && c->src[tstart + n] != '\n')
                n++;
            return perr(c, line, col, "unclosed tag '%.*s'", (int)n, c->src + tstart);
        }
        size_t tend = e + (before ? 1 : 0) + clen;
        struct tok *t = push_tok(c, type, tstart, tend);
        t->line = line;
        t->col = col;
        size_t ns = p, ne = e;
        while (ns < ne && is_space(c->src[ns]))
            ns++;
        while (ne > ns && is_space(c->src[ne - 1]))
            ne--;
        t->name = c->src + ns;
        t->nlen = ne - ns;
        sl_err err = SL_OK;
        if (type == T_DELIM)
            err = set_delims(c, t, &otag, &olen, &ctag, &clen);
        else if (type != T_COMMENT)
            err = check_name(c, t, type != T_PARTIAL && type != T_PARENT && type != T_BLOCK);
        if (err)
            return err;
        pos = tend;
    }
    return SL_OK;
}

static int is_open(enum ttype t)
{
    return t == T_SECTION || t == T_INVERTED || t == T_PARENT || t == T_BLOCK;
}

static char sigil_of(enum ttype t)
{
    switch (t) {
    case T_SECTION: return '#';
    case T_INVERTED: return '^';
    case T_PARENT: return '<';
    case T_BLOCK: return '$';
    default: return '?';
    }
}

/* Pair open tags with their closing tags; record each token's owner. */
static sl_err match_tags(struct compiler *c)
{
    size_t stack[TPL_MAX_NEST];
    size_t depth = 0;
    for (size_t i = 0; i < c->ntoks; i++) {
        struct tok *t = &c->toks[i];
        t->owner = depth ? (long)stack[depth - 1] : -1;
        if (is_open(t->type)) {
            if (depth == TPL_MAX_NEST)
                return perr(c, t->line, t->col, "sections nested deeper than %d",
                            TPL_MAX_NEST);
            stack[depth++] = i;
        } else if (t->type == T_CLOSE) {
            if (!depth)
                return perr(c, t->line, t->col, "closing tag '{{/%.*s}}' without an opening tag",
                            shown(t->nlen), t->name);
            struct tok *o = &c->toks[stack[depth - 1]];
            if (o->nlen != t->nlen || memcmp(o->name, t->name, t->nlen) != 0)
                return perr(c, t->line, t->col,
                            "closing tag '{{/%.*s}}' does not match '{{%c%.*s}}' "
                            "opened at line %d",
                            shown(t->nlen), t->name, sigil_of(o->type), shown(o->nlen),
                            o->name, o->line);
            o->match = i;
            t->match = stack[depth - 1];
            depth--;
            t->owner = depth ? (long)stack[depth - 1] : -1;
        }
    }
    if (depth) {
        const struct tok *o = &c->toks[stack[depth - 1]];
        return perr(c, o->line, o->col, "unclosed section '{{%c%.*s}}'", sigil_of(o->type),
                    shown(o->nlen), o->name);
    }
    return SL_OK;
}

static int ends_line(const struct compiler *c, const struct tok *t)
{
    return t->type == T_TEXT && c->src[t->end - 1] == '\n';
}

/* Only spaces and tabs, then an optional "\r\n" or "\n". From t->skip on. */
static int is_blank(const struct compiler *c, const struct tok *t)
{
    size_t s = t->start + t->skip, e = t->end;
    if (e > s && c->src[e - 1] == '\n') {
        e--;
        if (e > s && c->src[e - 1] == '\r')
            e--;
    }
    for (size_t i = s; i < e; i++) {
        if (c->src[i] != ' ' && c->src[i] != '\t')
            return 0;
    }
    return 1;
}

static int owned_by_parent(const struct compiler *c, const struct tok *t)
{
    return t->owner >= 0 && c->toks[t->owner].type == T_PARENT;
}

/* A line is standalone when it holds only whitespace and non-interpolation
 * tags; its whitespace and line ending are dropped. Text directly inside a
 * parent tag is ignored anyway, so it counts as whitespace. A parameter
 * block opened and closed on one line keeps its line (the block stands in
 * for inline content). */
static void strip_lines(struct compiler *c)
{
    size_t i = 0;
    while (i < c->ntoks) {
        size_t a = i, b = i;
        while (b + 1 < c->ntoks && !ends_line(c, &c->toks[b]))
            b++;
        int tags = 0, ok = 1;
        for (size_t j = a; j <= b; j++) {
            struct tok *t = &c->toks[j];
            t->lfirst = a;
            t->llast = b;
            if (t->type == T_TEXT) {
                if (!is_blank(c, t) && !owned_by_parent(c, t))
                    ok = 0;
            } else if (t->type == T_VAR || t->type == T_RAW) {
                ok = 0;
            } else {
                tags++;
                if (t->type == T_BLOCK && !owned_by_parent(c, t) && t->match <= b)
                    ok = 0;
            }
        }
        if (ok && tags) {
            for (size_t j = a; j <= b; j++) {
                c->toks[j].stripped = 1;
                if (c->toks[j].type == T_TEXT)
                    c->toks[j].removed = 1;
            }
        }
        i = b + 1;
    }
}

static int at_line_start(const struct compiler *c, const struct tok *t)
{
    return t->start == 0 || c->src[t->start - 1] == '\n';
}

static int last_tag_on_line(const struct compiler *c, size_t i)
{
    for (size_t j = i + 1; j <= c->toks[i].llast; j++) {
        if (c->toks[j].type != T_TEXT)
            return 0;
    }
    return 1;
}

/* A block tag that ends a standalone line has an intrinsic indentation: the
 * leading whitespace of the next line. It is removed from the start of
 * every line of the block's content (outer blocks first, so nested blocks
 * see indentation relative to theirs). */
static void block_indentation(struct compiler *c)
{
    for (size_t i = 0; i < c->ntoks; i++) {
        struct tok *t = &c->toks[i];
        if (t->type != T_BLOCK || !t->stripped || !last_tag_on_line(c, i))
            continue;
        t->eol = 1;
        size_t next = t->llast + 1;
        if (next >= c->ntoks || next >= t->match || c->toks[next].type != T_TEXT)
            continue;
        const struct tok *f = &c->toks[next];
        const char *ip = c->src + f->start + f->skip;
        size_t n = 0, avail = f->end - f->start - f->skip;
        while (n < avail && (ip[n] == ' ' || ip[n] == '\t'))
            n++;
        t->intr = ip;
        t->intr_len = n;
        if (!n)
            continue;
        for (size_t j = i + 1; j < t->match; j++) {
            struct tok *x = &c->toks[j];
            if (x->type != T_TEXT || !at_line_start(c, x))
                continue;
            if (x->end - x->start - x->skip >= n &&
                memcmp(c->src + x->start + x->skip, ip, n) == 0)
                x->skip += n;
        }
    }
}

/* The whitespace before the first tag of token i's line ("" if none). */
static void leading_ws(const struct compiler *c, size_t i, const char **p, size_t *n)
{
    const struct tok *f = &c->toks[c->toks[i].lfirst];
    *p = "";
    *n = 0;
    if (f->type == T_TEXT && c->toks[i].lfirst < i) {
        *p = c->src + f->start + f->skip;
        *n = f->end - f->start - f->skip;
    }
}

/* Blank text only, from token a to b inclusive (a > b: empty, true). */
static int only_blank(const struct compiler *c, size_t a, size_t b)
{
    for (size_t j = a; j <= b && j < c->ntoks; j++) {
        if (c->toks[j].type != T_TEXT || !is_blank(c, &c->toks[j]))
            return 0;
    }
    return 1;
}

/* Standalone partials and parents indent their expansion by the line's
 * leading whitespace. A parameter block (one not directly inside a parent)
 * is standalone when it ends its standalone line (indent: its intrinsic
 * indentation), or when nothing but whitespace precedes its opening tag
 * and follows its closing tag (indent: that leading whitespace, which is
 * then not output itself). */
static void standalone_indentation(struct compiler *c)
{
    for (size_t i = 0; i < c->ntoks; i++) {
        struct tok *t = &c->toks[i];
        if (t->type == T_PARTIAL || t->type == T_PARENT) {
            if (t->stripped) {
                t->standalone = 1;
                leading_ws(c, i, &t->indent, &t->indent_len);
            }
        } else if (t->type == T_BLOCK && !owned_by_parent(c, t)) {
            if (t->eol) {
                t->standalone = 1;
                t->indent = t->intr ? t->intr : "";
                t->indent_len = t->intr_len;
            } else if (t->stripped) {
                t->standalone = 1;
                leading_ws(c, i, &t->indent, &t->indent_len);
            } else if (i == t->lfirst || (i == t->lfirst + 1 && only_blank(c, i - 1, i - 1))) {
                const struct tok *cl = &c->toks[t->match];
                if (!only_blank(c, t->match + 1, cl->llast))
                    continue;
                t->standalone = 1;
                leading_ws(c, i, &t->indent, &t->indent_len);
                if (i > t->lfirst)
                    c->toks[i - 1].removed = 1;
            }
        }
    }
}

/* ---- tree building ------------------------------------------------------ */

static struct node *new_node(struct compiler *c, enum ntype type)
{
    struct node *n = arena_calloc(c->a, 1, sizeof *n);
    n->type = type;
    return n;
}

static void name_node(struct compiler *c, struct node *n, const struct tok *t, int dotted)
{
    n->text = arena_memdup(c->a, t->name, t->nlen);
    n->len = t->nlen;
    if (!dotted || (t->nlen == 1 && t->name[0] == '.'))
        return;
    size_t parts = 1;
    for (size_t i = 0; i < t->nlen; i++)
        parts += t->name[i] == '.';
    n->parts = arena_alloc(c->a, parts * sizeof *n->parts);
    n->nparts = 0;
    const char *p = t->name, *end = t->name + t->nlen;
    while (p <= end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        const char *stop = dot ? dot : end;
        n->parts[n->nparts++] = arena_memdup(c->a, p, (size_t)(stop - p));
        p = stop + 1;
    }
}

static void copy_indent(struct compiler *c, struct node *n, const struct tok *t)
{
    n->standalone = t->standalone;
    n->indent = t->indent_len ? arena_memdup(c->a, t->indent, t->indent_len) : "";
    n->indent_len = t->indent_len;
}

static struct node **flush_text(struct compiler *c, struct node **tail)
{
    if (!c->text.len)
        return tail;
    struct node *n = new_node(c, N_TEXT);
    n->text = arena_memdup(c->a, c->text.ptr, c->text.len);
    n->len = c->text.len;
    sb_clear(&c->text);
    *tail = n;
    return &n->next;
}

static struct node *build(struct compiler *c, size_t from, size_t to);

/* A parent's arguments: the blocks directly inside it; the rest is ignored. */
static struct node *build_args(struct compiler *c, size_t open)
{
    struct node *head = NULL, **tail = &head;
    for (size_t j = open + 1; j < c->toks[open].match; j++) {
        const struct tok *t = &c->toks[j];
        if (t->type == T_BLOCK && t->owner == (long)open) {
            struct node *n = new_node(c, N_BLOCK);
            name_node(c, n, t, 0);
            n->kids = build(c, j + 1, t->match);
            *tail = n;
            tail = &n->next;
        }
        if (is_open(t->type))
            j = t->match;
    }
    return head;
}

/* Nodes for tokens [from, to). Recursion depth is bounded by TPL_MAX_NEST. */
static struct node *build(struct compiler *c, size_t from, size_t to)
{
    struct node *head = NULL, **tail = &head;
    for (size_t i = from; i < to; i++) {
        const struct tok *t = &c->toks[i];
        struct node *n = NULL;
        switch (t->type) {
        case T_TEXT:
            if (!t->removed && t->end > t->start + t->skip) {
                /* Cannot fail: the scratch buffer's cap is the source size. */
                (void)sb_append(&c->text, c->src + t->start + t->skip,
                                t->end - t->start - t->skip);
            }
            continue;
        case T_COMMENT:
        case T_DELIM:
        case T_CLOSE:
            continue;
        case T_VAR:
        case T_RAW:
            n = new_node(c, t->type == T_VAR ? N_VAR : N_RAW);
            name_node(c, n, t, 1);
            break;
        case T_SECTION:
        case T_INVERTED:
            n = new_node(c, t->type == T_SECTION ? N_SECTION : N_INVERTED);
            name_node(c, n, t, 1);
            tail = flush_text(c, tail);
            n->kids = build(c, i + 1, t->match);
            i = t->match;
            break;
        case T_PARTIAL:
            n = new_node(c, N_PARTIAL);
            name_node(c, n, t, 0);
            copy_indent(c, n, t);
            break;
        case T_PARENT:
            n = new_node(c, N_PARENT);
            name_node(c, n, t, 0);
            copy_indent(c, n, t);
            tail = flush_text(c, tail);
            n->kids = build_args(c, i);
            i = t->match;
            break;
        case T_BLOCK:
            n = new_node(c, N_BLOCK);
            name_node(c, n, t, 0);
            copy_indent(c, n, t);
            tail = flush_text(c, tail);
            n->kids = build(c, i + 1, t->match);
            i = t->match;
            break;
        }
        tail = flush_text(c, tail);
        *tail = n;
        tail = &n->next;
    }
    flush_text(c, tail);
    return head;
}

/* Compile src into a template in arena a. On failure nothing is left in a. */
static sl_err compile(arena *a, const char *name, const char *src, size_t len,
                      struct tpl **out, sl_errbuf *eb)
{
    struct compiler c = {.name = name, .src = src ? src : "", .len = src ? len : 0,
                         .a = a, .eb = eb, .cur_line = 1};
    sl_err e = tokenize(&c);
    if (!e)
        e = match_tags(&c);
    if (!e) {
        strip_lines(&c);
        block_indentation(&c);
        standalone_indentation(&c);
        sb_init(&c.text, NULL, c.len + 1);
        struct tpl *t = arena_calloc(a, 1, sizeof *t);
        t->name = arena_strdup(a, name);
        t->root = build(&c, 0, c.ntoks);
        sb_free(&c.text);
        *out = t;
    }
    free(c.toks);
    return e;
}

/* ---- the set ------------------------------------------------------------ */

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static struct tpl **find_slot(struct tpl **slots, size_t nslots, const char *name)
{
    size_t i = (size_t)hash_name(name) & (nslots - 1);
    while (slots[i] && strcmp(slots[i]->name, name) != 0)
        i = (i + 1) & (nslots - 1);
    return &slots[i];
}

static const struct tpl *set_find(const tpl_set *s, const char *name)
{
    if (!s->nslots)
        return NULL;
    return *find_slot(s->slots, s->nslots, name);
}

static void set_put(tpl_set *s, struct tpl *t)
{
    if ((s->count + 1) * 4 > s->nslots * 3) {
        size_t n = s->nslots ? s->nslots * 2 : 16;
        struct tpl **slots = xcalloc(n, sizeof *slots);
        for (size_t i = 0; i < s->nslots; i++) {
            if (s->slots[i])
                *find_slot(slots, n, s->slots[i]->name) = s->slots[i];
        }
        free(s->slots);
        s->slots = slots;
        s->nslots = n;
    }
    struct tpl **slot = find_slot(s->slots, s->nslots, t->name);
    if (!*slot)
        s->count++;
    *slot = t;
}

tpl_set *tpl_set_new(void)
{
    tpl_set *s = xcalloc(1, sizeof *s);
    s->a = arena_new(64 * 1024);
    s->max_steps = TPL_DEFAULT_MAX_STEPS;
    return s;
}

void tpl_set_free(tpl_set *s)
{
    if (!s)
        return;
    arena_free(s->a);
    free(s->slots);
    free(s);
}

void tpl_set_max_steps(tpl_set *s, size_t steps)
{
    s->max_steps = steps;
}

int tpl_set_has(const tpl_set *s, const char *name)
{
    return set_find(s, name) != NULL;
}

sl_err tpl_set_add(tpl_set *s, const char *name, const char *src, size_t len, sl_errbuf *eb)
{
    if (!name || !*name)
        return sl_fail(eb, SL_EINVAL, "template name is empty");
    struct tpl *t;
    sl_err e = compile(s->a, name, src, len, &t, eb);
    if (e)
        return e;
    set_put(s, t);
    return SL_OK;
}

static sl_err load_file(tpl_set *s, const char *path, const char *name, sl_errbuf *eb)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return sl_fail(eb, SL_EIO, "cannot open template %s: %s", path, strerror(errno));
    char *buf = xmalloc(TPL_MAX_FILE + 1);
    size_t n = fread(buf, 1, TPL_MAX_FILE + 1, f);
    sl_err e = SL_OK;
    if (ferror(f))
        e = sl_fail(eb, SL_EIO, "cannot read template %s: %s", path, strerror(errno));
    else if (n > TPL_MAX_FILE)
        e = sl_fail(eb, SL_ETOOBIG, "template %s is larger than %d bytes", path, TPL_MAX_FILE);
    else
        e = tpl_set_add(s, name, buf, n, eb);
    free(buf);
    fclose(f);
    return e;
}

static sl_err load_tree(tpl_set *s, const char *root, const char *rel, int depth,
                        sl_errbuf *eb)
{
    char path[PATH_MAX];
    int pn = rel ? snprintf(path, sizeof path, "%s/%s", root, rel)
                 : snprintf(path, sizeof path, "%s", root);
    if (pn < 0 || (size_t)pn >= sizeof path)
        return sl_fail(eb, SL_EINVAL, "template path too long under %s", root);
    DIR *d = opendir(path);
    if (!d)
        return sl_fail(eb, SL_EIO, "cannot open template dir %s: %s", path, strerror(errno));
    sl_err e = SL_OK;
    struct dirent *de;
    while (!e && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char child[PATH_MAX], full[PATH_MAX];
        int cn = rel ? snprintf(child, sizeof child, "%s/%s", rel, de->d_name)
                     : snprintf(child, sizeof child, "%s", de->d_name);
        int fn = snprintf(full, sizeof full, "%s/%s", root, child);
        if (cn < 0 || (size_t)cn >= sizeof child || fn < 0 || (size_t)fn >= sizeof full) {
            e = sl_fail(eb, SL_EINVAL, "template path too long under %s", root);
            break;
        }
        struct stat st;
        if (stat(full, &st) != 0) {
            e = sl_fail(eb, SL_EIO, "cannot stat %s: %s", full, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            if (depth >= MAX_DIR_DEPTH)
                e = sl_fail(eb, SL_EINVAL, "template dirs nested deeper than %d at %s",
                            MAX_DIR_DEPTH, full);
            else
                e = load_tree(s, root, child, depth + 1, eb);
        } else if (S_ISREG(st.st_mode)) {
            size_t n = strlen(child);
            const char *ext = ".mustache";
            size_t xl = strlen(ext);
            if (n > xl && strcmp(child + n - xl, ext) == 0) {
                child[n - xl] = '\0';
                e = load_file(s, full, child, eb);
            }
        }
    }
    closedir(d);
    return e;
}

sl_err tpl_set_load_dir(tpl_set *s, const char *dir, sl_errbuf *eb)
{
    return load_tree(s, dir, NULL, 0, eb);
}

/* ---- rendering ------------------------------------------------------------ */

/* A parent call in scope: its argument blocks may replace blocks below. */
struct frame {
    const struct node *parent;
    const struct frame *up;
};

struct render {
    const tpl_set *set;
    sbuf *out;
    sl_errbuf *eb;
    const json_t *ctx[TPL_MAX_DEPTH + 1];
    size_t nctx;
    sbuf indent;      /* concatenated indentation of the expansions we are in */
    int pending;      /* at a template line start: indent before the next output */
    int depth;        /* nested sections, blocks and includes */
    int includes;     /* nested partials and parents */
    size_t steps;
};

static sl_err too_big(struct render *r)
{
    return sl_fail(r->eb, SL_ETOOBIG, "template output exceeds %zu bytes", r->out->max);
}

static sl_err put(struct render *r, const char *p, size_t n)
{
    return sb_append(r->out, p, n) ? too_big(r) : SL_OK;
}

static sl_err flush_indent(struct render *r)
{
    if (!r->pending)
        return SL_OK;
    r->pending = 0;
    return r->indent.len ? put(r, r->indent.ptr, r->indent.len) : SL_OK;
}

/* Template text: indentation goes before each line that has content. */
static sl_err emit_text(struct render *r, const char *p, size_t n)
{
    if (!n)
        return SL_OK;
    if (!r->indent.len) {
        r->pending = p[n - 1] == '\n';
        return put(r, p, n);
    }
    while (n) {
        const char *nl = memchr(p, '\n', n);
        size_t seg = nl ? (size_t)(nl - p) + 1 : n;
        if (r->pending) {
            int empty = p[0] == '\n' || (seg >= 2 && p[0] == '\r' && p[1] == '\n');
            r->pending = 0;
            if (!empty && put(r, r->indent.ptr, r->indent.len))
                return too_big(r);
        }
        if (put(r, p, seg))
            return too_big(r);
        r->pending = nl != NULL;
        p += seg;
        n -= seg;
    }
    return SL_OK;
}

static const char *escape_of(char ch)
{
    switch (ch) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return "&quot;";
    case '\'': return "&#39;";
    default: return NULL;
    }
}

sl_err tpl_escape_html(sbuf *out, const char *s, size_t n)
{
    size_t mark = out->len, run = 0;
    sl_err e = SL_OK;
    for (size_t i = 0; i < n && !e; i++) {
        const char *rep = escape_of(s[i]);
        if (!rep)
            continue;
        e = sb_append(out, s + run, i - run);
        if (!e)
            e = sb_puts(out, rep);
        run = i + 1;
    }
    if (!e)
        e = sb_append(out, s + run, n - run);
    if (e && out->ptr) {
        out->len = mark;
        out->ptr[mark] = '\0';
    }
    return e;
}

/* Shortest decimal that reads back as d; integers without a fraction. */
static int format_real(char *buf, size_t cap, double d)
{
    if (d == 0)
        return snprintf(buf, cap, "0");
    if (d > -1e15 && d < 1e15 && d == (double)(long long)d)
        return snprintf(buf, cap, "%.0f", d);
    for (int prec = 1; prec < 17; prec++) {
        int n = snprintf(buf, cap, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return n;
    }
    return snprintf(buf, cap, "%.17g", d);
}

static sl_err emit_value(struct render *r, const json_t *v, int escape)
{
    char num[64];
    const char *p = NULL;
    size_t n = 0;
    int k;
    switch (json_typeof(v)) {
    case JSON_STRING:
        p = json_string_value(v);
        n = json_string_length(v);
        break;
    case JSON_INTEGER:
        k = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        p = num;
        n = k > 0 ? (size_t)k : 0;
        break;
    case JSON_REAL:
        k = format_real(num, sizeof num, json_real_value(v));
        p = num;
        n = k > 0 ? (size_t)k : 0;
        break;
    case JSON_TRUE:
        p = "true";
        n = 4;
        break;
    case JSON_FALSE:
        p = "false";
        n = 5;
        break;
    case JSON_NULL:
    case JSON_OBJECT:
    case JSON_ARRAY:
        break;
    }
    if (!n)
        return SL_OK;
    sl_err e = flush_indent(r);
    if (e)
        return e;
    if (!escape)
        return put(r, p, n);
    return tpl_escape_html(r->out, p, n) ? too_big(r) : SL_OK;
}

/* Name resolution per the spec: "." is the top of the stack; otherwise the
 * first part is looked up from the top of the stack down, the rest inside
 * the value found. NULL when the name does not resolve. */
static const json_t *lookup(const struct render *r, const struct node *n)
{
    if (!n->parts)
        return r->nctx ? r->ctx[r->nctx - 1] : NULL;
    const json_t *v = NULL;
    for (size_t i = r->nctx; i-- > 0;) {
        if (json_is_object(r->ctx[i]) && (v = json_object_get(r->ctx[i], n->parts[0])))
            break;
    }
    for (size_t k = 1; v && k < n->nparts; k++)
        v = json_is_object(v) ? json_object_get(v, n->parts[k]) : NULL;
    return v;
}

static int truthy(const json_t *v)
{
    if (!v || json_is_false(v) || json_is_null(v))
        return 0;
    return !json_is_array(v) || json_array_size(v) > 0;
}

static sl_err render_list(struct render *r, const struct node *n, const struct frame *fr);

static sl_err enter(struct render *r)
{
    if (++r->depth > TPL_MAX_DEPTH)
        return sl_fail(r->eb, SL_ETOOBIG, "template nesting deeper than %d", TPL_MAX_DEPTH);
    return SL_OK;
}

static sl_err with_context(struct render *r, const json_t *v, const struct node *kids,
                           const struct frame *fr)
{
    if (r->nctx > TPL_MAX_DEPTH)
        return sl_fail(r->eb, SL_ETOOBIG, "template context deeper than %d", TPL_MAX_DEPTH);
    r->ctx[r->nctx++] = v;
    sl_err e = render_list(r, kids, fr);
    r->nctx--;
    return e;
}

static sl_err render_section(struct render *r, const struct node *n, const struct frame *fr)
{
    const json_t *v = lookup(r, n);
    if (n->type == N_INVERTED)
        return truthy(v) ? SL_OK : render_list(r, n->kids, fr);
    if (!truthy(v))
        return SL_OK;
    if (!json_is_array(v))
        return with_context(r, v, n->kids, fr);
    sl_err e = SL_OK;
    for (size_t i = 0; !e && i < json_array_size(v); i++)
        e = with_context(r, json_array_get(v, i), n->kids, fr);
    return e;
}

/* Render kids with n's indentation added when n is standalone. */
static sl_err indented(struct render *r, const struct node *n, const struct node *kids,
                       const struct frame *fr)
{
    size_t mark = r->indent.len;
    if (n->standalone) {
        if (sb_append(&r->indent, n->indent, n->indent_len))
            return sl_fail(r->eb, SL_ETOOBIG, "template indentation exceeds %d bytes",
                           MAX_INDENT);
        r->pending = 1;
    }
    sl_err e = render_list(r, kids, fr);
    r->indent.len = mark;
    if (r->indent.ptr)
        r->indent.ptr[mark] = '\0';
    return e;
}

/* {{>name}} and {{<name}}: the other template, in the current context. */
static sl_err render_include(struct render *r, const struct node *n, const struct frame *fr)
{
    const struct tpl *t = set_find(r->set, n->text);
    if (!t)
        return SL_OK;
    if (r->includes >= TPL_MAX_PARTIAL_DEPTH)
        return sl_fail(r->eb, SL_ETOOBIG, "partials nested deeper than %d (recursive '%s'?)",
                       TPL_MAX_PARTIAL_DEPTH, n->text);
    struct frame f = {n, fr};
    r->includes++;
    sl_err e = indented(r, n, t->root, n->type == N_PARENT ? &f : fr);
    r->includes--;
    return e;
}

/* {{$name}}: the outermost argument of that name in scope, or the default. */
static sl_err render_block(struct render *r, const struct node *n, const struct frame *fr)
{
    const struct node *body = n->kids;
    for (const struct frame *f = fr; f; f = f->up) {
        for (const struct node *a = f->parent->kids; a; a = a->next) {
            if (strcmp(a->text, n->text) == 0) {
                body = a->kids;
                break;
            }
        }
    }
    return indented(r, n, body, fr);
}

static sl_err render_list(struct render *r, const struct node *n, const struct frame *fr)
{
    sl_err e = enter(r);
    for (; !e && n; n = n->next) {
        if (++r->steps > r->set->max_steps) {
            e = sl_fail(r->eb, SL_ETOOBIG, "template render exceeded %zu steps",
                        r->set->max_steps);
            break;
        }
        switch (n->type) {
        case N_TEXT: e = emit_text(r, n->text, n->len); break;
        case N_VAR:
        case N_RAW: {
            const json_t *v = lookup(r, n);
            if (v)
                e = emit_value(r, v, n->type == N_VAR);
            break;
        }
        case N_SECTION:
        case N_INVERTED: e = render_section(r, n, fr); break;
        case N_PARTIAL:
        case N_PARENT: e = render_include(r, n, fr); break;
        case N_BLOCK: e = render_block(r, n, fr); break;
        }
    }
    r->depth--;
    return e;
}

static sl_err render_tpl(const tpl_set *s, const struct tpl *t, const json_t *data, sbuf *out,
                         sl_errbuf *eb)
{
    struct render r;
    memset(&r, 0, sizeof r);
    r.set = s;
    r.out = out;
    r.eb = eb;
    r.pending = 1;
    if (data)
        r.ctx[r.nctx++] = data;
    sb_init(&r.indent, NULL, MAX_INDENT);
    size_t mark = out->len;
    sl_err e = render_list(&r, t->root, NULL);
    sb_free(&r.indent);
    if (e && out->ptr) {
        out->len = mark;
        out->ptr[mark] = '\0';
    }
    return e;
}

sl_err tpl_render(const tpl_set *s, const char *name, const json_t *data, sbuf *out,
                  sl_errbuf *eb)
{
    const struct tpl *t = set_find(s, name);
    if (!t)
        return sl_fail(eb, SL_ENOTFOUND, "no template named '%s'", name);
    return render_tpl(s, t, data, out, eb);
}

sl_err tpl_render_string(const char *src, size_t len, const json_t *data,
                         const json_t *partials, sbuf *out, sl_errbuf *eb)
{
    tpl_set *s = tpl_set_new();
    sl_err e = SL_OK;
    if (partials && !json_is_object(partials))
        e = sl_fail(eb, SL_EINVAL, "partials must be a JSON object");
    if (!e && partials) {
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)partials, key, val) {
            if (!json_is_string(val)) {
                e = sl_fail(eb, SL_EINVAL, "partial '%s' is not a string", key);
                break;
            }
            e = tpl_set_add(s, key, json_string_value(val), json_string_length(val), eb);
            if (e)
                break;
        }
    }
    struct tpl *t = NULL;
    if (!e)
        e = compile(s->a, "(string)", src, len, &t, eb);
    if (!e)
        e = render_tpl(s, t, data, out, eb);
    tpl_set_free(s);
    return e;
}
