/* train_eval.c — test triplet loss and accuracy for stl-train (train_eval.h). */
#include "train/train_eval.h"

#include <stdlib.h>
#include <string.h>


void train_eval_free(train_eval *ev) {
    free(ev->ts);
    free(ev->tp);
    free(ev->tn);
    free(ev->scenes);
    free(ev->products);
    free(ev->emb_s);
    free(ev->emb_p);
    free(ev->x);
    memset(ev, 0, sizeof *ev);
}

/* Row of image `img` in the distinct table (appending it when new); `row`
 * maps image index -> row+1 (0: not yet seen). */
static uint32_t distinct_row(uint32_t img, uint32_t *row, uint32_t *table, size_t *n) {
    if (!row[img]) {
        table[*n] = img;
        row[img] = (uint32_t)++*n;
    }
    return row[img] - 1;
}

int train_eval_init(train_eval *ev, const loader_item *items, size_t n, int output_size,
                    stl_error *err) {
    memset(ev, 0, sizeof *ev);
    ev->n = n;
    ev->output_size = output_size;
    if (n == 0) return 0;
    uint32_t max_img = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t a = items[i].scene, b = items[i].pos, c = items[i].neg;
        uint32_t m = a > b ? a : b;
        m = m > c ? m : c;
        if (m > max_img) max_img = m;
    }
    uint32_t *row_s = calloc((size_t)max_img + 1, sizeof *row_s);
    uint32_t *row_p = calloc((size_t)max_img + 1, sizeof *row_p);
    ev->ts = malloc(n * sizeof *ev->ts);
    ev->tp = malloc(n * sizeof *ev->tp);
    ev->tn = malloc(n * sizeof *ev->tn);
    ev->scenes = malloc(n * sizeof *ev->scenes);
    ev->products = malloc(2 * n * sizeof *ev->products);
    if (!row_s || !row_p || !ev->ts || !ev->tp || !ev->tn || !ev->scenes || !ev->products) {
        free(row_s);
        free(row_p);
        train_eval_free(ev);
        return stl_fail(err, "evaluation: out of memory for %zu test triplets", n);
    }
    for (size_t i = 0; i < n; i++) {
        ev->ts[i] = distinct_row(items[i].scene, row_s, ev->scenes, &ev->n_scenes);
        ev->tp[i] = distinct_row(items[i].pos, row_p, ev->products, &ev->n_products);
        ev->tn[i] = distinct_row(items[i].neg, row_p, ev->products, &ev->n_products);
    }
    free(row_s);
    free(row_p);
    size_t d = (size_t)output_size;
    ev->emb_s = malloc(ev->n_scenes * d * sizeof(float));
    ev->emb_p = malloc(ev->n_products * d * sizeof(float));
    if (!ev->emb_s || !ev->emb_p) {
        train_eval_free(ev);
        return stl_fail(err, "evaluation: out of memory for the test embeddings");
    }
    return 0;
}

/* Embeds rows [lo, hi) of one distinct table into emb (rows outside stay 0). */
static int embed_share(train_eval *ev, const model_state *m, model_ws *ws, int tower,
                       const uint32_t *imgs, size_t count, float *emb, loader_pixels_fn pixels,
                       void *pctx, int rank, int nranks, stl_error *err) {
    size_t d = (size_t)ev->output_size;
    size_t lo = count * (size_t)rank / (size_t)nranks, hi = count * (size_t)(rank + 1) / (size_t)nranks;
    memset(emb, 0, count * d * sizeof(float));
    size_t chunk = (size_t)model_ws_batch(ws), s = (size_t)model_ws_size(ws);
    size_t img = s * s * 3;
    if (ev->x_images < chunk) {
        free(ev->x);
        ev->x = malloc(chunk * img);
        if (!ev->x) return stl_fail(err, "evaluation: out of memory");
        ev->x_images = chunk;
    }
    for (size_t i = lo; i < hi; i += chunk) {
        size_t k = hi - i < chunk ? hi - i : chunk;
        for (size_t j = 0; j < k; j++)
            memcpy(ev->x + j * img, pixels(pctx, imgs[i + j]), img);
        if (model_embed(m, ws, tower, ev->x, (int)k, emb + i * d, err) != 0) return -1;
    }
    return 0;
}

int train_eval_run(train_eval *ev, const model_state *m, model_ws *ws, loader_pixels_fn pixels,
                   void *pixels_ctx, int rank, int nranks, model_allreduce_fn allreduce,
                   void *allreduce_ctx, train_eval_result *out, stl_error *err) {
    memset(out, 0, sizeof *out);
    if (ev->n == 0) return 0;
    if (embed_share(ev, m, ws, MODEL_TOWER_SCENE, ev->scenes, ev->n_scenes, ev->emb_s, pixels,
                    pixels_ctx, rank, nranks, err) != 0 ||
        embed_share(ev, m, ws, MODEL_TOWER_PRODUCT, ev->products, ev->n_products, ev->emb_p,
                    pixels, pixels_ctx, rank, nranks, err) != 0)
        return stl_fail_prefix(err, "evaluation");
    size_t d = (size_t)ev->output_size;
    if (nranks > 1 && allreduce &&
        (allreduce(allreduce_ctx, ev->emb_s, ev->n_scenes * d) != 0 ||
         allreduce(allreduce_ctx, ev->emb_p, ev->n_products * d) != 0))
        return stl_fail(err, "evaluation: combining the test embeddings across ranks failed");
    double loss = 0;
    size_t correct = 0;
    for (size_t i = 0; i < ev->n; i++) {
        const float *s = ev->emb_s + ev->ts[i] * d;
        const float *p = ev->emb_p + ev->tp[i] * d, *q = ev->emb_p + ev->tn[i] * d;
        double sp = 0, sn = 0;
        for (size_t k = 0; k < d; k++) {
            sp += (double)s[k] * p[k];
            sn += (double)s[k] * q[k];
        }
        double h = 1.0 + sn - sp;
        loss += h > 0 ? h : 0;
        correct += sp > sn;
    }
    out->n = ev->n;
    out->loss = loss / (double)ev->n;
    out->accuracy = (double)correct / (double)ev->n;
    return 0;
}
