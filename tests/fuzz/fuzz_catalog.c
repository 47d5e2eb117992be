/* fuzz_catalog.c — libFuzzer target for the catalog JSON reader.
 *
 * catalog_read takes a path, so each input is written to a scratch file
 * (fuzz_util.h) and read; a successful read is walked (every key and
 * category touched) and freed.
 */
#include <stdint.h>
#include <string.h>

#include "dataset/catalog.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[256];
    fuzz_file("catalog.json", data, size, path, sizeof path);
    catalog c;
    stl_error err;
    if (catalog_read(path, &c, &err) != 0) return 0;
    size_t total = 0;
    for (size_t i = 0; i < c.n; i++) total += strlen(c.keys[i].s) + strlen(c.categories[i]);
    if (total < c.n * 32) abort(); /* every key is 32 characters */
    catalog_free(&c);
    return 0;
}
