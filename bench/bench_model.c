/* bench_model.c — stlrec's side of the model benchmark (bench/bench_model.sh):
 * training-step and embedding throughput of the CPU model on seeded random
 * images, warm-up excluded.
 *
 *   bench_model SIZE BATCH THREADS STEPS [EMBED_IMAGES]
 *
 * Prints one line per measurement, `stlrec train|embed key=value ...`, with
 * triplets/s (train), images/s (embed) and the GFLOP/s of the matrix work
 * (model_flops_*). Exits 1 on a model error.
 */
#include <stdio.h>
#include <stdlib.h>

#include "model/model.h"
#include "base/rng.h"
#include "base/timer.h"

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: bench_model SIZE BATCH THREADS STEPS [EMBED_IMAGES]\n");
        return 2;
    }
    int S = atoi(argv[1]), B = atoi(argv[2]), T = atoi(argv[3]), steps = atoi(argv[4]);
    int n_embed = argc > 5 ? atoi(argv[5]) : 4 * B;
    stl_error err;
    model_state m;
    if (model_init(&m, 64, 1, &err) < 0) goto fail;
    model_ws *ws = model_ws_create(&m.table, B, S, DEVICE_CPU, &err);
    if (!ws || model_ws_set_threads(ws, T, &err) < 0) goto fail;
    size_t img = (size_t)S * S * 3, n = 3 * (size_t)B * img;
    uint8_t *px = malloc(n);
    float *emb = malloc(sizeof(float) * 64 * (size_t)B);
    if (!px || !emb) return 1;
    rng_state r;
    rng_seed(&r, 42);
    for (size_t i = 0; i < n; i++) px[i] = (uint8_t)rng_uniform(&r, 256);
    const uint8_t *x = px, *sc = x, *po = x + (size_t)B * img, *ne = x + 2 * (size_t)B * img;
    float loss = 0;
    /* warm-up: first-touch page faults, OpenBLAS buffers */
    for (int i = 0; i < 2; i++) {
        if (model_train_step_grads(&m, ws, sc, po, ne, 0.2f, B, &loss, 0, 0, 0, &err) < 0) goto fail;
        model_adam_step(&m, 1.6e-4f);
    }
    double t0 = timer_now();
    for (int i = 0; i < steps; i++) {
        if (model_train_step_grads(&m, ws, sc, po, ne, 0.2f, B, &loss, 0, 0, 0, &err) < 0) goto fail;
        model_adam_step(&m, 1.6e-4f);
    }
    double dt = (timer_now() - t0) / steps;
    printf("stlrec train size=%d batch=%d threads=%d ms_per_step=%.2f triplets_per_s=%.2f "
           "gflops=%.2f loss=%.4f\n",
           S, B, T, dt * 1e3, B / dt, model_flops_train_step(B, S, 64) / dt * 1e-9, loss);
    /* embedding: batches of B images, forward only, running averages */
    if (model_embed(&m, ws, MODEL_TOWER_PRODUCT, x, B, emb, &err) < 0) goto fail;
    int done = 0;
    t0 = timer_now();
    while (done < n_embed) {
        int k = n_embed - done < B ? n_embed - done : B;
        if (model_embed(&m, ws, MODEL_TOWER_PRODUCT, x, k, emb, &err) < 0)
            goto fail;
        done += k;
    }
    dt = timer_now() - t0;
    printf("stlrec embed size=%d batch=%d threads=%d images_per_s=%.2f gflops=%.2f\n", S, B, T,
           n_embed / dt, model_flops_forward_image(S, 64) * n_embed / dt * 1e-9);
    model_ws_free(ws);
    model_state_free(&m);
    free(px), free(emb);
    return 0;
fail:
    fprintf(stderr, "bench_model: %s\n", err.msg);
    return 1;
}
