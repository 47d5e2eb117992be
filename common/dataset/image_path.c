/* image_path.c — a key's image path or URL (see image_path.h). */
#include "dataset/image_path.h"

#include <stdio.h>

int image_path_build(const char *base, image_path_layout layout, const char *key, char *buf,
                     size_t cap) {
    int n = layout == IMAGE_PATH_CDN
                ? snprintf(buf, cap, "%s/%.2s/%.2s/%.2s/%s.jpg", base, key, key + 2, key + 4, key)
                : snprintf(buf, cap, "%s/%s.jpg", base, key);
    return n >= 0 && (size_t)n < cap ? 0 : -1;
}
