/* Mirrors jansson 2.14 (load.c, utf.c, strconv.c), the version meson.build pins. */
/* json_check.c - the streaming validator of json_check.h. One state machine covers both of
 * jansson's layers (the lexer in load.c lex_scan and the recursive parser parse_value), so a
 * token may be split anywhere between feeds. Rules taken from jansson 2.14 src/load.c are noted
 * where they are mirrored; its quirks are kept on purpose, since the server answers from jansson
 * whenever this module says "invalid" and the two must never disagree. */
#include "json_check.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum state {
    ST_VALUE,        /* a value must start here (top level, after ':' or an array's ',') */
    ST_ARRAY_FIRST,  /* after '[': ']' or a value */
    ST_OBJECT_FIRST, /* after '{': '}' or a key */
    ST_KEY,          /* after an object's ',': a key */
    ST_COLON,        /* after a key */
    ST_AFTER,        /* after a value: ',' or the closing bracket, or only whitespace at the top */
    ST_STRING,       /* inside a string */
    ST_ESC,          /* after a backslash */
    ST_UHEX,         /* inside the four digits of \uXXXX */
    ST_LOW_BS,       /* after a high surrogate: its low half's backslash must follow */
    ST_LOW_U,        /* ... and then its 'u' */
    ST_UTF8,         /* inside a multi-byte UTF-8 sequence */
    ST_NUMBER,       /* inside a number, see enum num_state */
    ST_LITERAL,      /* inside true, false or null */
    ST_LITERAL_END,  /* the literal is complete, but a letter would still extend it */
    ST_FAILED,
};

enum num_state {
    N_MINUS, /* after '-': a digit must follow */
    N_ZERO,  /* the integer part is "0": no further digit */
    N_INT,   /* in the integer part */
    N_DOT,   /* after '.': a digit must follow */
    N_FRAC,  /* in the fraction */
    N_E,     /* after 'e' or 'E': a sign or a digit */
    N_ESIGN, /* after the exponent's sign: a digit */
    N_EXP,   /* in the exponent */
};

/* A real's explicit exponent saturates here; no document has enough digits to come back. */
#define EXP_SATURATE 1000000000000000LL
/* The exponent handed to strtod is clamped here: past it the verdict cannot change. */
#define EXP_CLAMP 99999
/* An object's keys are looked up by a linear scan until it has this many, then by a table. */
#define LINEAR_KEYS 16

/* 12 bytes a key: offsets fit 32 bits, since every key byte is within the budget. */
struct uvh_json_check_key {
    uint32_t hash;
    uint32_t off; /* in jc->keys */
    uint32_t len;
};

struct uvh_json_check_obj {
    size_t ent_start; /* its first key in jc->ents */
    size_t key_base;  /* where its key bytes start in jc->keys */
    uint32_t *slots;  /* open addressing: index + 1 relative to ent_start, 0 = empty */
    size_t nslots;    /* a power of two, 0 while the object is scanned linearly */
};

static int fail(struct uvh_json_check *jc, const char *reason)
{
    jc->failed = true;
    jc->reason = reason;
    jc->state = ST_FAILED;
    return -1;
}

static int fail_nomem(struct uvh_json_check *jc)
{
    jc->nomem = true;
    return fail(jc, "out of memory");
}

/* Counts `n` more bytes against the budget before they are allocated; fails past it. The
 * budget never exceeds 4 GiB, so key offsets and counts fit in 32 bits. */
static int charge(struct uvh_json_check *jc, size_t n)
{
    size_t max = jc->mem_max < UINT32_MAX ? jc->mem_max : UINT32_MAX;
    if (jc->mem > max || n > max - jc->mem) {
        jc->over_budget = true;
        return fail(jc, "too many distinct object keys");
    }
    jc->mem += n;
    if (jc->mem > jc->mem_peak)
        jc->mem_peak = jc->mem;
    return 0;
}

static void uncharge(struct uvh_json_check *jc, size_t n)
{
    jc->mem -= n;
}

/* Makes room for `need` elements of `size` bytes in *p (capacity *cap, doubled as needed). The
 * old block counts until realloc has returned: both may be held at once. */
