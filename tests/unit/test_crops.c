/* test_crops.c — unit tests of the crop shard format (crops_write.h + crops.h),
 * crop-or-pad, the resampler, the CMYK path and the inspect helpers.
 * Scratch files go under a mkdtemp directory removed at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "check.h"
#include "formats/crops.h"
#include "formats/crops_inspect.h"
#include "formats/crops_write.h"
#include "image/jpeg_decode.h"
#include "image/resize.h"

static char g_dir[256];

static void key_of(int i, stl_key *k) { snprintf(k->s, sizeof k->s, "%032x", i * 7919 + 1); }

static uint8_t pix_of(int img, size_t byte) { return (uint8_t)(img * 31 + byte * 7 + (byte >> 5)); }

static void fill(uint8_t *p, int img, int S) {
    for (size_t b = 0; b < (size_t)S * S * 3; b++) p[b] = pix_of(img, b);
}

/* Writes part `part` of `parts` holding images first..first+n-1 in shards of `per`. */
static int write_part(const char *dir, int S, long part, long parts, int first, int n, int per) {
    stl_error err;
    crops_writer *w;
    if (crops_writer_open(&w, dir, S, "crop", part, parts, &err) != 0) return -1;
    size_t img = (size_t)S * S * 3;
    uint8_t *buf = malloc(img * per);
    stl_key *keys = malloc(sizeof *keys * per);
    int rc = 0;
    for (int s = 0; s < n && rc == 0; s += per) {
        int m = n - s < per ? n - s : per;
        for (int j = 0; j < m; j++) {
            key_of(first + s + j, &keys[j]);
            fill(buf + j * img, first + s + j, S);
        }
        rc = crops_writer_add_shard(w, keys, buf, m, &err);
    }
    stl_key bad;
    key_of(9999, &bad);
    if (rc == 0) rc = crops_writer_reject(w, bad.s, "truncated", "Premature end", &err);
    if (rc == 0) rc = crops_writer_commit(w, &err);
    if (rc != 0) fprintf(stderr, "write_part: %s\n", err.msg);
    crops_writer_free(w);
    free(buf);
    free(keys);
    return rc;
}

static void subdir(char *buf, size_t cap, const char *name) {
    snprintf(buf, cap, "%s/%s", g_dir, name);
}

static void test_round_trip(void) {
    char dir[512];
    subdir(dir, sizeof dir, "rt");
    int S = 5;
    CHECK_EQ_INT(write_part(dir, S, 0, 2, 0, 7, 3), 0);
    CHECK_EQ_INT(write_part(dir, S, 1, 2, 7, 4, 3), 0);
    crops_set *c = NULL;
    stl_error err;
    CHECK_EQ_INT(crops_open(dir, &c, &err), 0);
    if (!c) return;
    CHECK_EQ_INT(crops_size(c), S);
    CHECK_EQ_INT(crops_count(c), 11);
    int bad = 0;
    for (int i = 0; i < 11; i++) {
        stl_key k;
        key_of(i, &k);
        long idx = crops_find(c, k.s);
        CHECK_EQ_INT(idx, i); /* parts ascending, then index order */
        if (idx < 0) continue;
        CHECK_STR_EQ(crops_key(c, (size_t)idx), k.s);
        const uint8_t *p = crops_pixels(c, (size_t)idx);
        for (size_t b = 0; b < (size_t)S * S * 3; b++) bad += p[b] != pix_of(i, b);
    }
    CHECK_EQ_INT(bad, 0);
    stl_key rej;
    key_of(9999, &rej);
    CHECK_EQ_INT(crops_find(c, rej.s), -1);
    CHECK_EQ_INT(crops_find(c, "not-a-key"), -1);
    CHECK(crops_pixels(c, 11) == NULL);
    crops_close(c);
}

