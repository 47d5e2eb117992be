/* gpu_launch.h — launch geometry of the GPU kernels: how many blocks of how
 * many threads, and which output elements each thread computes, for the two
 * shapes of kernel the model needs: elementwise (swish, Adam, BatchNorm
 * applied over a flat buffer) and tiled over a rows x cols output (NHWC
 * pixels x channels, GEMM-like products). Host and device share it
 * (gpu_math.h's GM_FN), so the host tests (tests/unit/test_gpu_launch.c)
 * check the very index arithmetic a kernel runs: every output element
 * covered exactly once, nothing outside the output touched, the grid within
 * CUDA's limits.
 *
 * Elementwise: gm_launch_1d gives blocks of `threads`; a kernel runs the
 * grid-stride loop
 *     for (i = gm_1d_first(&l, blockIdx.x, threadIdx.x); i < n; i += gm_1d_stride(&l))
 * so a grid capped at max_blocks still covers all n items.
 *
 * Tiled: block (bx, by) owns the tile of rows [bx*tile_r, ...) and columns
 * [by*tile_c, ...) (the long dimension, rows, on grid x, whose limit is
 * 2^31 - 1; columns on grid y, limit 65535); thread (tx, ty) of a
 * threads_c x threads_r block computes the (tile_r / threads_r) x (tile_c /
 * threads_c) elements gm_tile_elem names, adjacent threads on adjacent
 * columns (coalesced NHWC access).
 */
#ifndef STL_GPU_LAUNCH_H
#define STL_GPU_LAUNCH_H

#include "model/gpu_math.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { GM_MAX_THREADS = 1024, GM_MAX_GRID_Y = 65535 };
#define GM_MAX_GRID_X 2147483647LL

typedef struct {
    unsigned x, y, z;
} gm_dim3;

typedef struct {
    gm_dim3 grid, block;
    int tile_r, tile_c;     /* tiled launches: the tile of one block (1d: 1, 1) */
} gm_launch;

/* n items (n >= 0; n = 0 gives one block that does nothing), `threads` per
 * block (1..1024), at most max_blocks blocks (0: no cap). 0, or -1 when an
 * argument is out of range or the grid would exceed 2^31 - 1 blocks. */
GM_FN int gm_launch_1d(long long n, int threads, long long max_blocks, gm_launch *l) {
    if (n < 0 || threads < 1 || threads > GM_MAX_THREADS || max_blocks < 0) return -1;
    long long blocks = (n + threads - 1) / threads;
    if (blocks < 1) blocks = 1;
    if (max_blocks > 0 && blocks > max_blocks) blocks = max_blocks;
    if (blocks > GM_MAX_GRID_X) return -1;
    l->grid.x = (unsigned)blocks;
    l->grid.y = l->grid.z = 1;
    l->block.x = (unsigned)threads;
    l->block.y = l->block.z = 1;
    l->tile_r = l->tile_c = 1;
    return 0;
}
/* The first item of thread tx of block bx, and the grid-stride step. */
GM_FN long long gm_1d_first(const gm_launch *l, unsigned bx, unsigned tx) {
    return (long long)bx * l->block.x + tx;
}
GM_FN long long gm_1d_stride(const gm_launch *l) { return (long long)l->grid.x * l->block.x; }

/* A rows x cols output (rows, cols >= 1) in tiles of tile_r x tile_c, with
 * threads_r x threads_c threads per block (dividing the tile; at most 1024
 * in all). 0, or -1 when an argument is out of range or the grid exceeds
 * CUDA's limits. */
GM_FN int gm_launch_tiled(long long rows, long long cols, int tile_r, int tile_c, int threads_r,
                          int threads_c, gm_launch *l) {
    if (rows < 1 || cols < 1 || tile_r < 1 || tile_c < 1 || threads_r < 1 || threads_c < 1)
        return -1;
    if (tile_r % threads_r || tile_c % threads_c || threads_r * threads_c > GM_MAX_THREADS)
        return -1;
    long long gx = (rows + tile_r - 1) / tile_r, gy = (cols + tile_c - 1) / tile_c;
    if (gx > GM_MAX_GRID_X || gy > GM_MAX_GRID_Y) return -1;
    l->grid.x = (unsigned)gx;
    l->grid.y = (unsigned)gy;
    l->grid.z = 1;
    l->block.x = (unsigned)threads_c;
    l->block.y = (unsigned)threads_r;
    l->block.z = 1;
    l->tile_r = tile_r;
    l->tile_c = tile_c;
    return 0;
}
/* Element (i, j) of thread (tx, ty) in block (bx, by), for i < tile_r /
 * block.y and j < tile_c / block.x: *row, *col, and 1 when it lies inside
 * the rows x cols output (0: the thread skips it). */
GM_FN int gm_tile_elem(const gm_launch *l, long long rows, long long cols, unsigned bx,
                       unsigned by, unsigned tx, unsigned ty, int i, int j, long long *row,
                       long long *col) {
    *row = (long long)bx * l->tile_r + ty + (long long)i * l->block.y;
    *col = (long long)by * l->tile_c + tx + (long long)j * l->block.x;
    return *row < rows && *col < cols;
}

#ifdef __cplusplus
}
#endif

#endif
