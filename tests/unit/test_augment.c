/* test_augment.c — the training-image augmentation (common/train/augment.h)
 * on an image with a distinct value at every place: each transform does what
 * it says (a flip is the exact mirror, a shift the exact displaced image with
 * the edge repeated, colour jitter keeps the order of values), draws depend
 * only on (seed, epoch, offset, role), about half the images are mirrored,
 * and the option's names parse both ways.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "train/augment.h"

enum { S = 16, N = S * S * 3 };

static void gradient(uint8_t *img) {
    for (int i = 0; i < N; i++) img[i] = (uint8_t)((i * 7 + i / 48) & 0xff);
}

static uint8_t at(const uint8_t *img, int x, int y, int c) { return img[(y * S + x) * 3 + c]; }

static int is_mirror(const uint8_t *a, const uint8_t *b) {
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
            for (int c = 0; c < 3; c++)
                if (at(a, x, y, c) != at(b, S - 1 - x, y, c)) return 0;
    return 1;
}

/* b is a displaced by (dx, dy), the edge repeated. */
static int is_shift(const uint8_t *a, const uint8_t *b, int dx, int dy) {
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            int sx = x + dx < 0 ? 0 : x + dx >= S ? S - 1 : x + dx;
            int sy = y + dy < 0 ? 0 : y + dy >= S ? S - 1 : y + dy;
            for (int c = 0; c < 3; c++)
                if (at(b, x, y, c) != at(a, sx, sy, c)) return 0;
        }
    return 1;
}

static void test_flip(void) {
    uint8_t orig[N], img[N], tmp[N];
    gradient(orig);
    int mirrored = 0, other = 0;
    for (uint64_t off = 0; off < 200; off++) {
        memcpy(img, orig, N);
        augment_image(img, tmp, S, AUGMENT_FLIP, 1, 0, off, 0);
        if (memcmp(img, orig, N) == 0) continue;
        if (is_mirror(orig, img)) mirrored++;
        else other++;
    }
    CHECK_EQ_INT(other, 0);
    CHECK(mirrored > 70 && mirrored < 130); /* Binomial(200, 1/2): 6 sigma */
}

static void test_shift(void) {
    uint8_t orig[N], img[N], tmp[N];
    gradient(orig);
    int found_all = 1, moved = 0;
    for (uint64_t off = 0; off < 50; off++) {
        memcpy(img, orig, N);
        augment_image(img, tmp, S, AUGMENT_SHIFT, 3, 2, off, 1);
        int found = 0;
        for (int dy = -S / 8; dy <= S / 8 && !found; dy++)
            for (int dx = -S / 8; dx <= S / 8 && !found; dx++)
                if (is_shift(orig, img, dx, dy)) found = 1 + (dx || dy);
        found_all &= found > 0;
        moved += found == 2;
    }
    CHECK(found_all);
    CHECK(moved > 25); /* 24 of the 25 shifts move the image */
}

static void test_color(void) {
    uint8_t orig[N], img[N], tmp[N];
    gradient(orig);
    memcpy(img, orig, N);
    augment_image(img, tmp, S, AUGMENT_COLOR, 5, 0, 9, 2);
    CHECK(memcmp(img, orig, N) != 0);
    int order_kept = 1;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            if (orig[i] < orig[j] && img[i] > img[j]) order_kept = 0;
    CHECK(order_kept);
}

static void test_deterministic(void) {
    uint8_t a[N], b[N], c[N], tmp[N];
    gradient(a);
    memcpy(b, a, N);
    memcpy(c, a, N);
    augment_image(a, tmp, S, AUGMENT_ALL, 7, 3, 11, 1);
    augment_image(b, tmp, S, AUGMENT_ALL, 7, 3, 11, 1);
    CHECK(memcmp(a, b, N) == 0);
    int differ = 0;
    for (int role = 0; role < 3; role++)
        for (uint64_t off = 12; off < 16; off++) {
            memcpy(c, b, N);
            gradient(c);
            augment_image(c, tmp, S, AUGMENT_ALL, 7, 3, off, role);
            differ += memcmp(a, c, N) != 0;
        }
    CHECK(differ >= 11); /* other places in the stream draw otherwise */
}

static void test_names(void) {
    stl_error err;
    unsigned w = 99;
    char buf[64];
    CHECK(augment_parse("none", &w, &err) == 0 && w == 0);
    CHECK(augment_parse("all", &w, &err) == 0 && w == AUGMENT_ALL);
    CHECK(augment_parse("color,flip", &w, &err) == 0 && w == (AUGMENT_COLOR | AUGMENT_FLIP));
    augment_describe(w, buf, sizeof buf);
    CHECK_STR_EQ(buf, "flip,color");
    CHECK(augment_parse("flip,rotate", &w, &err) == -1 && strstr(err.msg, "'rotate'"));
}

int main(void) {
    RUN(test_flip);
    RUN(test_shift);
    RUN(test_color);
    RUN(test_deterministic);
    RUN(test_names);
    return check_summary();
}
