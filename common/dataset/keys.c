/* keys.c — key validation and the key -> index hash table (see keys.h). */
#include "dataset/keys.h"

#include <stdlib.h>
#include <string.h>

#include "base/rng.h"

int key_valid(const char *s, size_t len) {
    if (len != STL_KEY_LEN) return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return 0;
    }
    return 1;
}

int key_valid_str(const char *s) { return s && strlen(s) == STL_KEY_LEN && key_valid(s, STL_KEY_LEN); }

void key_index_init(key_index *ki) { memset(ki, 0, sizeof *ki); }

void key_index_free(key_index *ki) {
    free(ki->keys);
    free(ki->slots);
    memset(ki, 0, sizeof *ki);
}

static size_t key_slot(const char *key, size_t n_slots) {
    return (size_t)(rng_hash(0x6b6579, key, STL_KEY_LEN) & (n_slots - 1));
}

long key_index_find(const key_index *ki, const char *key) {
    if (!ki->n_slots) return -1;
    for (size_t s = key_slot(key, ki->n_slots);; s = (s + 1) & (ki->n_slots - 1)) {
        uint32_t v = ki->slots[s];
        if (!v) return -1;
        if (memcmp(ki->keys[v - 1].s, key, STL_KEY_LEN) == 0) return (long)(v - 1);
    }
}

static int key_index_rehash(key_index *ki, size_t n_slots) {
    uint32_t *slots = calloc(n_slots, sizeof *slots);
    if (!slots) return -1;
    for (size_t i = 0; i < ki->n; i++) {
        size_t s = key_slot(ki->keys[i].s, n_slots);
        while (slots[s]) s = (s + 1) & (n_slots - 1);
        slots[s] = (uint32_t)(i + 1);
    }
    free(ki->slots);
    ki->slots = slots;
    ki->n_slots = n_slots;
    return 0;
}

long key_index_add(key_index *ki, const char *key, int *added, stl_error *err) {
    long found = key_index_find(ki, key);
    if (added) *added = found < 0;
    if (found >= 0) return found;
    if (ki->n >= UINT32_MAX - 1) return stl_fail(err, "too many keys");
    if ((ki->n + 1) * 2 > ki->n_slots) {
        if (key_index_rehash(ki, ki->n_slots ? ki->n_slots * 2 : 64) != 0)
            return stl_fail(err, "out of memory for the key table");
    }
    if (ki->n == ki->cap) {
        size_t cap = ki->cap ? ki->cap * 2 : 64;
        stl_key *k = realloc(ki->keys, cap * sizeof *k);
        if (!k) return stl_fail(err, "out of memory for the key table");
        ki->keys = k;
        ki->cap = cap;
    }
    memcpy(ki->keys[ki->n].s, key, STL_KEY_LEN);
    ki->keys[ki->n].s[STL_KEY_LEN] = '\0';
    size_t s = key_slot(key, ki->n_slots);
    while (ki->slots[s]) s = (s + 1) & (ki->n_slots - 1);
    ki->slots[s] = (uint32_t)(ki->n + 1);
    return (long)ki->n++;
}
