/* augment.c — flips, shifts and colour jitter of training crops
 * (augment.h).
 */
#include "train/augment.h"

#include <stdio.h>
#include <string.h>

#include "base/rng.h"

static const struct {
    const char *name;
    unsigned bit;
} names[] = {{"flip", AUGMENT_FLIP}, {"shift", AUGMENT_SHIFT}, {"color", AUGMENT_COLOR}};

int augment_parse(const char *list, unsigned *which, stl_error *err) {
    *which = 0;
    if (strcmp(list, "none") == 0) return 0;
    if (strcmp(list, "all") == 0) return (*which = AUGMENT_ALL), 0;
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        unsigned bit = 0;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strlen(names[i].name) == n && strncmp(p, names[i].name, n) == 0) bit = names[i].bit;
        if (!bit)
            return stl_fail(err, "--augment: '%.*s' is not one of none, all, flip, shift, color",
                            (int)n, p);
        *which |= bit;
        p += n + (p[n] == ',');
    }
    return 0;
}

void augment_describe(unsigned which, char *buf, size_t cap) {
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (which & names[i].bit && len < cap)
            len += (size_t)snprintf(buf + len, cap - len, "%s%s", len ? "," : "", names[i].name);
    if (!which) snprintf(buf, cap, "none");
}

static uint8_t clamp_u8(double v) {
    if (v <= 0) return 0;
    if (v >= 255) return 255;
    return (uint8_t)(v + 0.5);
}

void augment_image(uint8_t *img, uint8_t *tmp, int S, unsigned which, uint64_t seed,
                   uint64_t epoch, uint64_t offset, int role) {
    if (!which) return;
    uint64_t where[3] = {epoch, offset, (uint64_t)role};
    rng_state r;
    rng_seed(&r, rng_hash(seed ^ 0x6175676d656e7421ull, where, sizeof where));
    size_t row = (size_t)S * 3;
    if (which & AUGMENT_FLIP && rng_uniform(&r, 2)) {
        for (int y = 0; y < S; y++) {
            uint8_t *p = img + (size_t)y * row;
            for (int x = 0; x < S / 2; x++)
                for (int c = 0; c < 3; c++) {
                    uint8_t t = p[x * 3 + c];
                    p[x * 3 + c] = p[(S - 1 - x) * 3 + c];
                    p[(S - 1 - x) * 3 + c] = t;
                }
        }
    }
    if (which & AUGMENT_SHIFT) {
        int m = S / 8;
        int dx = (int)rng_uniform(&r, (uint64_t)(2 * m + 1)) - m;
        int dy = (int)rng_uniform(&r, (uint64_t)(2 * m + 1)) - m;
        if (dx || dy) {
            memcpy(tmp, img, row * (size_t)S);
            for (int y = 0; y < S; y++) {
                int sy = y + dy < 0 ? 0 : y + dy >= S ? S - 1 : y + dy;
                for (int x = 0; x < S; x++) {
                    int sx = x + dx < 0 ? 0 : x + dx >= S ? S - 1 : x + dx;
                    memcpy(img + (size_t)y * row + (size_t)x * 3,
                           tmp + (size_t)sy * row + (size_t)sx * 3, 3);
                }
            }
        }
    }
    if (which & AUGMENT_COLOR) {
        double bright = 0.9 + 0.2 * rng_double(&r), contrast = 0.9 + 0.2 * rng_double(&r);
        size_t n = row * (size_t)S;
        double mean = 0;
        for (size_t i = 0; i < n; i++) mean += img[i];
        mean /= (double)n;
        for (size_t i = 0; i < n; i++)
            img[i] = clamp_u8(((img[i] - mean) * contrast + mean) * bright);
    }
}