static int reserve(struct uvh_json_check *jc, void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / size)
            return charge(jc, SIZE_MAX);
        ncap *= 2;
    }
    if (charge(jc, ncap * size))
        return -1;
    void *np = realloc(*p, ncap * size);
    if (!np) {
        uncharge(jc, ncap * size);
        return fail_nomem(jc);
    }
    uncharge(jc, *cap * size);
    *p = np;
    *cap = ncap;
    return 0;
}

void uvh_json_check_init(struct uvh_json_check *jc)
{
    memset(jc, 0, sizeof(*jc));
    jc->state = ST_VALUE;
    jc->mem_max = UVH_JSON_CHECK_MEM_MAX;
}

void uvh_json_check_deinit(struct uvh_json_check *jc)
{
    for (size_t i = 0; i < jc->nobjs; i++)
        free(jc->objs[i].slots);
    free(jc->objs);
    free(jc->ents);
    free(jc->keys);
    jc->objs = NULL;
    jc->ents = NULL;
    jc->keys = NULL;
    jc->nobjs = 0;
    jc->objs_cap = jc->ents_cap = jc->keys_cap = 0;
    jc->nents = jc->keys_len = 0;
    jc->mem = 0;
}

const char *uvh_json_check_reason(const struct uvh_json_check *jc)
{
    return jc->reason;
}

uint64_t uvh_json_check_offset(const struct uvh_json_check *jc)
{
    return jc->offset;
}

bool uvh_json_check_nomem(const struct uvh_json_check *jc)
{
    return jc->nomem;
}

bool uvh_json_check_over_budget(const struct uvh_json_check *jc)
{
    return jc->over_budget;
}

size_t uvh_json_check_mem_peak(const struct uvh_json_check *jc)
{
    return jc->mem_peak;
}

/* ---- containers and duplicate keys ---- */

static bool top_is_object(const struct uvh_json_check *jc)
{
    uint32_t i = jc->depth - 1;
    return jc->kind[i / 8] & (1u << (i % 8));
}

static int push(struct uvh_json_check *jc, bool object)
{
    uint32_t i = jc->depth;
    if (object) {
        if (reserve(jc, (void **)&jc->objs, &jc->objs_cap, jc->nobjs + 1, sizeof(*jc->objs)))
            return -1;
        jc->objs[jc->nobjs++] = (struct uvh_json_check_obj){jc->nents, jc->keys_len, NULL, 0};
        jc->kind[i / 8] |= (uint8_t)(1u << (i % 8));
        jc->state = ST_OBJECT_FIRST;
    } else {
        jc->kind[i / 8] &= (uint8_t) ~(1u << (i % 8));
        jc->state = ST_ARRAY_FIRST;
    }
    jc->depth++;
    return 0;
}

static void pop(struct uvh_json_check *jc)
{
    if (top_is_object(jc)) {
        struct uvh_json_check_obj *o = &jc->objs[--jc->nobjs];
        free(o->slots);
        uncharge(jc, o->nslots * sizeof(*o->slots));
        jc->nents = o->ent_start;
        jc->keys_len = o->key_base;
    }
    jc->depth--;
    jc->state = ST_AFTER;
}

static uint32_t hash_key(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ULL;
    }
    return (uint32_t)(h ^ h >> 32);
}

static void slot_insert(struct uvh_json_check_obj *o, const struct uvh_json_check_key *ents,
                        size_t rel)
{
    size_t mask = o->nslots - 1;
    size_t i = (size_t)ents[o->ent_start + rel].hash & mask;
    while (o->slots[i])
        i = (i + 1) & mask;
    o->slots[i] = (uint32_t)(rel + 1);
}

static int rebuild_slots(struct uvh_json_check *jc, struct uvh_json_check_obj *o, size_t nslots)
{
    if (charge(jc, nslots * sizeof(uint32_t)))
        return -1;
    uint32_t *slots = calloc(nslots, sizeof(*slots));
    if (!slots) {
        uncharge(jc, nslots * sizeof(*slots));
        return fail_nomem(jc);
    }
    uncharge(jc, o->nslots * sizeof(*slots));
    free(o->slots);
    o->slots = slots;
    o->nslots = nslots;
    for (size_t rel = 0; rel < jc->nents - o->ent_start; rel++)
        slot_insert(o, jc->ents, rel);
    return 0;
}

