/* mpk_json.h — any msgpack object as JSON text, for stl-inspect.
 *
 * Maps become objects (non-string keys are printed as strings), arrays
 * arrays, strings are JSON-escaped, floats printed with %.9g. Binary blobs and
 * ext objects cannot be shown in full: a bin becomes {"bin_bytes": N}; a Flax
 * ndarray (ext type 1: [shape, dtype, bytes]) becomes
 * {"ndarray": {"shape": [...], "dtype": "float32"}}. Format-specific
 * inspectors decode their own blobs; this is the generic fallback.
 */
#ifndef STL_MPK_JSON_H
#define STL_MPK_JSON_H

#include <msgpack.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* indent < 0: one line; otherwise pretty-printed with `indent` spaces. */
void mpk_json_print(FILE *out, const msgpack_object *o, int indent);
/* A JSON string literal for s[0..n) (quotes and escapes included). */
void json_print_string(FILE *out, const char *s, size_t n);

#ifdef __cplusplus
}
#endif

#endif
