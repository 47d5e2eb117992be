/* fuzz_pairs.c — libFuzzer target for the pairs JSON-lines reader.
 *
 * Each input is cut into lines; every line goes through pairs_parse_line
 * (fast path + jansson fallback) and pairs_parse_line_json (jansson only).
 * The two must agree on the verdict and, for a valid pair, on every field:
 * a disagreement abort()s, so the fuzzer reports it as a crash. The whole
 * input is also read as a file by pairs_read.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "dataset/pairs.h"

static void same_or_abort(const char *line, size_t len) {
    stl_pair a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    const char *wa = NULL, *wb = NULL;
    int ra = pairs_parse_line(line, len, &a, &wa);
    int rb = pairs_parse_line_json(line, len, &b, &wb);
    if (ra != rb) {
        fprintf(stderr, "pairs_parse_line %d (%s) vs pairs_parse_line_json %d (%s) on: %.*s\n",
                ra, wa ? wa : "-", rb, wb ? wb : "-", (int)len, line);
        abort();
    }
    if (ra != 1) return;
    if (strcmp(a.scene.s, b.scene.s) != 0 || strcmp(a.product.s, b.product.s) != 0 ||
        a.has_bbox != b.has_bbox ||
        (a.has_bbox && memcmp(a.bbox, b.bbox, sizeof a.bbox) != 0)) {
        fprintf(stderr, "fast path and jansson parse differently: %.*s\n", (int)len, line);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i == size || s[i] == '\n') {
            /* A copy of exactly the line's bytes, so ASan sees any overread. */
            size_t len = i - start;
            char *line = malloc(len ? len : 1);
            if (!line) abort();
            memcpy(line, s + start, len);
            same_or_abort(line, len);
            free(line);
            start = i + 1;
        }
    }
    char path[256];
    fuzz_file("pairs.jsonl", data, size, path, sizeof path);
    pair_list pl;
    memset(&pl, 0, sizeof pl);
    stl_error err;
    if (pairs_read(path, &pl, &err) == 0) pairs_free(&pl);
    return 0;
}
