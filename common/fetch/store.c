/* store.c — final and temporary paths, stale temporaries, resume (see store.h). */
#include "fetch/store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fetch/validate.h"

int store_paths(const char *out, image_path_layout layout, const char *key, char *final,
                char *tmp, size_t cap) {
    if (image_path_build(out, layout, key, final, cap) != 0) return -1;
    const char *slash = strrchr(final, '/');
    size_t dir = slash ? (size_t)(slash - final) + 1 : 0;
    int n = snprintf(tmp, cap, "%.*s.%s.part", (int)dir, final, final + dir);
    return n >= 0 && (size_t)n < cap ? 0 : -1;
}

int store_prepare(const char *final, const char *tmp, uint64_t max_bytes, store_state *state,
                  uint64_t *bytes, stl_error *err) {
    if (unlink(tmp) != 0 && errno != ENOENT)
        return stl_fail(err, "%s: cannot remove stale temporary: %s", tmp, strerror(errno));
    validate_status v = validate_file(final, max_bytes, bytes);
    if (v == VALIDATE_OK) {
        *state = STORE_KEEP;
        return 0;
    }
    *state = STORE_FETCH;
    *bytes = 0;
    if (v != VALIDATE_MISSING && unlink(final) != 0 && errno != ENOENT)
        return stl_fail(err, "%s: invalid (%s) and cannot be removed: %s", final,
                        validate_status_name(v), strerror(errno));
    return 0;
}
