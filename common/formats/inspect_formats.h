/* inspect_formats.h — the registry of format-aware inspectors for stl-inspect.
 *
 * inspect_format() looks at an opened stlrec file's format name and hands it
 * to that format's own inspector (written beside the format's reader); when
 * no inspector is registered it sets *handled = 0 and stl-inspect prints the
 * generic summary. inspect_directory() handles directories (crop shard
 * directories), inspect_export_crop() writes one stored crop as PPM.
 */
#ifndef STL_INSPECT_FORMATS_H
#define STL_INSPECT_FORMATS_H

#include <stdio.h>

#include "base/error.h"
#include "io/mpk.h"

#ifdef __cplusplus
extern "C" {
#endif

int inspect_format(const mpk_file *f, int json, FILE *out, int *handled, stl_error *err);
int inspect_directory(const char *dir, int json, FILE *out, stl_error *err);
int inspect_export_crop(const char *dir, const char *key, const char *out_ppm, stl_error *err);

#ifdef __cplusplus
}
#endif

#endif
