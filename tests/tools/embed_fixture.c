/* embed_fixture.c — test helper for stl-embed (tests/stage/test_embed.sh).
 *
 *   embed_fixture model OUT SEED OUTPUT_SIZE [nan]
 *       writes an initialised model (model_init) whose BatchNorm running
 *       averages are drawn away from 0 / 1, so inference mode is visible,
 *       with a metadata sidecar {"fixture": true, "seed": SEED}; with "nan",
 *       one weight of the scene tower's Dense layer is NaN (a broken model).
 *   embed_fixture check MODEL CROPS EMBEDDINGS KIND
 *       recomputes every row of EMBEDDINGS with model_embed on its crop alone
 *       (one image per call, one thread) and compares the bytes; prints
 *       "N rows equal" and exits 1 at the first row that differs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/crops.h"
#include "formats/embeddings.h"
#include "base/error.h"
#include "model/model.h"
#include "formats/modelfile.h"
#include "base/rng.h"

static int make_model(const char *out, long seed, int output_size, int nan, stl_error *err) {
    model_state m;
    if (model_init(&m, output_size, (uint64_t)seed, err) != 0) return -1;
    rng_state r;
    rng_stream(&r, (uint64_t)seed, 77);
    for (int i = 0; i < m.table.n; i++) {
        const param_entry *e = &m.table.e[i];
        if (!e->is_stat) continue;
        int is_var = strstr(e->name, "/var") != NULL;
        for (size_t j = 0; j < e->count; j++)
            m.stats[e->offset + j] =
                is_var ? (float)(0.5 + rng_double(&r)) : (float)(0.2 * rng_normal(&r));
    }
    m.step = 42;
    if (nan) m.params[param_table_find(&m.table, "scene_cnn/Dense_0/kernel", 0)->offset] = NAN;
    char meta[128];
    snprintf(meta, sizeof meta, "{\"fixture\": true, \"seed\": %ld}", seed);
    int rc = modelfile_write(out, &m, meta, err);
    model_state_free(&m);
    return rc;
}

static int check(const char *model, const char *crops, const char *emb, const char *kind,
                 stl_error *err) {
    model_state m;
    if (modelfile_read(model, &m, NULL, err) != 0) return -1;
    crops_set *cs = NULL;
    embeddings e = {0};
    model_ws *ws = NULL;
    float *row = NULL;
    int rc = -1;
    if (crops_open(crops, &cs, err) != 0 || embeddings_read(emb, &e, err) != 0) goto out;
    int S = crops_size(cs);
    size_t dim = (size_t)m.table.output_size;
    if (e.dim != dim) {
        stl_fail(err, "%s: dim %zu, model %zu", emb, e.dim, dim);
        goto out;
    }
    ws = model_ws_create(&m.table, 1, S, DEVICE_CPU, err);
    if (!ws || model_ws_set_threads(ws, 1, err) != 0) goto out;
    row = malloc(dim * sizeof *row);
    int tower = strcmp(kind, "scene") == 0 ? MODEL_TOWER_SCENE : MODEL_TOWER_PRODUCT;
    for (size_t i = 0; i < e.n; i++) {
        long c = crops_find(cs, e.keys[i].s);
        if (c < 0) {
            stl_fail(err, "row %zu: key %s has no crop", i, e.keys[i].s);
            goto out;
        }
        if (model_embed(&m, ws, tower, crops_pixels(cs, (size_t)c), 1, row, err) != 0) goto out;
        if (memcmp(row, e.data + i * dim, dim * sizeof *row) != 0) {
            stl_fail(err, "row %zu (%s) differs from model_embed", i, e.keys[i].s);
            goto out;
        }
    }
    printf("%zu rows equal\n", e.n);
    rc = 0;
out:
    free(row);
    model_ws_free(ws);
    embeddings_free(&e);
    crops_close(cs);
    model_state_free(&m);
    return rc;
}

int main(int argc, char **argv) {
    stl_error err;
    int rc;
    if ((argc == 5 || (argc == 6 && strcmp(argv[5], "nan") == 0)) && strcmp(argv[1], "model") == 0)
        rc = make_model(argv[2], atol(argv[3]), atoi(argv[4]), argc == 6, &err);
    else if (argc == 6 && strcmp(argv[1], "check") == 0)
        rc = check(argv[2], argv[3], argv[4], argv[5], &err);
    else {
        fprintf(stderr, "usage: embed_fixture model OUT SEED OUTPUT_SIZE [nan] | "
                        "check MODEL CROPS EMBEDDINGS KIND\n");
        return 2;
    }
    if (rc != 0) fprintf(stderr, "embed_fixture: %s\n", err.msg);
    return rc ? 1 : 0;
}
