/*
 * metricsd.scraper._scan: a compiled accelerator for the decoder's fast path (decode.py).
 *
 * scan() reads a kubelet /metrics/resource body and either returns exactly what
 * decode._decode_fast would leave in its accumulator, or declines (returns None) so the Python
 * paths run unchanged.  It mirrors _FAST_LINE, _FAST_BLOCK and _fast_comment_ok byte for byte
 * and declines on anything else: non-ASCII, control bytes other than '\n' (NUL, '\r', '\t'),
 * values float() rejects or that are not finite, timestamps whose ms*1e6 leaves int64, a
 * container line without a label block, a label block the Python mapping rejects, two label
 * blocks naming the same (namespace, pod, container).  Declining is always correct; being
 * exact is required only when it does not decline.
 *
 * Why C builds the per-pod dicts and points itself: doing that mapping in Python cost about
 * as much as the whole C scan (see docs/metricsd-decoder.md).
 *
 * Plain C99 + the CPython C API; every read is bounded by the line's end.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* Family numbers: the same as decode.py's _F_NODE_CPU .. _F_START. */
enum { F_OTHER = -1, F_NODE_CPU = 0, F_NODE_MEM = 1, F_CPU = 2, F_MEM = 3, F_START = 4 };

/* Largest millisecond timestamp whose ns value (ms * 1e6) fits in int64. */
#define MAX_MS (INT64_MAX / 1000000)
#define MAX_VALUE_LEN 63
#define TWO64 18446744073709551616.0
#define TWO63 9223372036854775808.0

typedef struct {
    const char *p;    /* the label block, '{' .. '}' inclusive, inside the body */
    Py_ssize_t n;
    uint64_t hash;
    int family;       /* family of the first line that named it (for the mapping's error) */
    int has_start, has_ts;
    int64_t start, ts;
    uint64_t cpu, mem;
} Block;

typedef struct {
    Block *blocks;
    Py_ssize_t nblocks, cap;
    Py_ssize_t *slots;  /* open addressing: block index + 1, 0 = empty */
    size_t mask;
} Table;

