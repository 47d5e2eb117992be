/* fuzz_triplets.c — libFuzzer target for the triplets reader.
 *
 * The input is written to a scratch file, opened by triplets_open (which
 * validates every index and key) and freed, then dumped by triplets_inspect
 * (stl-inspect's view, summary and JSON) to /dev/null.
 */
#include <stdint.h>
#include <stdio.h>

#include "fuzz_util.h"
#include "formats/triplets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static FILE *devnull;
    if (!devnull && !(devnull = fopen("/dev/null", "w"))) abort();
    char path[256];
    fuzz_file("triplets.mpk", data, size, path, sizeof path);
    triplets_file *t = NULL;
    stl_error err;
    if (triplets_open(path, &t, &err) == 0) triplets_free(t);
    triplets_inspect(path, 0, devnull, &err);
    triplets_inspect(path, 1, devnull, &err);
    return 0;
}
