/* fuzz_fetch_log.c — libFuzzer target for the fetch log reader.
 *
 * The input is written to a scratch file and read by fetch_log_read; a
 * successful read is checked against what the reader promises (outcomes in
 * range, n <= keys_total), then fetch_log_inspect dumps it (summary and
 * JSON) to /dev/null.
 */
#include <stdint.h>
#include <stdio.h>

#include "fuzz_util.h"
#include "formats/fetch_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static FILE *devnull;
    if (!devnull && !(devnull = fopen("/dev/null", "w"))) abort();
    char path[256];
    fuzz_file("fetch-log.mpk", data, size, path, sizeof path);
    fetch_log l;
    stl_error err;
    if (fetch_log_read(path, &l, &err) == 0) {
        if (l.n > l.keys_total) abort();
        for (size_t i = 0; i < l.n; i++)
            if ((unsigned)l.records[i].outcome >= FETCH_OUTCOME_COUNT) abort();
        fetch_log_free(&l);
    }
    fetch_log_inspect(path, 0, devnull, &err);
    fetch_log_inspect(path, 1, devnull, &err);
    return 0;
}
