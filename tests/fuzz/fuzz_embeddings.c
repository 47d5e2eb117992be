/* fuzz_embeddings.c — libFuzzer target for the embeddings reader, both forms
 * (stlrec msgpack and the book's JSON {key: [floats]}, told apart by content).
 *
 * The input is written to a scratch file and read by embeddings_read; a
 * successful read is walked (every value touched, every key looked up),
 * then embeddings_inspect dumps it (summary and JSON) to /dev/null.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "formats/embeddings.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static FILE *devnull;
    if (!devnull && !(devnull = fopen("/dev/null", "w"))) abort();
    char path[256];
    fuzz_file("emb.bin", data, size, path, sizeof path);
    embeddings e;
    stl_error err;
    if (embeddings_read(path, &e, &err) == 0) {
        for (size_t i = 0; i < e.n * e.dim; i++)
            if (!isfinite(e.data[i])) abort(); /* the reader promises finite values */
        for (size_t i = 0; i < e.n; i++)
            if (embeddings_find(&e, e.keys[i].s) != (long)i) abort();
    }
    embeddings_free(&e);
    embeddings_inspect(path, 0, devnull, &err);
    embeddings_inspect(path, 1, devnull, &err);
    return 0;
}
