/* fuzz_crops.c — libFuzzer target for the crop set reader (crops.c).
 *
 * Input layout: a little-endian uint32 n, then n bytes of index file, then
 * the rest as the shard file. They are written into a scratch directory as
 * part-00000-of-00001.index.mpk and part-00000-of-00001.shard-00000.mpk
 * (the names stl-decode gives an unsharded run's index and first shard) and
 * opened with crops_open; a successful open is walked: every key looked up
 * and every image's pixels read to the last byte.
 */
#include <stdint.h>
#include <string.h>

#include "formats/crops.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 4) return 0;
    uint32_t n = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
                 (uint32_t)data[3] << 24;
    data += 4;
    size -= 4;
    if (n > size) n = (uint32_t)size;
    char path[256];
    fuzz_file("part-00000-of-00001.index.mpk", data, n, path, sizeof path);
    fuzz_file("part-00000-of-00001.shard-00000.mpk", data + n, size - n, path, sizeof path);
    crops_set *c = NULL;
    stl_error err;
    if (crops_open(fuzz_dir(), &c, &err) != 0) return 0;
    size_t s = (size_t)crops_size(c);
    unsigned x = 0;
    for (size_t i = 0; i < crops_count(c); i++) {
        if (crops_find(c, crops_key(c, i)) != (long)i) abort();
        const uint8_t *p = crops_pixels(c, i);
        for (size_t j = 0; j < s * s * 3; j++) x += p[j];
    }
    (void)x;
    crops_close(c);
    return 0;
}
