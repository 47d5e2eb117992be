/* model_gpu_images.c — images in backend memory for the GPU step
 * (model_gpu.h): all the crops kept when they fit in the backend's free
 * memory (model_gpu_keep_images), or slots that batches are staged into on
 * the backend's copy stream from another thread (model_gpu_stream,
 * model_gpu_stage); steps then gather their batches by index
 * (model_gpu_step.c). And the pinned host memory staging copies from.
 */
#include "model/model_gpu.h"

#include <stdlib.h>
#include <string.h>

#include "model/model_gpu_internal.h"

/* Forgets the images kept or the slots (the pool's memory freed). */
static void drop_pool(model_gpu *g) {
    if (g->pool) g->be.release(g->be.lib, g->pool);
    g->pool = NULL, g->pool_n = 0, g->slots = 0;
}

/* The images kept: n of them, each img bytes, uploaded in chunks through
 * a host staging buffer. */
static int upload_pool(model_gpu *g, size_t n, size_t img, model_pixels_fn pixels, void *ctx,
                       stl_error *err) {
    const gpu_backend *be = &g->be;
    size_t per = (64u << 20) / img ? (64u << 20) / img : 1;
    uint8_t *stage = malloc(per * img);
    if (!stage) return stl_fail(err, "model: out of memory for the image upload");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i += per) {
        size_t k = n - i < per ? n - i : per;
        for (size_t j = 0; j < k; j++) memcpy(stage + j * img, pixels(ctx, (uint32_t)(i + j)), img);
        rc = be->upload(be->lib, g->pool + i * img, stage, k * img, err);
    }
    free(stage);
    return rc;
}

int model_gpu_keep_images(model_gpu *g, size_t n, model_pixels_fn pixels, void *ctx,
                          model_keep_info *info, stl_error *err) {
    const gpu_backend *be = &g->be;
    size_t img = g->image_bytes, avail = 0;
    memset(info, 0, sizeof *info);
    info->bytes = n * img;
    drop_pool(g);
    if (!be->mem_free || be->mem_free(be->lib, &avail, err) != 0) return be->mem_free ? -1 : 0;
    info->free = avail;
    /* a margin for what the libraries allocate later, and fragmentation */
    size_t margin = ((size_t)256 << 20) + avail / 20;
    if (n == 0 || n > UINT32_MAX || avail < margin || info->bytes > avail - margin) return 0;
    if (!(g->pool = be->alloc(be->lib, info->bytes, err))) return -1;
    g->pool_n = n;
    if (upload_pool(g, n, img, pixels, ctx, err) != 0) {
        drop_pool(g);
        return -1;
    }
    return 1;
}

int model_gpu_stream(model_gpu *g, int slots, stl_error *err) {
    const gpu_backend *be = &g->be;
    if (slots < 1) return stl_fail(err, "model: %d staging slots", slots);
    drop_pool(g);
    if (!(g->pool = be->alloc(be->lib, 3 * (size_t)slots * g->img_bytes, err))) return -1;
    g->pool_n = 3 * (size_t)slots * (size_t)g->batch;
    g->slots = slots;
    return 0;
}

int model_gpu_stage(model_gpu *g, int slot, const uint8_t *const in[3], uint32_t *const idx[3],
                    stl_error *err) {
    const gpu_backend *be = &g->be;
    if (!g->slots || slot < 0 || slot >= g->slots)
        return stl_fail(err, "model: staging slot %d of %d", slot, g->slots);
    for (int r = 0; r < 3; r++) {
        size_t first = (3 * (size_t)slot + (size_t)r) * (size_t)g->batch;
        if (be->upload_copy(be->lib, g->pool + first * g->image_bytes, in[r], g->img_bytes,
                            err) != 0)
            return -1;
        for (int j = 0; j < g->batch; j++) idx[r][j] = (uint32_t)(first + (size_t)j);
    }
    return 0;
}

void *model_gpu_host_alloc(model_gpu *g, size_t bytes, stl_error *err) {
    return g->be.host_alloc(g->be.lib, bytes, err);
}
void model_gpu_host_free(model_gpu *g, void *p) {
    if (p) g->be.host_free(g->be.lib, p);
}