static void test_refusals(void) {
    char dir[512], path[600];
    stl_error err;
    crops_set *c = NULL;
    subdir(dir, sizeof dir, "empty");
    mkdir(dir, 0755);
    CHECK_EQ_INT(crops_open(dir, &c, &err), -1);
    CHECK(strstr(err.msg, "no crop index") != NULL);

    /* truncated shard */
    subdir(dir, sizeof dir, "trunc");
    CHECK_EQ_INT(write_part(dir, 4, 0, 1, 0, 5, 2), 0);
    snprintf(path, sizeof path, "%s/part-00000-of-00001.shard-00001.mpk", dir);
    struct stat st;
    CHECK_EQ_INT(stat(path, &st), 0);
    CHECK_EQ_INT(truncate(path, st.st_size - 10), 0);
    CHECK_EQ_INT(crops_open(dir, &c, &err), -1);
    CHECK(strstr(err.msg, "shard-00001.mpk") != NULL);

    /* a header that names another format */
    subdir(dir, sizeof dir, "hdr");
    CHECK_EQ_INT(write_part(dir, 4, 0, 1, 0, 5, 2), 0);
    snprintf(path, sizeof path, "%s/part-00000-of-00001.shard-00000.mpk", dir);
    FILE *f = fopen(path, "r+b");
    CHECK(f != NULL);
    if (f) {
        /* map(10) "format" str(18) "stlrec-crops-shard": flip a letter of the name */
        fseek(f, 1 + 7 + 1 + 7, SEEK_SET);
        fputc('X', f);
        fclose(f);
    }
    CHECK_EQ_INT(crops_open(dir, &c, &err), -1);
    CHECK(strstr(err.msg, "expected stlrec-crops-shard") != NULL);

    /* a shard swapped for another part's: keys disagree with the index */
    subdir(dir, sizeof dir, "swap");
    CHECK_EQ_INT(write_part(dir, 4, 0, 1, 0, 4, 2), 0);
    char other[512], src[700], dst[700];
    subdir(other, sizeof other, "swap2");
    CHECK_EQ_INT(write_part(other, 4, 0, 1, 100, 4, 2), 0);
    snprintf(src, sizeof src, "%s/part-00000-of-00001.shard-00001.mpk", other);
    snprintf(dst, sizeof dst, "%s/part-00000-of-00001.shard-00001.mpk", dir);
    CHECK_EQ_INT(rename(src, dst), 0);
    CHECK_EQ_INT(crops_open(dir, &c, &err), -1);
    CHECK(strstr(err.msg, "the index says") != NULL);

    /* different sizes in one directory */
    subdir(dir, sizeof dir, "mixed");
    CHECK_EQ_INT(write_part(dir, 4, 0, 2, 0, 2, 2), 0);
    CHECK_EQ_INT(write_part(dir, 6, 1, 2, 2, 2, 2), 0);
    CHECK_EQ_INT(crops_open(dir, &c, &err), -1);
    CHECK(strstr(err.msg, "size 6") != NULL);
}

static void test_crop_or_pad(void) {
    const int S = 6;
    int sizes[][2] = {{3, 3}, {6, 6}, {9, 4}, {4, 9}, {7, 8}, {1, 13}};
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        int w = sizes[t][0], h = sizes[t][1];
        uint8_t src[13 * 13 * 3], out[6 * 6 * 3];
        for (int i = 0; i < w * h * 3; i++) src[i] = (uint8_t)(i + 1);
        jpeg_crop_or_pad(src, w, h, (size_t)w * 3, S, out);
        int bad = 0;
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++)
                for (int ch = 0; ch < 3; ch++) {
                    /* tf.image.resize_with_crop_or_pad */
                    int sy = y + (h > S ? (h - S) / 2 : 0) - (h < S ? (S - h) / 2 : 0);
                    int sx = x + (w > S ? (w - S) / 2 : 0) - (w < S ? (S - w) / 2 : 0);
                    int want = (sy >= 0 && sy < h && sx >= 0 && sx < w) ? src[(sy * w + sx) * 3 + ch] : 0;
                    bad += out[(y * S + x) * 3 + ch] != want;
                }
        CHECK_EQ_INT(bad, 0);
    }
}