static int is_name_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static int is_name_char(unsigned char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

static int is_lname_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_lname_char(unsigned char c)
{
    return is_lname_start(c) || (c >= '0' && c <= '9');
}

static int is_value_char(unsigned char c)
{
    return (c >= '0' && c <= '9') || c == 'e' || c == 'E' || c == '.' || c == '+' || c == '-';
}

/* Printable ASCII: anything else (besides the '\n' separator) makes us decline. */
static int is_plain(unsigned char c)
{
    return c >= 0x20 && c < 0x7f;
}

enum { C_NAME0 = 1, C_NAME = 2, C_LNAME0 = 4, C_LNAME = 8, C_VALUE = 16, C_DIGIT = 32, C_PLAIN = 64 };

/* The predicates above as one table lookup per byte (filled once at import). */
static unsigned char char_class[256];

static void init_char_classes(void)
{
    for (int i = 0; i < 256; i++) {
        unsigned char c = (unsigned char)i;
        char_class[i] = (unsigned char)((is_name_start(c) ? C_NAME0 : 0) |
                                        (is_name_char(c) ? C_NAME : 0) |
                                        (is_lname_start(c) ? C_LNAME0 : 0) |
                                        (is_lname_char(c) ? C_LNAME : 0) |
                                        (is_value_char(c) ? C_VALUE : 0) |
                                        (c >= '0' && c <= '9' ? C_DIGIT : 0) |
                                        (is_plain(c) ? C_PLAIN : 0));
    }
}

#define IS(cls, ch) (char_class[(unsigned char)(ch)] & (cls))

static int has_prefix(const char *s, Py_ssize_t n, const char *lit, Py_ssize_t litn)
{
    return n >= litn && memcmp(s, lit, (size_t)litn) == 0;
}

#define HAS_PREFIX(s, n, lit) has_prefix((s), (n), (lit), (Py_ssize_t)(sizeof(lit) - 1))
#define EQUALS(s, n, lit) ((n) == (Py_ssize_t)(sizeof(lit) - 1) && memcmp((s), (lit), (size_t)(n)) == 0)

/* [a-zA-Z_:][a-zA-Z0-9_:]* over exactly s[0:n]. */
static int is_metric_name(const char *s, Py_ssize_t n)
{
    if (n <= 0 || !IS(C_NAME0, s[0]))
        return 0;
    for (Py_ssize_t i = 1; i < n; i++)
        if (!IS(C_NAME, s[i]))
            return 0;
    return 1;
}

/* decode._fast_comment_ok for a '#' line of printable ASCII (checked here first). */
static int comment_ok(const char *line, Py_ssize_t len)
{
    for (Py_ssize_t i = 0; i < len; i++)
        if (!IS(C_PLAIN, line[i]))
            return 0;
    if (HAS_PREFIX(line, len, "# TYPE ")) {
        /* line[7:].split(" ") must give exactly [metric name, known type]. */
        const char *rest = line + 7;
        Py_ssize_t rn = len - 7;
        const char *sp = memchr(rest, ' ', (size_t)rn);
        if (sp == NULL)
            return 0;
        Py_ssize_t nn = sp - rest;
        const char *t = sp + 1;
        Py_ssize_t tn = rn - nn - 1;
        if (memchr(t, ' ', (size_t)tn) != NULL)
            return 0;
        if (!is_metric_name(rest, nn))
            return 0;
        return EQUALS(t, tn, "counter") || EQUALS(t, tn, "gauge") ||
               EQUALS(t, tn, "histogram") || EQUALS(t, tn, "summary") ||
               EQUALS(t, tn, "untyped");
    }
    if (HAS_PREFIX(line, len, "# HELP ")) {
        const char *rest = line + 7;
        Py_ssize_t rn = len - 7;
        const char *sp = memchr(rest, ' ', (size_t)rn);
        return is_metric_name(rest, sp == NULL ? rn : sp - rest);
    }
    if (len > 1 && line[1] == ' ') {  /* '\t' was refused above */
        Py_ssize_t i = 1;
        while (i < len && line[i] == ' ')
            i++;
        return !(HAS_PREFIX(line + i, len - i, "HELP") || HAS_PREFIX(line + i, len - i, "TYPE"));
    }
    return 1;
}

/* _FAST_BLOCK: \{(?:[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*",?)*\} where p is after '{' and close
 * is the first '}' (so a value cannot hold '}': _FAST_LINE's [^}]* ends the block there). */
static int block_ok(const char *p, const char *close)
{
    while (p < close) {
        if (!IS(C_LNAME0, *p))
            return 0;
        p++;
        while (p < close && IS(C_LNAME, *p))
            p++;
        if (p >= close || *p != '=')
            return 0;
        p++;
        if (p >= close || *p != '"')
            return 0;
        p++;
        while (p < close && *p != '"') {
            if (*p == '\\' || !IS(C_PLAIN, *p))
                return 0;
            p++;
        }
        if (p >= close)
            return 0;
        p++;
        if (p < close && *p == ',')
            p++;
    }
    return 1;
}

static int family_of(const char *s, Py_ssize_t n)
{
    if (EQUALS(s, n, "node_cpu_usage_seconds_total"))
        return F_NODE_CPU;
    if (EQUALS(s, n, "node_memory_working_set_bytes"))
        return F_NODE_MEM;
    if (EQUALS(s, n, "container_cpu_usage_seconds_total"))
        return F_CPU;
    if (EQUALS(s, n, "container_memory_working_set_bytes"))
        return F_MEM;
    if (EQUALS(s, n, "container_start_time_seconds"))
        return F_START;
    return F_OTHER;
}

/* (int(x) if x < 2**64 else 2**64-1) if x > 0 else 0, for finite or infinite x. */
static uint64_t to_u64(double x)
{
    if (!(x > 0.0))
        return 0;
    if (x >= TWO64)
        return UINT64_MAX;
    return (uint64_t)x;
}

/* decode._to_i64_ns for a finite value. */
static int64_t to_i64_ns(double value)
{
    double x = value * 1e9;
    if (x >= TWO63)
        return INT64_MAX;
    if (x < -TWO63)
        return INT64_MIN;
    return (int64_t)x;
}

/* Digits at *pp into m (leading zeros skipped, at most 19 significant ones): how many were
 * read, or -1 when there are too many for a uint64. */
static int take_digits(const char **pp, const char *e, uint64_t *m, int *sig)
{
    const char *p = *pp;
    int count = 0;
    while (p < e && IS(C_DIGIT, *p)) {
        if (*sig > 0 || *p != '0') {
            if (++*sig > 19)
                return -1;
            *m = *m * 10 + (uint64_t)(*p - '0');
        }
        count++;
        p++;
    }
    *pp = p;
    return count;
}

/* float(s) for the common short decimals, without the big-number machinery: when the digits
 * form an integer m <= 2^53 and the decimal exponent k is within +-22, m and 10^|k| are exact
 * doubles and one IEEE multiplication or division gives the correctly rounded value, which is
 * what float() (David Gay's correctly rounded strtod) returns.  Returns 0 when it does not
 * apply (the caller then asks PyOS_string_to_double); only valid float() syntax is accepted. */
static int fast_double(const char *s, Py_ssize_t n, double *out)
{
#if FLT_EVAL_METHOD == 0
    static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char *p = s, *e = s + n;
    int negative = 0;
    if (p < e && (*p == '+' || *p == '-')) {
        negative = *p == '-';
        p++;
    }
    uint64_t m = 0;
    int sig = 0, nfrac = 0;
    int whole = take_digits(&p, e, &m, &sig);
    if (whole < 0)
        return 0;
    if (p < e && *p == '.') {
        p++;
        nfrac = take_digits(&p, e, &m, &sig);
        if (nfrac < 0)
            return 0;
    }
    if (whole + nfrac == 0)
        return 0;
    long exp10 = 0;
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        int exp_negative = 0;
        if (p < e && (*p == '+' || *p == '-')) {
            exp_negative = *p == '-';
            p++;
        }
        if (p >= e)
            return 0;
        while (p < e && IS(C_DIGIT, *p)) {
            exp10 = exp10 * 10 + (*p - '0');
            if (exp10 > 100000)
                return 0;
            p++;
        }
        if (exp_negative)
            exp10 = -exp10;
    }
    if (p != e || m > ((uint64_t)1 << 53))
        return 0;
    long k = exp10 - nfrac;
    double v = (double)m;
    if (m == 0)
        v = 0.0;
    else if (k >= 0 && k <= 22)
        v *= pow10[k];
    else if (k < 0 && k >= -22)
        v /= pow10[-k];
    else
        return 0;
    *out = negative ? -v : v;
    return 1;
#else
    (void)s;
    (void)n;
    (void)out;
    return 0;
#endif
}

