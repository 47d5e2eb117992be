/* keys.h — STL item keys: validation and a key → index hash table.
 *
 * A key is exactly 32 lowercase hexadecimal characters (keys become file
 * names and URLs, so nothing else is accepted anywhere). stl_key is the
 * fixed-size, NUL-terminated form stored in tables. key_index maps keys to
 * dense indices 0..n-1 in insertion order (open addressing, grows itself).
 */
#ifndef STL_KEYS_H
#define STL_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define STL_KEY_LEN 32

typedef struct {
    char s[STL_KEY_LEN + 1];
} stl_key;

/* 1 if s (of length len) is a valid key. */
int key_valid(const char *s, size_t len);
/* 1 if the NUL-terminated string is a valid key. */
int key_valid_str(const char *s);

typedef struct {
    stl_key *keys;     /* keys[i] for index i, insertion order */
    size_t n, cap;
    uint32_t *slots;   /* hash slots: index+1, 0 = empty */
    size_t n_slots;
} key_index;

void key_index_init(key_index *ki);
void key_index_free(key_index *ki);
/* Index of key, or -1. `key` must be a valid 32-char key. */
long key_index_find(const key_index *ki, const char *key);
/* Index of key, adding it when absent (*added = 1). -1 on allocation failure. */
long key_index_add(key_index *ki, const char *key, int *added, stl_error *err);

#ifdef __cplusplus
}
#endif

#endif
