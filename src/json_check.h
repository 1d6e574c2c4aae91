/* json_check.h - a streaming JSON validator that accepts exactly what jansson 2.14's json_loadb
 * accepts with JSON_DECODE_ANY | JSON_REJECT_DUPLICATES (no JSON_ALLOW_NUL), fed in pieces split
 * at any byte. It builds no tree: memory is O(nesting depth) plus the decoded keys of the
 * objects that are currently open (for the duplicate check), and all of it is held within a
 * fixed budget (UVH_JSON_CHECK_MEM_MAX), so any upload is checked in bounded memory. It says
 * "valid", "invalid" (with a short reason and a byte offset for the log; the caller runs jansson
 * on an invalid body for jansson's own error text) or "over the budget". Within the budget the
 * verdict is exactly jansson's; a document whose open objects need more key memory than that
 * fails with uvh_json_check_over_budget() true, whatever jansson would say. */
#ifndef UVH_JSON_CHECK_H
#define UVH_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* jansson's JSON_PARSER_MAX_DEPTH: every value counts, scalars included, the top level is 1. */
#define UVH_JSON_CHECK_MAX_DEPTH 2048

/* Significant digits of a real kept for the overflow check; the rest only sets a sticky digit.
 * 768 digits decide the rounding of any decimal to a double, so the verdict does not change. */
#define UVH_JSON_CHECK_NUM_DIGITS 800

/* The most heap one checker holds at once, in bytes: the decoded keys of the open objects, their
 * lookup tables and the stack of open objects, counting a growing array's old and new blocks
 * together. A flat object of short keys fits some 130,000 of them. The struct itself (about
 * 1.2 KiB) is the caller's. */
#define UVH_JSON_CHECK_MEM_MAX (4u * 1024 * 1024)

struct uvh_json_check_obj; /* one open object: where its keys start, its lookup table */
struct uvh_json_check_key; /* one key of an open object */

struct uvh_json_check {
    int state; /* enum state in json_check.c */
    bool failed;
    bool nomem;
    bool over_budget;
    bool in_key; /* the string being scanned is an object key */
    const char *reason;
    uint64_t offset; /* bytes consumed so far; after a failure, where it failed */
    uint32_t depth;  /* open arrays and objects */
    uint32_t nobjs;  /* open objects */
    /* bit set: the container at that depth is an object */
    uint8_t kind[UVH_JSON_CHECK_MAX_DEPTH / 8];

    /* string scanning */
    uint8_t utf8_need;        /* continuation bytes still expected */
    uint8_t utf8_lo, utf8_hi; /* bounds of the next continuation byte */
    uint8_t hex_left;         /* \uXXXX digits still expected */
    uint32_t hex;             /* the \uXXXX value so far */
    uint32_t high;            /* a pending high surrogate, 0 if none */

    /* literal scanning */
    const char *lit;
    uint8_t lit_pos;

    /* number scanning */
    int num_state;
    bool num_neg, num_int_ovf, num_sticky, exp_neg;
    unsigned long long num_mag; /* the integer's magnitude while it fits */
    int64_t num_scale;          /* value = digits * 10^(scale + exponent) */
    int64_t exp;                /* the explicit exponent, saturated */
    size_t num_len;             /* significant digits kept in num */
    char num[UVH_JSON_CHECK_NUM_DIGITS + 32];

    /* duplicate-key sets: decoded keys of all open objects, innermost last */
    char *keys;
    size_t keys_len, keys_cap;
    size_t key_start; /* where the key being scanned starts in keys */
    struct uvh_json_check_key *ents;
    size_t nents, ents_cap;
    struct uvh_json_check_obj *objs;
    size_t objs_cap;

    size_t mem, mem_peak; /* bytes held by the module's allocations, now and at most */
    size_t mem_max;       /* the budget: UVH_JSON_CHECK_MEM_MAX, a caller may lower it */
};

/* Prepares `jc` for one document, with the budget UVH_JSON_CHECK_MEM_MAX. Allocates nothing. */
void uvh_json_check_init(struct uvh_json_check *jc);

/* Checks the next `n` bytes of the document. Returns 0 while the input can still be valid, -1 once
 * it cannot (or memory ran out); every later call returns -1 too. */
int uvh_json_check_feed(struct uvh_json_check *jc, const char *p, size_t n);

/* Marks the end of the input. Returns 0 if the whole document is valid, else -1. */
int uvh_json_check_finish(struct uvh_json_check *jc);

/* Releases the duplicate-key sets. `jc` may be initialised again afterwards. */
void uvh_json_check_deinit(struct uvh_json_check *jc);

/* A short static description of the failure ("duplicate object key"), NULL while none. */
const char *uvh_json_check_reason(const struct uvh_json_check *jc);

/* The byte offset of the failure (the input length for an error at the end of input). */
uint64_t uvh_json_check_offset(const struct uvh_json_check *jc);

/* True if the failure is running out of memory, not invalid input. */
bool uvh_json_check_nomem(const struct uvh_json_check *jc);

/* True if the failure is the key budget: the document may be valid, but its open objects hold
 * more distinct keys than jc->mem_max bytes can check ("too many distinct object keys"). */
bool uvh_json_check_over_budget(const struct uvh_json_check *jc);

/* The most bytes the module has held allocated at once for this document (at most mem_max). */
size_t uvh_json_check_mem_peak(const struct uvh_json_check *jc);

#endif
