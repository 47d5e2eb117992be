/* test_gpu_launch.c — the GPU kernels' launch geometry (model/gpu_launch.h),
 * simulated on the host: for many shapes, every block and thread of the
 * launch walks the elements gpu_launch.h assigns it, and each output element
 * must be visited exactly once, with nothing outside the output visited and
 * the grid and block within CUDA's limits. Bad arguments are refused.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/gpu_launch.h"

/* Visits of a 1d launch over n items; 0 when every item is visited once. */
static long long visit_1d(long long n, const gm_launch *l, unsigned char *seen, long long *steps) {
    memset(seen, 0, (size_t)(n > 0 ? n : 1));
    long long bad = 0;
    *steps = 0;
    for (unsigned b = 0; b < l->grid.x; b++)
        for (unsigned t = 0; t < l->block.x; t++)
            for (long long i = gm_1d_first(l, b, t); i < n; i += gm_1d_stride(l)) {
                if (i < 0 || seen[i]++) bad++;
                ++*steps;
            }
    for (long long i = 0; i < n; i++) bad += seen[i] != 1;
    return bad;
}

static void test_1d_cover_once(void) {
    static const long long ns[] = {0, 1, 2, 31, 32, 33, 255, 256, 257, 1000, 4096, 65537, 1000003};
    static const int threads[] = {1, 32, 128, 256, 1024};
    static const long long caps[] = {0, 1, 7, 64};
    unsigned char *seen = malloc(1000003);
    long long bad = 0, launches = 0;
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
        for (size_t b = 0; b < sizeof threads / sizeof threads[0]; b++)
            for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
                gm_launch l;
                if (gm_launch_1d(ns[a], threads[b], caps[c], &l) != 0) {
                    bad++;
                    continue;
                }
                long long steps;
                bad += visit_1d(ns[a], &l, seen, &steps);
                bad += steps != ns[a];
                bad += l.block.x != (unsigned)threads[b] || l.grid.y != 1 || l.block.y != 1;
                bad += l.grid.x < 1 || (caps[c] > 0 && l.grid.x > caps[c]);
                /* uncapped: no block more than needed */
                if (caps[c] == 0 && ns[a] > 0)
                    bad += (long long)(l.grid.x - 1) * threads[b] >= ns[a];
                launches++;
            }
    free(seen);
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(launches, 13 * 5 * 4);
}

/* Visits of a tiled launch over rows x cols. */
static long long visit_tiled(long long rows, long long cols, const gm_launch *l,
                             unsigned char *seen) {
    memset(seen, 0, (size_t)(rows * cols));
    long long bad = 0;
    int ni = l->tile_r / (int)l->block.y, nj = l->tile_c / (int)l->block.x;
    for (unsigned bx = 0; bx < l->grid.x; bx++)
        for (unsigned by = 0; by < l->grid.y; by++)
            for (unsigned ty = 0; ty < l->block.y; ty++)
                for (unsigned tx = 0; tx < l->block.x; tx++)
                    for (int i = 0; i < ni; i++)
                        for (int j = 0; j < nj; j++) {
                            long long r, c;
                            int in = gm_tile_elem(l, rows, cols, bx, by, tx, ty, i, j, &r, &c);
                            /* inside exactly when within the output */
                            if (in != (r >= 0 && r < rows && c >= 0 && c < cols)) bad++;
                            if (in && seen[r * cols + c]++) bad++;
                        }
    for (long long k = 0; k < rows * cols; k++) bad += seen[k] != 1;
    return bad;
}

