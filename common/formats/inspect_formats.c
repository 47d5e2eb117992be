/* inspect_formats.c — dispatch from a format name to its inspector (see
 * inspect_formats.h). Each format's inspector lives beside its reader; this
 * file only routes. */
#include "formats/inspect_formats.h"

#include <string.h>

#include "formats/crops_inspect.h"
#include "formats/crops_write.h"
#include "formats/embeddings.h"
#include "formats/fetch_log.h"
#include "formats/topk_file.h"
#include "formats/triplets.h"

typedef int (*inspect_fn)(const char *path, int json, FILE *out, stl_error *err);

static const struct {
    const char *format;
    inspect_fn fn;
} inspectors[] = {
    {CROPS_INDEX_FORMAT, crops_inspect},
    {CROPS_SHARD_FORMAT, crops_inspect},
    {TRIPLETS_FORMAT, triplets_inspect},
    {EMBEDDINGS_FORMAT, embeddings_inspect},
    {TOPK_FILE_FORMAT, topk_inspect},
    {FETCH_LOG_FORMAT, fetch_log_inspect},
};

int inspect_format(const mpk_file *f, int json, FILE *out, int *handled, stl_error *err) {
    *handled = 0;
    for (size_t i = 0; i < sizeof inspectors / sizeof inspectors[0]; i++) {
        if (strcmp(f->format, inspectors[i].format) == 0) {
            *handled = 1;
            return inspectors[i].fn(f->path, json, out, err);
        }
    }
    return 0;
}

int inspect_directory(const char *dir, int json, FILE *out, stl_error *err) {
    return crops_inspect(dir, json, out, err);
}

int inspect_export_crop(const char *dir, const char *key, const char *out_ppm, stl_error *err) {
    return crops_export_ppm(dir, key, out_ppm, err);
}