static void test_resize(void) {
    /* 2x downscale of a 8x6 image to S=3: window 6x6 at x offset 1, each
     * output the exact mean of a 2x2 block. */
    int w = 8, h = 6, S = 3;
    uint8_t src[8 * 6 * 3], out[3 * 3 * 3];
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) src[(y * w + x) * 3 + c] = (uint8_t)(x * 20 + y * 8 + c * 50);
    float *tmp = malloc(resize_scratch_floats(w, h, S) * sizeof(float));
    resize_square(src, w, h, (size_t)w * 3, S, out, tmp);
    int bad = 0;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
            for (int c = 0; c < 3; c++) {
                double m = 0;
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++)
                        m += src[((2 * y + dy) * w + 1 + 2 * x + dx) * 3 + c];
                bad += out[(y * S + x) * 3 + c] != (int)(m / 4 + 0.5);
            }
    CHECK_EQ_INT(bad, 0);
    free(tmp);

    /* n == S is the centre crop; a constant image stays constant when upscaled */
    uint8_t big[10 * 7 * 3], o7[7 * 7 * 3], c7[7 * 7 * 3];
    for (int i = 0; i < 10 * 7 * 3; i++) big[i] = (uint8_t)(i * 13);
    tmp = malloc(resize_scratch_floats(10, 7, 7) * sizeof(float));
    resize_square(big, 10, 7, 30, 7, o7, tmp);
    jpeg_crop_or_pad(big, 10, 7, 30, 7, c7);
    CHECK(memcmp(o7, c7, sizeof o7) == 0);
    free(tmp);
    uint8_t flat[3 * 5 * 3], up[11 * 11 * 3];
    memset(flat, 77, sizeof flat);
    tmp = malloc(resize_scratch_floats(3, 5, 11) * sizeof(float));
    resize_square(flat, 3, 5, 9, 11, up, tmp);
    int off = 0;
    for (size_t i = 0; i < sizeof up; i++) off += up[i] != 77;
    CHECK_EQ_INT(off, 0);
    free(tmp);
}

static void test_scale_choose(void) {
    int num, den;
    jpeg_scale_choose(400, 600, 128, &num, &den); /* 400*3/8 = 150 >= 128 > 100 */
    CHECK_EQ_INT(num * 8 / den, 3);
    jpeg_scale_choose(1000, 1000, 128, &num, &den); /* 1/8 -> 125 < 128: 1/4 */
    CHECK_EQ_INT(num * 8 / den, 2);
    jpeg_scale_choose(100, 300, 128, &num, &den); /* smaller than S: 1/1 */
    CHECK_EQ_INT(num, den);
    jpeg_scale_choose(512, 700, 512, &num, &den);
    CHECK_EQ_INT(num, den);
}

/* A CMYK JPEG (TurboJPEG writes YCCK with an Adobe marker) decodes with
 * TensorFlow's Adobe formula r = k*c/255. */
static void test_cmyk(void) {
    int w = 16, h = 16;
    uint8_t cmyk[16 * 16 * 4];
    for (int i = 0; i < w * h; i++) {
        cmyk[4 * i] = 200;
        cmyk[4 * i + 1] = 100;
        cmyk[4 * i + 2] = 50;
        cmyk[4 * i + 3] = 220;
    }
    tjhandle tc = tjInitCompress();
    unsigned char *jpg = NULL;
    unsigned long len = 0;
    CHECK_EQ_INT(tjCompress2(tc, cmyk, w, 0, h, TJPF_CMYK, &jpg, &len, TJSAMP_444, 100, 0), 0);
    jpeg_decoder d;
    stl_error err;
    CHECK_EQ_INT(jpeg_decoder_init(&d, &err), 0);
    jpeg_decode_opts o = {8, 0, 1000000};
    uint8_t out[8 * 8 * 3];
    char detail[200];
    CHECK_EQ_INT(jpeg_decode_crop(&d, jpg, len, &o, out, detail, sizeof detail), JPEG_STATUS_OK);
    CHECK(abs(out[0] - 220 * 200 / 255) <= 2);
    CHECK(abs(out[1] - 220 * 100 / 255) <= 2);
    CHECK(abs(out[2] - 220 * 50 / 255) <= 2);

    /* the header check happens before decoding */
    o.max_pixels = 255;
    CHECK_EQ_INT(jpeg_decode_crop(&d, jpg, len, &o, out, detail, sizeof detail),
                 JPEG_STATUS_TOO_LARGE);
    CHECK(strstr(detail, "16x16") != NULL);
    o.max_pixels = 256;
    CHECK_EQ_INT(jpeg_decode_crop(&d, jpg, len, &o, out, detail, sizeof detail), JPEG_STATUS_OK);
    CHECK_EQ_INT(jpeg_decode_crop(&d, jpg, len / 2, &o, out, detail, sizeof detail),
                 JPEG_STATUS_TRUNCATED);
    CHECK_EQ_INT(jpeg_decode_crop(&d, jpg, 0, &o, out, detail, sizeof detail), JPEG_STATUS_EMPTY);
    CHECK_EQ_INT(jpeg_decode_crop(&d, (const uint8_t *)"<html>", 6, &o, out, detail, sizeof detail),
                 JPEG_STATUS_NOT_JPEG);
    CHECK_STR_EQ(jpeg_status_name(JPEG_STATUS_COLORSPACE), "colorspace");
    /* a corrupt header must not poison the decoder for the next image */
    uint8_t *bad = malloc(len);
    memcpy(bad, jpg, len);
    bad[2] = 0xFF;
    bad[3] = 0xC0;
    bad[4] = 0x00;
    bad[5] = 0x02;
    CHECK_EQ_INT(jpeg_decode_crop(&d, bad, len, &o, out, detail, sizeof detail),
                 JPEG_STATUS_CORRUPT);
    CHECK_EQ_INT(jpeg_decode_crop(&d, jpg, len, &o, out, detail, sizeof detail), JPEG_STATUS_OK);
    CHECK_EQ_INT(jpeg_decode_crop(&d, jpg, len / 2, &o, out, detail, sizeof detail),
                 JPEG_STATUS_TRUNCATED);
    CHECK_EQ_INT(jpeg_decode_crop(&d, jpg, len, &o, out, detail, sizeof detail), JPEG_STATUS_OK);
    free(bad);
    jpeg_decoder_free(&d);
    tjFree(jpg);
    tjDestroy(tc);
}

