/* bench_decode.c — in-process decode rates, measured in thread CPU time so
 * that other jobs on a shared machine disturb them less than wall time.
 *
 * Loads the given JPEGs into memory, then for ROUNDS rounds runs, one after
 * the other over all files: plain tjDecompress2 to RGB with TJFLAG_FASTDCT
 * (libjpeg-turbo's own decode, the peer), jpeg_decode_crop at S=512
 * (stl-decode's default mode), jpeg_decode_crop --resize at S=128, and plain
 * tjDecompress2 at the DCT scale that resize picks (the floor of resize
 * mode). Prints images/s and megapixels/s (source pixels) of the best round
 * of each, and the ratios. Used by bench_decode.sh.
 *   usage: bench_decode ROUNDS FILE.jpg...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <turbojpeg.h>

#include "image/jpeg_decode.h"

typedef struct {
    unsigned char *data;
    unsigned long len;
    int w, h;
} jpg;

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

enum { M_TJ, M_DEFAULT, M_RESIZE, M_TJ_SCALED, M_COUNT };
static const char *names[M_COUNT] = {
    "tjDecompress2 RGB fastdct (peer)", "stl-decode default S=512",
    "stl-decode --resize S=128", "tjDecompress2 at resize's scale",
};

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bench_decode ROUNDS FILE.jpg...\n");
        return 2;
    }
    int rounds = atoi(argv[1]), n = argc - 2;
    jpg *f = calloc((size_t)n, sizeof *f);
    tjhandle tj = tjInitDecompress();
    double mp = 0;
    size_t maxpix = 0;
    for (int i = 0; i < n; i++) {
        FILE *fp = fopen(argv[i + 2], "rb");
        if (!fp) {
            perror(argv[i + 2]);
            return 1;
        }
        fseek(fp, 0, SEEK_END);
        f[i].len = (unsigned long)ftell(fp);
        rewind(fp);
        f[i].data = malloc(f[i].len);
        if (fread(f[i].data, 1, f[i].len, fp) != f[i].len) return 1;
        fclose(fp);
        int ss, cs;
        if (tjDecompressHeader3(tj, f[i].data, f[i].len, &f[i].w, &f[i].h, &ss, &cs) != 0) {
            fprintf(stderr, "%s: %s\n", argv[i + 2], tjGetErrorStr2(tj));
            return 1;
        }
        mp += f[i].w * (double)f[i].h / 1e6;
        if ((size_t)f[i].w * f[i].h > maxpix) maxpix = (size_t)f[i].w * f[i].h;
    }
    unsigned char *rgb = malloc(maxpix * 4);
    uint8_t *out = malloc((size_t)512 * 512 * 3);
    jpeg_decoder d;
    stl_error err;
    if (jpeg_decoder_init(&d, &err) != 0) return 1;
    jpeg_decode_opts def = {512, 0, 50000000}, res = {128, 1, 50000000};
    double best[M_COUNT];
    for (int m = 0; m < M_COUNT; m++) best[m] = 1e30;
    int fails = 0;
    for (int r = 0; r < rounds; r++) {
        for (int m = 0; m < M_COUNT; m++) {
            double t0 = cpu_now();
            for (int i = 0; i < n; i++) {
                if (m == M_TJ) {
                    fails += tjDecompress2(tj, f[i].data, f[i].len, rgb, f[i].w, 0, f[i].h,
                                           TJPF_RGB, TJFLAG_FASTDCT) != 0;
                } else if (m == M_TJ_SCALED) {
                    int num, den;
                    jpeg_scale_choose(f[i].w, f[i].h, 128, &num, &den);
                    tjscalingfactor sf = {num, den};
                    fails += tjDecompress2(tj, f[i].data, f[i].len, rgb, TJSCALED(f[i].w, sf), 0,
                                           TJSCALED(f[i].h, sf), TJPF_RGB, TJFLAG_FASTDCT) != 0;
                } else {
                    fails += jpeg_decode_crop(&d, f[i].data, f[i].len, m == M_DEFAULT ? &def : &res,
                                              out, NULL, 0) != JPEG_STATUS_OK;
                }
            }
            double t = cpu_now() - t0;
            if (t < best[m]) best[m] = t;
        }
    }
    printf("in-process, 1 thread, CPU time, best of %d rounds over %d images (%.2f MP):\n",
           rounds, n, mp);
    for (int m = 0; m < M_COUNT; m++)
        printf("  %-36s %8.1f img/s %7.1f MP/s   %.2fx the peer\n", names[m], n / best[m],
               mp / best[m], best[M_TJ] / best[m]);
    printf("  resize 128 / default: %.2fx\n", best[M_DEFAULT] / best[M_RESIZE]);
    jpeg_decoder_free(&d);
    tjDestroy(tj);
    for (int i = 0; i < n; i++) free(f[i].data);
    free(f);
    free(rgb);
    free(out);
    if (fails) {
        fprintf(stderr, "bench_decode: %d decodes failed\n", fails);
        return 1;
    }
    return 0;
}