static bool same_key(const struct uvh_json_check *jc, const struct uvh_json_check_key *e,
                     uint32_t h, size_t len)
{
    /* keys is NULL while every key so far is "" */
    return e->hash == h && e->len == len &&
           (len == 0 || memcmp(jc->keys + e->off, jc->keys + jc->key_start, len) == 0);
}

/* The key just scanned is keys[key_start, keys_len): reject it if the innermost object has it
 * already (load.c parse_object, json_object_getn under JSON_REJECT_DUPLICATES), else add it. Keys
 * are compared as decoded bytes, so "\u0041" and "A" are the same key. */
static int key_done(struct uvh_json_check *jc)
{
    struct uvh_json_check_obj *o = &jc->objs[jc->nobjs - 1];
    size_t len = jc->keys_len - jc->key_start;
    uint32_t h = len ? hash_key(jc->keys + jc->key_start, len) : hash_key("", 0);
    size_t count = jc->nents - o->ent_start;

    if (o->slots) {
        size_t mask = o->nslots - 1;
        for (size_t i = (size_t)h & mask; o->slots[i]; i = (i + 1) & mask) {
            const struct uvh_json_check_key *e = &jc->ents[o->ent_start + o->slots[i] - 1];
            if (same_key(jc, e, h, len))
                return fail(jc, "duplicate object key");
        }
    } else {
        for (size_t i = o->ent_start; i < jc->nents; i++) {
            const struct uvh_json_check_key *e = &jc->ents[i];
            if (same_key(jc, e, h, len))
                return fail(jc, "duplicate object key");
        }
    }

    if (reserve(jc, (void **)&jc->ents, &jc->ents_cap, jc->nents + 1, sizeof(*jc->ents)))
        return -1;
    jc->ents[jc->nents++] = (struct uvh_json_check_key){h, (uint32_t)jc->key_start, (uint32_t)len};
    jc->state = ST_COLON;
    count++;
    if (o->slots && count * 2 > o->nslots)
        return rebuild_slots(jc, o, o->nslots * 2);
    if (o->slots)
        slot_insert(o, jc->ents, count - 1);
    else if (count >= LINEAR_KEYS)
        return rebuild_slots(jc, o, LINEAR_KEYS * 4);
    return 0;
}

static int key_append(struct uvh_json_check *jc, const char *p, size_t n)
{
    if (reserve(jc, (void **)&jc->keys, &jc->keys_cap, jc->keys_len + n, 1))
        return -1;
    memcpy(jc->keys + jc->keys_len, p, n);
    jc->keys_len += n;
    return 0;
}

/* ---- strings ---- */

static int string_byte(struct uvh_json_check *jc, char c)
{
    return jc->in_key ? key_append(jc, &c, 1) : 0;
}

/* A complete \uXXXX (load.c lex_scan_string, second pass): a high surrogate must be followed
 * at once by a \u low one; a lone half is an error; U+0000 is refused, in a value ("\u0000 is not
 * allowed without JSON_ALLOW_NUL", parse_value) and in a key ("NUL byte in object key"). */