static void test_inspect(void) {
    char dir[512], path[700], ppm[700];
    subdir(dir, sizeof dir, "insp");
    CHECK_EQ_INT(write_part(dir, 4, 0, 1, 0, 3, 2), 0);
    stl_error err;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    snprintf(path, sizeof path, "%s/part-00000-of-00001.index.mpk", dir);
    CHECK_EQ_INT(crops_inspect(path, 0, m, &err), 0);
    CHECK_EQ_INT(crops_inspect(path, 1, m, &err), 0);
    snprintf(path, sizeof path, "%s/part-00000-of-00001.shard-00001.mpk", dir);
    CHECK_EQ_INT(crops_inspect(path, 1, m, &err), 0);
    CHECK_EQ_INT(crops_inspect(dir, 0, m, &err), 0);
    fclose(m);
    CHECK(strstr(buf, "images: 3 (of 4 requested)") != NULL);
    CHECK(strstr(buf, "rejected: 1 truncated=1") != NULL);
    CHECK(strstr(buf, "\"rejects\":{\"truncated\":1}") != NULL);
    CHECK(strstr(buf, "\"shard\":1,\"images\":1,\"pixel_bytes\":48") != NULL);
    CHECK(strstr(buf, "images: 3\n") != NULL);
    free(buf);

    stl_key k;
    key_of(1, &k);
    snprintf(ppm, sizeof ppm, "%s/one.ppm", g_dir);
    CHECK_EQ_INT(crops_export_ppm(dir, k.s, ppm, &err), 0);
    FILE *f = fopen(ppm, "rb");
    char head[16] = {0};
    uint8_t body[48];
    CHECK(f != NULL);
    if (f) {
        CHECK_EQ_INT(fread(head, 1, 11, f), 11);
        CHECK_EQ_INT(fread(body, 1, 48, f), 48);
        CHECK_EQ_INT(fgetc(f), EOF);
        fclose(f);
    }
    CHECK(memcmp(head, "P6\n4 4\n255\n", 11) == 0);
    int bad = 0;
    for (int b = 0; b < 48; b++) bad += body[b] != pix_of(1, (size_t)b);
    CHECK_EQ_INT(bad, 0);
    key_of(9999, &k);
    CHECK_EQ_INT(crops_export_ppm(dir, k.s, ppm, &err), -1);
    CHECK(strstr(err.msg, "not in the crop set") != NULL);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "%s/test_crops.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_round_trip);
    RUN(test_refusals);
    RUN(test_crop_or_pad);
    RUN(test_resize);
    RUN(test_scale_choose);
    RUN(test_cmyk);
    RUN(test_inspect);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
    return check_summary();
}
