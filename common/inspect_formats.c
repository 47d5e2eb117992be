/* inspect_formats.c — dispatch from a format name to its inspector (see
 * inspect_formats.h). Each format's inspector lives beside its reader; this
 * file only routes. */
#include "inspect_formats.h"

#include <string.h>

int inspect_format(const mpk_file *f, int json, FILE *out, int *handled, stl_error *err) {
    (void)f;
    (void)json;
    (void)out;
    (void)err;
    *handled = 0;
    return 0;
}

int inspect_directory(const char *dir, int json, FILE *out, stl_error *err) {
    (void)json;
    (void)out;
    return stl_fail(err, "%s: is a directory, and not a crop directory this stl-inspect knows", dir);
}

int inspect_export_crop(const char *dir, const char *key, const char *out_ppm, stl_error *err) {
    (void)key;
    (void)out_ppm;
    return stl_fail(err, "%s: crop export is not available", dir);
}