static int unicode_escape(struct uvh_json_check *jc, uint32_t v)
{
    if (jc->high) {
        if (v < 0xDC00 || v > 0xDFFF)
            return fail(jc, "invalid Unicode surrogate pair");
        v = ((jc->high - 0xD800) << 10) + (v - 0xDC00) + 0x10000;
        jc->high = 0;
    } else if (v >= 0xD800 && v <= 0xDBFF) {
        jc->high = v;
        jc->state = ST_LOW_BS;
        return 0;
    } else if (v >= 0xDC00 && v <= 0xDFFF) {
        return fail(jc, "lone low surrogate");
    } else if (v == 0) {
        return fail(jc, "\\u0000 is not allowed");
    }
    jc->state = ST_STRING;
    if (!jc->in_key)
        return 0;
    char u[4];
    size_t n;
    if (v < 0x80) {
        u[0] = (char)v;
        n = 1;
    } else if (v < 0x800) {
        u[0] = (char)(0xC0 | (v >> 6));
        u[1] = (char)(0x80 | (v & 0x3F));
        n = 2;
    } else if (v < 0x10000) {
        u[0] = (char)(0xE0 | (v >> 12));
        u[1] = (char)(0x80 | ((v >> 6) & 0x3F));
        u[2] = (char)(0x80 | (v & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (v >> 18));
        u[1] = (char)(0x80 | ((v >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((v >> 6) & 0x3F));
        u[3] = (char)(0x80 | (v & 0x3F));
        n = 4;
    }
    return key_append(jc, u, n);
}

/* The first byte of a multi-byte sequence, as utf8_check_first and utf8_check_full (utf.c) see
 * it: no overlong forms (C0, C1, E0 80-9F, F0 80-8F), no surrogates (ED A0-BF), nothing past
 * U+10FFFF (F4 90-BF, F5-FF), no stray continuation byte. */
static int utf8_lead(struct uvh_json_check *jc, unsigned char u)
{
    jc->utf8_lo = 0x80;
    jc->utf8_hi = 0xBF;
    if (u >= 0xC2 && u <= 0xDF) {
        jc->utf8_need = 1;
    } else if (u >= 0xE0 && u <= 0xEF) {
        jc->utf8_need = 2;
        if (u == 0xE0)
            jc->utf8_lo = 0xA0;
        else if (u == 0xED)
            jc->utf8_hi = 0x9F;
    } else if (u >= 0xF0 && u <= 0xF4) {
        jc->utf8_need = 3;
        if (u == 0xF0)
            jc->utf8_lo = 0x90;
        else if (u == 0xF4)
            jc->utf8_hi = 0x8F;
    } else {
        return fail(jc, "invalid UTF-8");
    }
    jc->state = ST_UTF8;
    return string_byte(jc, (char)u);
}

static bool is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static unsigned hex_value(unsigned char c)
{
    if (c <= '9')
        return c - '0';
    return (c | 0x20) - 'a' + 10;
}

/* A continuation byte of the sequence utf8_lead started (ST_UTF8). */
static int utf8_next(struct uvh_json_check *jc, unsigned char c)
{
    if (c < jc->utf8_lo || c > jc->utf8_hi)
        return fail(jc, "invalid UTF-8");
    jc->utf8_lo = 0x80;
    jc->utf8_hi = 0xBF;
    if (--jc->utf8_need == 0)
        jc->state = ST_STRING;
    return string_byte(jc, (char)c);
}

static void uhex_start(struct uvh_json_check *jc)
{
    jc->hex_left = 4;
    jc->hex = 0;
    jc->state = ST_UHEX;
}

/* A byte of the string itself (ST_STRING): its end, a backslash, or a character. */
static int string_char(struct uvh_json_check *jc, unsigned char c)
{
    if (c == '"') {
        if (jc->in_key)
            return key_done(jc);
        jc->state = ST_AFTER;
        return 0;
    }
    if (c < 0x20)
        return fail(jc, "control character in string");
    if (c == '\\') {
        jc->state = ST_ESC;
        return 0;
    }
    if (c < 0x80)
        return string_byte(jc, (char)c);
    return utf8_lead(jc, c);
}

/* The byte after a backslash (ST_ESC). */
static int escape_char(struct uvh_json_check *jc, unsigned char c)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    if (c == 'u') {
        uhex_start(jc);
        return 0;
    }
    const char *e = c ? strchr(from, c) : NULL;
    if (!e)
        return fail(jc, "invalid escape");
    jc->state = ST_STRING;
    return string_byte(jc, to[e - from]);
}

/* A digit of \uXXXX (ST_UHEX). */
static int uhex_digit(struct uvh_json_check *jc, unsigned char c)
{
    if (!is_hex(c))
        return fail(jc, "invalid escape");
    jc->hex = jc->hex << 4 | hex_value(c);
    if (--jc->hex_left)
        return 0;
    return unicode_escape(jc, jc->hex);
}

/* The backslash (ST_LOW_BS) and the 'u' (ST_LOW_U) that must follow a high surrogate at once. */
static int low_surrogate_start(struct uvh_json_check *jc, unsigned char c)
{
    bool backslash = jc->state == ST_LOW_BS;
    if (c != (backslash ? '\\' : 'u'))
        return fail(jc, "invalid Unicode surrogate pair");
    if (backslash)
        jc->state = ST_LOW_U;
    else
        uhex_start(jc);
    return 0;
}

/* ---- numbers (load.c lex_scan_number) ---- */

static void int_digit(struct uvh_json_check *jc, unsigned d)
{
    if (!jc->num_int_ovf) {
        if (jc->num_mag > (ULLONG_MAX - d) / 10)
            jc->num_int_ovf = true;
        else
            jc->num_mag = jc->num_mag * 10 + d;
    }
    if (jc->num_len < UVH_JSON_CHECK_NUM_DIGITS) {
        jc->num[jc->num_len++] = (char)('0' + d);
    } else {
        jc->num_scale++;
        jc->num_sticky |= d != 0;
    }
}

static void frac_digit(struct uvh_json_check *jc, unsigned d)
{
    if (jc->num_len == 0 && d == 0) {
        jc->num_scale--;
    } else if (jc->num_len < UVH_JSON_CHECK_NUM_DIGITS) {
        jc->num[jc->num_len++] = (char)('0' + d);
        jc->num_scale--;
    } else {
        jc->num_sticky |= d != 0;
    }
}

static void exp_digit(struct uvh_json_check *jc, unsigned d)
{
    if (jc->exp < EXP_SATURATE)
        jc->exp = jc->exp * 10 + d;
}

/* The complete number: an integer (no '.', no exponent) must fit json_int_t, as strtoll decides
 * (ERANGE: "too big integer" / "too big negative integer"); a real fails only on overflow, when
 * strtod gives ERANGE with +-HUGE_VAL (strconv.c jsonp_strtod). Underflow to zero or to a
 * subnormal is accepted. The real's value is rebuilt as "<significant digits>e<exponent>" with
 * no decimal point, so strtod's answer does not depend on the locale. */
static int number_done(struct uvh_json_check *jc, bool real)
{
    if (!real) {
        unsigned long long limit = (unsigned long long)LLONG_MAX + (jc->num_neg ? 1 : 0);
        if (jc->num_int_ovf || jc->num_mag > limit)
            return fail(jc, jc->num_neg ? "too big negative integer" : "too big integer");
        return 0;
    }
    if (jc->num_len == 0)
        return 0; /* zero */
    int64_t e = jc->num_scale + (jc->exp_neg ? -jc->exp : jc->exp);
    size_t n = jc->num_len;
    if (jc->num_sticky) {
        jc->num[n++] = '1';
        e--;
    }
    if (e > EXP_CLAMP)
        e = EXP_CLAMP;
    if (e < -EXP_CLAMP)
        e = -EXP_CLAMP;
    snprintf(jc->num + n, sizeof(jc->num) - n, "e%d", (int)e);
    int saved = errno;
    errno = 0;
    double v = strtod(jc->num, NULL);
    bool overflow = v == HUGE_VAL && errno == ERANGE;
    errno = saved;
    return overflow ? fail(jc, "real number overflow") : 0;
}

static bool number_complete(const struct uvh_json_check *jc)
{
    return jc->num_state == N_ZERO || jc->num_state == N_INT || jc->num_state == N_FRAC ||
           jc->num_state == N_EXP;
}

static bool number_is_real(const struct uvh_json_check *jc)
{
    return jc->num_state == N_FRAC || jc->num_state == N_EXP;
}

/* The integer part's first digit, c. */
static void number_first_digit(struct uvh_json_check *jc, unsigned char c)
{
    if (c == '0') {
        jc->num_state = N_ZERO;
    } else {
        jc->num_state = N_INT;
        int_digit(jc, c - '0');
    }
}

/* After the integer part or the fraction: 'e' or 'E' starts the exponent, any other byte ends
 * the number. The number functions below return 0 if c is taken, 1 if it ends the number
 * (c is not part of it), -1 on failure. */
static int number_exp_or_end(struct uvh_json_check *jc, unsigned char c)
{
    if (c != 'e' && c != 'E')
        return 1;
    jc->num_state = N_E;
    return 0;
}

/* N_MINUS, N_ZERO, N_INT */
static int number_int(struct uvh_json_check *jc, unsigned char c)
{
    bool digit = c >= '0' && c <= '9';
    if (jc->num_state == N_MINUS) {
        if (!digit)
            return fail(jc, "invalid token");
        number_first_digit(jc, c);
        return 0;
    }
    if (digit && jc->num_state == N_ZERO)
        return fail(jc, "invalid token"); /* leading zero */
    if (digit) {
        int_digit(jc, c - '0');
        return 0;
    }
    if (c == '.') {
        jc->num_state = N_DOT;
        return 0;
    }
    return number_exp_or_end(jc, c);
}

/* N_DOT, N_FRAC */
static int number_frac(struct uvh_json_check *jc, unsigned char c)
{
    if (c >= '0' && c <= '9') {
        frac_digit(jc, c - '0');
        jc->num_state = N_FRAC;
        return 0;
    }
    if (jc->num_state == N_DOT)
        return fail(jc, "invalid token");
    return number_exp_or_end(jc, c);
}

/* N_E, N_ESIGN, N_EXP */
static int number_exp(struct uvh_json_check *jc, unsigned char c)
{
    if (jc->num_state == N_E && (c == '+' || c == '-')) {
        jc->exp_neg = c == '-';
        jc->num_state = N_ESIGN;
        return 0;
    }
    if (c >= '0' && c <= '9') {
        exp_digit(jc, c - '0');
        jc->num_state = N_EXP;
        return 0;
    }
    if (jc->num_state == N_EXP)
        return 1;
    return fail(jc, "invalid token");
}

/* One byte in ST_NUMBER: 0 if it is taken, 1 if it ends the number, -1 on failure. */
static int number_step(struct uvh_json_check *jc, unsigned char c)
{
    switch ((enum num_state)jc->num_state) {
    case N_MINUS:
    case N_ZERO:
    case N_INT:
        return number_int(jc, c);
    case N_DOT:
    case N_FRAC:
        return number_frac(jc, c);
    case N_E:
    case N_ESIGN:
    case N_EXP:
    default:
        return number_exp(jc, c);
    }
}

/* ---- values ---- */

static const char *const literals[] = {"true", "false", "null"};

/* A value starts with byte c. load.c parse_value counts the depth before it looks at the token:
 * any value, scalars too, nested in 2048 containers is refused. */
static int begin_value(struct uvh_json_check *jc, unsigned char c)
{
    if (jc->depth + 1 > UVH_JSON_CHECK_MAX_DEPTH)
        return fail(jc, "maximum parsing depth reached");
    switch (c) {
    case '{':
        return push(jc, true);
    case '[':
        return push(jc, false);
    case '"':
        jc->in_key = false;
        jc->state = ST_STRING;
        return 0;
    case 't':
    case 'f':
    case 'n':
        jc->lit = literals[c == 't' ? 0 : c == 'f' ? 1 : 2];
        jc->lit_pos = 1;
        jc->state = ST_LITERAL;
        return 0;
    default:
        break;
    }
    if (c != '-' && (c < '0' || c > '9'))
        return fail(jc, c == '}' || c == ']' || c == ',' || c == ':' ? "unexpected token"
                                                                     : "invalid token");
    jc->state = ST_NUMBER;
    jc->num_neg = c == '-';
    jc->num_int_ovf = jc->num_sticky = jc->exp_neg = false;
    jc->num_mag = 0;
    jc->num_scale = jc->exp = 0;
    jc->num_len = 0;
    if (c == '-')
        jc->num_state = N_MINUS;
    else
        number_first_digit(jc, c);
    return 0;
}

static bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* One byte in ST_LITERAL or ST_LITERAL_END: 0 if it is taken, 1 if it ends the literal, -1 on
 * failure. */
static int literal_step(struct uvh_json_check *jc, unsigned char c)
{
    if (jc->state == ST_LITERAL_END) {
        if (is_alpha(c))
            return fail(jc, "invalid token"); /* jansson scans the whole identifier */
        return 1;
    }
    if (c != (unsigned char)jc->lit[jc->lit_pos])
        return fail(jc, "invalid token");
    if (jc->lit[++jc->lit_pos] == '\0')
        jc->state = ST_LITERAL_END;
    return 0;
}

/* The number or literal just ended at byte c, which is not part of it. jansson reads c and
 * "ungets" it; but stream_get (load.c) refills its buffer when the byte under the cursor is NUL,
 * so an ungot NUL byte is skipped: "1\0" and "[true\0]" are valid. Mirror that. Returns 1 if c
 * still has to be handled in ST_AFTER, 0 if it was that NUL, -1 on failure. */
static int token_end(struct uvh_json_check *jc, unsigned char c)
{
    if (jc->state == ST_NUMBER && number_done(jc, number_is_real(jc)))
        return -1;
    jc->state = ST_AFTER;
    return c != 0;
}

/* ---- structure (load.c parse_value, parse_object, parse_array) ---- */

/* After '{' or an object's ',': a key, or '}' right after the '{'. */
static int begin_key(struct uvh_json_check *jc, unsigned char c)
{
    if (c == '}' && jc->state == ST_OBJECT_FIRST) {
        pop(jc);
        return 0;
    }
    if (c != '"')
        return fail(jc, "string or '}' expected");
    jc->in_key = true;
    jc->key_start = jc->keys_len;
    jc->state = ST_STRING;
    return 0;
}

/* After a value: ',' or the innermost container's closing bracket, nothing at the top level. */
static int after_value(struct uvh_json_check *jc, unsigned char c)
{
    if (jc->depth == 0)
        return fail(jc, "end of file expected");
    bool object = top_is_object(jc);
    if (c == ',') {
        jc->state = object ? ST_KEY : ST_VALUE;
        return 0;
    }
    if (c == (object ? '}' : ']')) {
        pop(jc);
        return 0;
    }
    return fail(jc, object ? "'}' expected" : "']' expected");
}

/* One byte between tokens, ST_VALUE to ST_AFTER: whitespace is skipped everywhere. */
static int structure_step(struct uvh_json_check *jc, unsigned char c)
{
    if (is_ws(c))
        return 0;
    switch ((enum state)jc->state) {
    case ST_ARRAY_FIRST:
        if (c == ']') {
            pop(jc);
            return 0;
        }
        /* fall through */
    case ST_VALUE:
        return begin_value(jc, c);
    case ST_OBJECT_FIRST:
    case ST_KEY:
        return begin_key(jc, c);
    case ST_COLON:
        if (c != ':')
            return fail(jc, "':' expected");
        jc->state = ST_VALUE;
        return 0;
    case ST_AFTER:
    default:
        return after_value(jc, c);
    }
}

/* One byte through the state machine, dispatched by the class of the state. A number or a
 * literal ends at the first byte that is not part of it: that byte is then read again, in
 * ST_AFTER. */
static int step(struct uvh_json_check *jc, unsigned char c)
{
    for (;;) {
        int r;
        switch ((enum state)jc->state) {
        case ST_VALUE:
        case ST_ARRAY_FIRST:
        case ST_OBJECT_FIRST:
        case ST_KEY:
        case ST_COLON:
        case ST_AFTER:
            return structure_step(jc, c);
        case ST_STRING:
            return string_char(jc, c);
        case ST_ESC:
            return escape_char(jc, c);
        case ST_UHEX:
            return uhex_digit(jc, c);
        case ST_LOW_BS:
        case ST_LOW_U:
            return low_surrogate_start(jc, c);
        case ST_UTF8:
            return utf8_next(jc, c);
        case ST_NUMBER:
            r = number_step(jc, c);
            break;
        case ST_LITERAL:
        case ST_LITERAL_END:
            r = literal_step(jc, c);
            break;
        case ST_FAILED:
            return -1;
        default:
            return fail(jc, "internal error");
        }
        if (r == 1)
            r = token_end(jc, c);
        if (r != 1)
            return r;
    }
}

int uvh_json_check_feed(struct uvh_json_check *jc, const char *p, size_t n)
{
    if (jc->failed)
        return -1;
    const unsigned char *s = (const unsigned char *)p;
    size_t i = 0;
    while (i < n) {
        if (jc->state == ST_STRING && !jc->in_key) {
            /* fast path through plain ASCII inside a value string */
            while (i < n && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\')
                i++;
            if (i == n)
                break;
        }
        if (step(jc, s[i])) {
            jc->offset += i;
            return -1;
        }
        i++;
    }
    jc->offset += n;
    return 0;
}

int uvh_json_check_finish(struct uvh_json_check *jc)
{
    if (jc->failed)
        return -1;
    if (jc->state == ST_NUMBER) {
        if (!number_complete(jc))
            return fail(jc, "premature end of input");
        if (token_end(jc, ' ') < 0)
            return -1;
    } else if (jc->state == ST_LITERAL_END) {
        jc->state = ST_AFTER;
    }
    if (jc->state != ST_AFTER || jc->depth != 0)
        return fail(jc, "premature end of input");
    return 0;
}