/* float(token) for a token of [0-9eE.+-] characters: 1 and *out, or 0 when float() rejects it
 * (or it is too long for us), or -1 with an exception set. */
static int parse_value(const char *v, Py_ssize_t vn, double *out)
{
    if (vn == 0 || vn > MAX_VALUE_LEN)
        return 0;
    if (fast_double(v, vn, out))
        return 1;
    char vbuf[MAX_VALUE_LEN + 1];
    memcpy(vbuf, v, (size_t)vn);
    vbuf[vn] = '\0';
    char *end = NULL;
    double value = PyOS_string_to_double(vbuf, &end, NULL);
    if (PyErr_Occurred())
        return -1;  /* ValueError: float() rejects it too (the caller declines) */
    if (end != vbuf + vn)
        return 0;
    *out = value;
    return 1;
}

/* Word-at-a-time mixing; collisions only cost a memcmp. */
static uint64_t hash_bytes(const char *p, Py_ssize_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)n;
    uint64_t w;
    while (n >= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }
    w = 0;
    memcpy(&w, p, (size_t)n);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ULL;
    return h ^ (h >> 29);
}

static int table_init(Table *t)
{
    t->nblocks = 0;
    t->cap = 64;
    t->mask = 127;
    t->blocks = PyMem_Malloc(sizeof(Block) * (size_t)t->cap);
    t->slots = PyMem_Calloc(t->mask + 1, sizeof(Py_ssize_t));
    if (t->blocks == NULL || t->slots == NULL) {
        PyMem_Free(t->blocks);
        PyMem_Free(t->slots);
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void table_free(Table *t)
{
    PyMem_Free(t->blocks);
    PyMem_Free(t->slots);
}

/* Index of the block with these bytes, or -1. */
static Py_ssize_t table_find(const Table *t, const char *p, Py_ssize_t n, uint64_t h)
{
    for (size_t i = (size_t)h & t->mask;; i = (i + 1) & t->mask) {
        Py_ssize_t s = t->slots[i];
        if (s == 0)
            return -1;
        const Block *b = &t->blocks[s - 1];
        if (b->hash == h && b->n == n && memcmp(b->p, p, (size_t)n) == 0)
            return s - 1;
    }
}

static int table_grow(Table *t)
{
    Py_ssize_t cap = t->cap * 2;
    size_t mask = t->mask * 2 + 1;
    Block *blocks = PyMem_Realloc(t->blocks, sizeof(Block) * (size_t)cap);
    if (blocks == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    t->blocks = blocks;
    t->cap = cap;
    Py_ssize_t *slots = PyMem_Calloc(mask + 1, sizeof(Py_ssize_t));
    if (slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t k = 0; k < t->nblocks; k++) {
        size_t i = (size_t)t->blocks[k].hash & mask;
        while (slots[i] != 0)
            i = (i + 1) & mask;
        slots[i] = k + 1;
    }
    PyMem_Free(t->slots);
    t->slots = slots;
    t->mask = mask;
    return 0;
}

/* Append a new block (its bytes are known to be absent); returns its index or -1. */
static Py_ssize_t table_add(Table *t, const char *p, Py_ssize_t n, uint64_t h, int family)
{
    if (t->nblocks >= t->cap && table_grow(t) < 0)
        return -1;
    Py_ssize_t k = t->nblocks++;
    Block *b = &t->blocks[k];
    b->p = p;
    b->n = n;
    b->hash = h;
    b->family = family;
    b->has_start = b->has_ts = 0;
    b->start = b->ts = 0;
    b->cpu = b->mem = 0;
    size_t i = (size_t)h & t->mask;
    while (t->slots[i] != 0)
        i = (i + 1) & t->mask;
    t->slots[i] = k + 1;
    return k;
}

/* An int for a timestamp, reusing the previous object when the value repeats (it usually does). */
static PyObject *ts_long(int64_t v, int64_t *last, PyObject **last_obj)
{
    if (*last_obj == NULL || *last != v) {
        PyObject *o = PyLong_FromLongLong(v);
        if (o == NULL)
            return NULL;
        Py_XSETREF(*last_obj, o);
        *last = v;
    }
    Py_INCREF(*last_obj);
    return *last_obj;
}

/* An ordinary exception (the mapping's DecodeError, MemoryError, float()'s ValueError) means
 * decline: the Python path reruns and says what is wrong.  KeyboardInterrupt and friends pass. */
static PyObject *decline_on_exception(void)
{
    if (PyErr_ExceptionMatches(PyExc_Exception)) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    return NULL;
}

typedef struct {
    int seen;
    uint64_t cpu, mem;
    int64_t ts;
} Node;

/* Scan every line.  Returns 1 when accepted, 0 to decline, -1 with an exception set. */
static int scan_lines(const char *buf, Py_ssize_t n, int64_t default_ns, int default_ok,
                      Node *node, Table *t)
{
    Py_ssize_t pos = 0;
    Py_ssize_t guess = 0;  /* kubelet families list blocks in the same order: try the next one */
    while (pos < n) {
        const char *line = buf + pos;
        const char *nl = memchr(line, '\n', (size_t)(n - pos));
        Py_ssize_t len = nl != NULL ? nl - line : n - pos;
        const char *e = line + len;
        pos += len + 1;
        if (len == 0)
            continue;
        if (line[0] == '#') {
            if (!comment_ok(line, len))
                return 0;
            continue;
        }
        /* _FAST_LINE: name, optional {block}, ' ', value, optional ' ' + 1..18 digits */
        const char *q = line;
        if (!IS(C_NAME0, *q))
            return 0;
        q++;
        while (q < e && IS(C_NAME, *q))
            q++;
        const char *name = line;
        Py_ssize_t name_n = q - line;
        const char *blk = NULL;
        const char *close = NULL;
        if (q < e && *q == '{') {
            close = memchr(q, '}', (size_t)(e - q));
            if (close == NULL)
                return 0;
            blk = q;
            q = close + 1;
        }
        if (q >= e || *q != ' ')
            return 0;
        q++;
        const char *v = q;
        while (q < e && IS(C_VALUE, *q))
            q++;
        Py_ssize_t vn = q - v;
        int64_t ts;
        if (q < e) {
            if (*q != ' ')
                return 0;
            q++;
            const char *d = q;
            int64_t ms = 0;
            while (q < e && IS(C_DIGIT, *q) && q - d < 18) {
                ms = ms * 10 + (*q - '0');
                q++;
            }
            if (q != e || q == d || ms > MAX_MS)
                return 0;
            ts = ms * 1000000;
        } else {
            if (!default_ok)
                return 0;
            ts = default_ns;
        }
        /* The value: float() semantics, finite only. */
        double value;
        int ok = parse_value(v, vn, &value);
        if (ok <= 0)
            return ok;
        if (!isfinite(value))
            return 0;

        int family = family_of(name, name_n);
        if (family == F_OTHER || family == F_NODE_CPU || family == F_NODE_MEM) {
            if (blk != NULL && !block_ok(blk + 1, close))
                return 0;
            if (family == F_NODE_CPU) {
                node->cpu = to_u64(value * 1e9);
                node->ts = ts;
                node->seen = 1;
            } else if (family == F_NODE_MEM) {
                node->mem = to_u64(value);
                node->ts = ts;
                node->seen = 1;
            }
            continue;
        }
        if (blk == NULL)
            return 0;  /* the Python path raises its "no container label" error */
        Py_ssize_t bn = close - blk + 1;
        Py_ssize_t k = -1;
        if (guess < t->nblocks) {
            const Block *g = &t->blocks[guess];
            if (g->n == bn && memcmp(g->p, blk, (size_t)bn) == 0)
                k = guess;
        }
        if (k < 0) {
            uint64_t h = hash_bytes(blk, bn);
            k = table_find(t, blk, bn, h);
            if (k < 0) {
                if (!block_ok(blk + 1, close))
                    return 0;
                k = table_add(t, blk, bn, h, family);
                if (k < 0)
                    return -1;
            }
        }
        guess = k + 1;
        Block *b = &t->blocks[k];
        if (family == F_CPU) {
            b->cpu = to_u64(value * 1e9);
            b->ts = ts;
            b->has_ts = 1;
        } else if (family == F_MEM) {
            b->mem = to_u64(value);
            b->ts = ts;
            b->has_ts = 1;
        } else {
            b->start = to_i64_ns(value);
            b->has_start = 1;
        }
    }
    return 1;
}

/* Map blocks to pods/containers and build the points.  Returns the pods dict, Py_None (new
 * reference) to decline, or NULL with an exception set (the caller declines on it). */
static PyObject *build_pods(const Table *t, PyObject *refs, PyObject *ref_fn, PyObject *point_cls,
                            PyObject *zero_time)
{
    PyObject *pods = PyDict_New();
    PyObject *last_ts_obj = NULL;
    int64_t last_ts = 0;
    if (pods == NULL)
        return NULL;
    for (Py_ssize_t k = 0; k < t->nblocks; k++) {
        const Block *b = &t->blocks[k];
        PyObject *s = PyUnicode_New(b->n, 127);
        if (s == NULL)
            goto error;
        memcpy(PyUnicode_1BYTE_DATA(s), b->p, (size_t)b->n);
        PyObject *ref = PyDict_GetItemWithError(refs, s);
        if (ref != NULL) {
            Py_INCREF(ref);
        } else if (PyErr_Occurred()) {
            Py_DECREF(s);
            goto error;
        } else {
            PyObject *fam = PyLong_FromLong(b->family);
            if (fam == NULL) {
                Py_DECREF(s);
                goto error;
            }
            PyObject *args[2] = {s, fam};
            ref = PyObject_Vectorcall(ref_fn, args, 2, NULL);
            Py_DECREF(fam);
            if (ref == NULL || PyDict_SetItem(refs, s, ref) < 0) {
                Py_DECREF(s);
                Py_XDECREF(ref);
                goto error;
            }
        }
        Py_DECREF(s);
        if (!PyTuple_CheckExact(ref) || PyTuple_GET_SIZE(ref) != 2) {
            Py_DECREF(ref);
            goto decline;
        }
        PyObject *key = PyTuple_GET_ITEM(ref, 0);
        PyObject *cname = PyTuple_GET_ITEM(ref, 1);
        PyObject *containers = PyDict_GetItemWithError(pods, key);  /* borrowed */
        if (containers == NULL) {
            if (PyErr_Occurred()) {
                Py_DECREF(ref);
                goto error;
            }
            containers = PyDict_New();
            if (containers == NULL || PyDict_SetItem(pods, key, containers) < 0) {
                Py_XDECREF(containers);
                Py_DECREF(ref);
                goto error;
            }
            Py_DECREF(containers);  /* pods keeps it alive */
        } else {
            int has = PyDict_Contains(containers, cname);
            if (has != 0) {  /* two label blocks for one container: let Python merge them */
                Py_DECREF(ref);
                if (has < 0)
                    goto error;
                goto decline;
            }
        }
        PyObject *fields[4] = {NULL, NULL, NULL, NULL};
        if (b->has_start) {
            fields[0] = PyLong_FromLongLong(b->start);
        } else {
            Py_INCREF(zero_time);
            fields[0] = zero_time;
        }
        if (b->has_ts) {
            fields[1] = ts_long(b->ts, &last_ts, &last_ts_obj);
        } else {
            Py_INCREF(zero_time);
            fields[1] = zero_time;
        }
        fields[2] = PyLong_FromUnsignedLongLong(b->cpu);
        fields[3] = PyLong_FromUnsignedLongLong(b->mem);
        PyObject *point = NULL;
        if (fields[0] != NULL && fields[1] != NULL && fields[2] != NULL && fields[3] != NULL)
            point = PyObject_Vectorcall(point_cls, fields, 4, NULL);
        for (int i = 0; i < 4; i++)
            Py_XDECREF(fields[i]);
        if (point == NULL || PyDict_SetItem(containers, cname, point) < 0) {
            Py_XDECREF(point);
            Py_DECREF(ref);
            goto error;
        }
        Py_DECREF(point);
        Py_DECREF(ref);
    }
    Py_XDECREF(last_ts_obj);
    return pods;

decline:
    Py_XDECREF(last_ts_obj);
    Py_DECREF(pods);
    Py_RETURN_NONE;

error:
    Py_XDECREF(last_ts_obj);
    Py_DECREF(pods);
    return NULL;
}

PyDoc_STRVAR(scan_doc,
"scan(text, default_ms, refs, ref_fn, point_cls, zero_time, /)\n"
"--\n\n"
"Decode a kubelet body the way decode._decode_fast does, or return None to decline.\n\n"
"text: the decoded body (declined unless pure ASCII). default_ms: the request time in ms.\n"
"refs: the label-block cache {block: ((namespace, pod), container)}, filled on misses by\n"
"ref_fn(block, family). point_cls(start_time, timestamp, cpu, memory) builds a point;\n"
"zero_time is the default for unset times.\n"
"Returns (node_seen, node_cpu, node_memory, node_timestamp, pods) where pods is\n"
"{(namespace, pod): {container: point}} in first-seen order.");

/* The bytes of an ASCII str: 1 with *buf and *n set, 0 when it is not ASCII (decline), -1 on error. */
static int ascii_view(PyObject *text, const char **buf, Py_ssize_t *n)
{
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(text) < 0)
        return -1;
#endif
    if (!PyUnicode_IS_ASCII(text))
        return 0;
    *buf = (const char *)PyUnicode_1BYTE_DATA(text);
    *n = PyUnicode_GET_LENGTH(text);
    return 1;
}

static PyObject *scan(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6) {
        PyErr_Format(PyExc_TypeError, "scan() takes 6 positional arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *text = args[0], *default_ms_obj = args[1], *refs = args[2];
    PyObject *ref_fn = args[3], *point_cls = args[4], *zero_time = args[5];
    if (!PyUnicode_Check(text) || !PyLong_Check(default_ms_obj) || !PyDict_Check(refs)) {
        PyErr_SetString(PyExc_TypeError, "scan(str, int, dict, callable, type, int)");
        return NULL;
    }
    const char *buf;
    Py_ssize_t n;
    int view = ascii_view(text, &buf, &n);
    if (view <= 0)
        return view < 0 ? NULL : Py_NewRef(Py_None);

    /* Lines without a timestamp get default_ms * 1e6; outside int64 we leave it to Python. */
    int overflow = 0;
    long long default_ms = PyLong_AsLongLongAndOverflow(default_ms_obj, &overflow);
    if (default_ms == -1 && PyErr_Occurred())
        return NULL;
    int default_ok = !overflow && default_ms <= MAX_MS && default_ms >= INT64_MIN / 1000000;
    int64_t default_ns = default_ok ? (int64_t)default_ms * 1000000 : 0;

    Node node = {0, 0, 0, 0};
    Table t;
    PyObject *result = NULL;
    if (table_init(&t) < 0)
        return decline_on_exception();
    int rc = scan_lines(buf, n, default_ns, default_ok, &node, &t);
    if (rc == 1) {
        PyObject *pods = build_pods(&t, refs, ref_fn, point_cls, zero_time);
        if (pods == NULL || pods == Py_None)
            result = pods;
        else
            result = Py_BuildValue("(NKKLN)", PyBool_FromLong(node.seen),
                                   (unsigned long long)node.cpu, (unsigned long long)node.mem,
                                   (long long)node.ts, pods);
    } else if (rc == 0) {
        result = Py_NewRef(Py_None);
    }
    table_free(&t);
    return result != NULL ? result : decline_on_exception();
}

PyDoc_STRVAR(parse_value_doc,
"parse_value(token, /)\n"
"--\n\n"
"float(token) as scan() computes it, or None where scan() would decline (for tests).");

static PyObject *py_parse_value(PyObject *Py_UNUSED(module), PyObject *arg)
{
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "parse_value(str)");
        return NULL;
    }
    const char *s;
    Py_ssize_t n;
    int view = ascii_view(arg, &s, &n);
    if (view <= 0)
        return view < 0 ? NULL : Py_NewRef(Py_None);
    for (Py_ssize_t i = 0; i < n; i++)
        if (!IS(C_VALUE, s[i]))
            Py_RETURN_NONE;
    double value;
    int ok = parse_value(s, n, &value);
    if (ok < 0)
        return decline_on_exception();
    if (ok == 0 || !isfinite(value))
        Py_RETURN_NONE;
    return PyFloat_FromDouble(value);
}

static PyMethodDef scan_methods[] = {
    {"scan", (PyCFunction)(void (*)(void))scan, METH_FASTCALL, scan_doc},
    {"parse_value", py_parse_value, METH_O, parse_value_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef scan_module = {
    PyModuleDef_HEAD_INIT,
    "metricsd.scraper._scan",
    "Compiled accelerator for metricsd.scraper.decode's fast path (see scan()).",
    0,
    scan_methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__scan(void)
{
    init_char_classes();
    return PyModuleDef_Init(&scan_module);
}
