/* params.c — the model's parameter table (Flax names, shapes, offsets) and the
 * contiguous buffers of a model_state.
 *
 * The table lists, tower by tower ("scene_cnn", then "product_cnn"), every
 * trainable tensor in Flax creation order — per block b: Conv_{4b} (the
 * residual 3x3 conv), Conv_{4b+1} (the main 3x3 conv), BatchNorm_{3b},
 * Conv_{4b+2}, BatchNorm_{3b+1}, Conv_{4b+3}, BatchNorm_{3b+2}; then Dense_0 —
 * and after all of them the batch statistics (BatchNorm_k/mean, /var) of both
 * towers. Offsets count floats into model_state.params (trainables) or
 * model_state.stats (statistics). The table owns its entry array;
 * model_state owns one allocation holding params, grads and the Adam moments,
 * and one for stats.
 */
#include "model/params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const tower_names[MODEL_N_TOWERS] = {"scene_cnn", "product_cnn"};
static const int block_filters[MODEL_N_BLOCKS] = {16, 32, 64, 128};

/* Entries per tower: 4 convs x 2 + 3 BN scales per block, dense x 2; stats: 3 BN x 2. */
enum { PER_TOWER_PARAMS = MODEL_N_BLOCKS * 11 + 2, PER_TOWER_STATS = MODEL_N_BLOCKS * 6 };

typedef struct {
    param_table *t;
    size_t n_params, n_stats;
} table_builder;

static void add(table_builder *b, int tower, int is_stat, const char *layer,
                const char *leaf, int ndim, int d0, int d1, int d2, int d3) {
    param_entry *e = &b->t->e[b->t->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s/%s/%s", tower_names[tower], layer, leaf);
    e->is_stat = is_stat;
    e->tower = tower;
    e->ndim = ndim;
    int d[4] = {d0, d1, d2, d3};
    e->count = 1;
    for (int i = 0; i < ndim; i++) {
        e->shape[i] = d[i];
        e->count *= (size_t)d[i];
    }
    size_t *next = is_stat ? &b->n_stats : &b->n_params;
    e->offset = *next;
    *next += e->count;
}

static void add_conv(table_builder *b, int tower, int idx, int k, int cin, int cout) {
    char layer[32];
    snprintf(layer, sizeof layer, "Conv_%d", idx);
    add(b, tower, 0, layer, "kernel", 4, k, k, cin, cout);
    add(b, tower, 0, layer, "bias", 1, cout, 0, 0, 0);
}

static void add_bn(table_builder *b, int tower, int idx, int c) {
    char layer[32];
    snprintf(layer, sizeof layer, "BatchNorm_%d", idx);
    add(b, tower, 0, layer, "scale", 1, c, 0, 0, 0);
}

int param_table_init(param_table *t, int output_size, stl_error *err) {
    memset(t, 0, sizeof *t);
    if (output_size < 1 || output_size > (1 << 20))
        return stl_fail(err, "model: output size %d out of range", output_size);
    int cap = MODEL_N_TOWERS * (PER_TOWER_PARAMS + PER_TOWER_STATS);
    t->e = calloc((size_t)cap, sizeof *t->e);
    if (!t->e) return stl_fail(err, "model: parameter table: out of memory");
    t->output_size = output_size;
    table_builder b = {t, 0, 0};
    for (int tw = 0; tw < MODEL_N_TOWERS; tw++) {
        int cin = 3;
        for (int blk = 0; blk < MODEL_N_BLOCKS; blk++) {
            int f = block_filters[blk];
            add_conv(&b, tw, 4 * blk, 3, cin, f);
            add_conv(&b, tw, 4 * blk + 1, 3, cin, f);
            add_bn(&b, tw, 3 * blk, f);
            add_conv(&b, tw, 4 * blk + 2, 1, f, f);
            add_bn(&b, tw, 3 * blk + 1, f);
            add_conv(&b, tw, 4 * blk + 3, 1, f, f);
            add_bn(&b, tw, 3 * blk + 2, f);
            cin = f;
        }
        add(&b, tw, 0, "Dense_0", "kernel", 2, cin, output_size, 0, 0);
        add(&b, tw, 0, "Dense_0", "bias", 1, output_size, 0, 0, 0);
    }
    for (int tw = 0; tw < MODEL_N_TOWERS; tw++) {
        for (int blk = 0; blk < MODEL_N_BLOCKS; blk++) {
            for (int j = 0; j < 3; j++) {
                char layer[32];
                snprintf(layer, sizeof layer, "BatchNorm_%d", 3 * blk + j);
                add(&b, tw, 1, layer, "mean", 1, block_filters[blk], 0, 0, 0);
                add(&b, tw, 1, layer, "var", 1, block_filters[blk], 0, 0, 0);
            }
        }
    }
    t->n_params = b.n_params;
    t->n_stats = b.n_stats;
    return 0;
}

void param_table_free(param_table *t) {
    free(t->e);
    memset(t, 0, sizeof *t);
}

const param_entry *param_table_find(const param_table *t, const char *name, int is_stat) {
    for (int i = 0; i < t->n; i++)
        if (t->e[i].is_stat == is_stat && strcmp(t->e[i].name, name) == 0) return &t->e[i];
    return NULL;
}

int model_state_alloc(model_state *m, int output_size, stl_error *err) {
    memset(m, 0, sizeof *m);
    if (param_table_init(&m->table, output_size, err) < 0) return -1;
    size_t np = m->table.n_params, ns = m->table.n_stats;
    m->params = calloc(4 * np, sizeof(float));
    m->stats = calloc(ns, sizeof(float));
    if (!m->params || !m->stats) {
        model_state_free(m);
        return stl_fail(err, "model: parameters: out of memory (%zu floats)", 4 * np + ns);
    }
    m->grads = m->params + np;
    m->adam_m = m->params + 2 * np;
    m->adam_v = m->params + 3 * np;
    for (int i = 0; i < m->table.n; i++) {
        const param_entry *e = &m->table.e[i];
        size_t len = strlen(e->name);
        if (e->is_stat && len >= 4 && strcmp(e->name + len - 4, "/var") == 0)
            for (size_t j = 0; j < e->count; j++) m->stats[e->offset + j] = 1.0f;
    }
    m->step = 0;
    return 0;
}

void model_state_free(model_state *m) {
    free(m->params);
    free(m->stats);
    param_table_free(&m->table);
    memset(m, 0, sizeof *m);
}
