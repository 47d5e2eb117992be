/* keylist.h — "the keys to work on", from whichever file the user has.
 *
 * Stages that take `--keys FILE` accept a pairs JSONL (scenes and products,
 * or only one kind), a catalog JSON, or a plain list (one key per line, '#'
 * comments and blank lines ignored). The kind is detected from the content.
 * Keys are deduplicated, first appearance wins; a bad key in a plain list is
 * an error naming the line.
 */
#ifndef STL_KEYLIST_H
#define STL_KEYLIST_H

#include "base/error.h"
#include "dataset/keys.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    KEYLIST_ALL = 0,     /* every key in the file */
    KEYLIST_SCENES = 1,  /* pairs file: scene keys only */
    KEYLIST_PRODUCTS = 2 /* pairs file: product keys only */
} keylist_select;

typedef enum { KEYLIST_KIND_PAIRS, KEYLIST_KIND_CATALOG, KEYLIST_KIND_PLAIN } keylist_kind;

/* Fills ki (initialised by the caller) with the keys; *kind says what the
 * file was. For a catalog or plain list, `select` is ignored. */
int keylist_read(const char *path, keylist_select select, key_index *ki,
                 keylist_kind *kind, stl_error *err);

/* Part `index` of `count` (--shard i/N) of the deduplicated keys: the keys at
 * positions p with p mod count == index, in order, copied into out (room for
 * ki->n keys). Returns how many. stl-fetch and stl-decode share this rule, so
 * fetch part i feeds decode part i. */
size_t keylist_part(const key_index *ki, long index, long count, stl_key *out);

#ifdef __cplusplus
}
#endif

#endif