static void test_tiled_cover_once(void) {
    static const long long shapes[][2] = {{1, 1},   {1, 16},  {5, 3},    {16, 16},  {31, 33},
                                          {64, 64}, {100, 7}, {257, 130}, {1024, 16}, {4096, 128},
                                          {300, 1}, {2, 1000}};
    static const int tiles[][4] = {/* tile_r, tile_c, threads_r, threads_c */
                                   {1, 1, 1, 1},     {16, 16, 16, 16}, {32, 16, 8, 16},
                                   {64, 64, 16, 16}, {8, 128, 2, 128}, {128, 32, 32, 32},
                                   {4, 4, 1, 4}};
    size_t maxn = 4096 * 128;
    unsigned char *seen = malloc(maxn);
    long long bad = 0, launches = 0;
    for (size_t a = 0; a < sizeof shapes / sizeof shapes[0]; a++)
        for (size_t b = 0; b < sizeof tiles / sizeof tiles[0]; b++) {
            gm_launch l;
            long long rows = shapes[a][0], cols = shapes[a][1];
            const int *t = tiles[b];
            if (gm_launch_tiled(rows, cols, t[0], t[1], t[2], t[3], &l) != 0) {
                bad++;
                continue;
            }
            bad += visit_tiled(rows, cols, &l, seen);
            bad += l.block.x * l.block.y > GM_MAX_THREADS || l.grid.y > GM_MAX_GRID_Y;
            bad += (long long)l.grid.x * t[0] < rows || (long long)(l.grid.x - 1) * t[0] >= rows;
            bad += (long long)l.grid.y * t[1] < cols || (long long)(l.grid.y - 1) * t[1] >= cols;
            launches++;
        }
    free(seen);
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(launches, 12 * 7);
}

/* The model's largest tiled output: S = 512, batch 64, block 0's 256 x 256
 * pixels by 16 channels: 4M rows, more tiles than grid y allows, so rows go
 * on grid x. Checked by its grid, and by a walk of the last blocks. */
static void test_tiled_model_size(void) {
    long long rows = 64LL * 256 * 256, cols = 16;
    gm_launch l;
    CHECK(gm_launch_tiled(rows, cols, 64, 16, 16, 16, &l) == 0);
    CHECK_EQ_INT(l.grid.x, rows / 64);
    CHECK_EQ_INT(l.grid.y, 1);
    CHECK(l.grid.x > GM_MAX_GRID_Y);
    long long r, c;
    CHECK(gm_tile_elem(&l, rows, cols, l.grid.x - 1, 0, 15, 15, 3, 0, &r, &c) == 1);
    CHECK_EQ_INT(r, rows - 1);
    CHECK_EQ_INT(c, 15);
    /* a grid-stride 1d launch over the same tensor, capped */
    CHECK(gm_launch_1d(rows * cols, 256, 1 << 16, &l) == 0);
    CHECK_EQ_INT(gm_1d_stride(&l), 256LL << 16);
}

static void test_refused(void) {
    gm_launch l;
    CHECK(gm_launch_1d(-1, 256, 0, &l) == -1);
    CHECK(gm_launch_1d(10, 0, 0, &l) == -1);
    CHECK(gm_launch_1d(10, 1025, 0, &l) == -1);
    CHECK(gm_launch_1d(10, 32, -1, &l) == -1);
    CHECK(gm_launch_1d(GM_MAX_GRID_X * 2 + 5, 1, 0, &l) == -1);
    CHECK(gm_launch_1d(GM_MAX_GRID_X * 2 + 5, 1, 1000, &l) == 0);
    CHECK(gm_launch_tiled(0, 5, 4, 4, 4, 4, &l) == -1);
    CHECK(gm_launch_tiled(5, 5, 6, 4, 4, 4, &l) == -1);    /* threads do not divide the tile */
    CHECK(gm_launch_tiled(5, 5, 64, 64, 32, 64, &l) == -1); /* 2048 threads */
    CHECK(gm_launch_tiled(5, 65536LL * 4 + 1, 4, 4, 4, 4, &l) == -1); /* grid y too large */
    CHECK(gm_launch_tiled(5, 65535LL * 4, 4, 4, 4, 4, &l) == 0);
}

int main(void) {
    RUN(test_1d_cover_once);
    RUN(test_tiled_cover_once);
    RUN(test_tiled_model_size);
    RUN(test_refused);
    return check_summary();
}
