/* fuzz_keylist.c — libFuzzer target for the --keys reader (keylist.c).
 *
 * The input is written to a scratch file and read three times, once per
 * selection (all keys, scenes only, products only), so pairs files, catalogs
 * and plain lists (the kind is detected from the content) all get exercised.
 */
#include <stdint.h>

#include "fuzz_util.h"
#include "dataset/keylist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[256];
    fuzz_file("keys.txt", data, size, path, sizeof path);
    static const keylist_select sel[3] = {KEYLIST_ALL, KEYLIST_SCENES, KEYLIST_PRODUCTS};
    for (int s = 0; s < 3; s++) {
        key_index ki;
        key_index_init(&ki);
        keylist_kind kind;
        stl_error err;
        if (keylist_read(path, sel[s], &ki, &kind, &err) == 0)
            for (size_t i = 0; i < ki.n; i++)
                if (key_index_find(&ki, ki.keys[i].s) != (long)i) abort();
        key_index_free(&ki);
    }
    return 0;
}
