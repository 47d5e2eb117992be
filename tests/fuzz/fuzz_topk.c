/* fuzz_topk.c — libFuzzer target for the top-k lists reader.
 *
 * The input is written to a scratch file and read by topk_file_read; a
 * successful read is checked against what the reader promises (indices in
 * range), then topk_inspect dumps it (summary and JSON) to /dev/null.
 */
#include <stdint.h>
#include <stdio.h>

#include "fuzz_util.h"
#include "formats/topk_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static FILE *devnull;
    if (!devnull && !(devnull = fopen("/dev/null", "w"))) abort();
    char path[256];
    fuzz_file("lists.topk", data, size, path, sizeof path);
    topk_file t;
    stl_error err;
    if (topk_file_read(path, &t, &err) == 0) {
        for (size_t i = 0; i < t.n_scenes * t.width; i++)
            if (t.index[i] >= t.n_products) abort();
        topk_file_free(&t);
    }
    topk_inspect(path, 0, devnull, &err);
    topk_inspect(path, 1, devnull, &err);
    return 0;
}
