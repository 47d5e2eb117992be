/* tower.c — the backend-neutral part of one tower (tower.h): the layer
 * geometry and where each parameter lives, from the parameter table, and the
 * layout of a tower call's activations in one allocation. The CPU passes are
 * in tower_cpu.c; a GPU twin reuses this file unchanged.
 */
#include "model/tower.h"

#include <stdio.h>
#include <string.h>

static const int filters[MODEL_N_BLOCKS] = MODEL_FILTERS;
_Static_assert(MODEL_N_BLOCKS == 4, "MODEL_FILTERS names one count per block");
#define FITS(f) ((int)(f) <= (int)MODEL_MAX_CHANNELS)
_Static_assert(FITS(MODEL_FILTERS_0) && FITS(MODEL_FILTERS_1) && FITS(MODEL_FILTERS_2) &&
                   FITS(MODEL_FILTERS_3),
               "a block wider than MODEL_MAX_CHANNELS overflows the tower's per-channel buffers");
#undef FITS

static int find(const param_table *t, int tower, const char *layer, const char *leaf,
                int is_stat, size_t *off, stl_error *err) {
    static const char *const tn[MODEL_N_TOWERS] = {"scene_cnn", "product_cnn"};
    char name[96];
    snprintf(name, sizeof name, "%s/%s/%s", tn[tower], layer, leaf);
    const param_entry *e = param_table_find(t, name, is_stat);
    if (!e) return stl_fail(err, "model: parameter table has no %s", name);
    *off = e->offset;
    return 0;
}

int tower_shape_init(tower_shape *s, const param_table *t, int size, stl_error *err) {
    memset(s, 0, sizeof *s);
    if (size < 32 || size % 32) return stl_fail(err, "model: image size %d is not a positive multiple of 32", size);
    s->size = size;
    s->out = t->output_size;
    int h = size, cin = 3;
    for (int k = 0; k < MODEL_N_BLOCKS; k++) {
        tower_block *b = &s->blk[k];
        b->h = b->w = h;
        b->cin = cin;
        b->f = filters[k];
        conv_geom_init(&b->g, h, h, cin, 3, 2);
        b->hp = conv_same_out(b->g.ho, 2);
        b->wp = conv_same_out(b->g.wo, 2);
        b->px_out = (long)b->g.ho * b->g.wo;
        b->px_pool = (long)b->hp * b->wp;
        for (int tw = 0; tw < MODEL_N_TOWERS; tw++) {
            char l[32];
            int bad = 0;
#define F(idx, leaf, dst) (snprintf(l, sizeof l, "Conv_%d", 4 * k + (idx)), bad |= find(t, tw, l, leaf, 0, dst, err))
            F(0, "kernel", &b->wr[tw]);
            F(0, "bias", &b->br[tw]);
            F(1, "kernel", &b->w1[tw]);
            F(1, "bias", &b->b1[tw]);
            F(2, "kernel", &b->w2[tw]);
            F(2, "bias", &b->b2[tw]);
            F(3, "kernel", &b->w3[tw]);
            F(3, "bias", &b->b3[tw]);
#undef F
            for (int j = 0; j < 3; j++) {
                snprintf(l, sizeof l, "BatchNorm_%d", 3 * k + j);
                bad |= find(t, tw, l, "scale", 0, &b->scale[tw][j], err);
                bad |= find(t, tw, l, "mean", 1, &b->mean[tw][j], err);
                bad |= find(t, tw, l, "var", 1, &b->var[tw][j], err);
            }
            if (bad) return -1;
        }
        if (b->px_out * b->g.kdim > s->max_rows_k) s->max_rows_k = b->px_out * b->g.kdim;
        if (b->px_out * b->f > s->max_rows_f) s->max_rows_f = b->px_out * b->f;
        if ((long)h * h * cin > s->max_in) s->max_in = (long)h * h * cin;
        int kn = b->g.kdim * b->f + b->f;
        if (kn > s->max_kn) s->max_kn = kn;
        h = b->hp;
        cin = b->f;
    }
    s->feat_dim = cin;
    s->feat_hw = (long)h * h;
    if (cin * s->out + s->out > s->max_kn) s->max_kn = cin * s->out + s->out;
    for (int tw = 0; tw < MODEL_N_TOWERS; tw++) {
        if (find(t, tw, "Dense_0", "kernel", 0, &s->wd[tw], err) < 0) return -1;
        if (find(t, tw, "Dense_0", "bias", 0, &s->bd[tw], err) < 0) return -1;
    }
    return 0;
}



static size_t acts_walk(const tower_shape *s, int nb, float *base, tower_acts *a) {
    size_t off = 0;
#define TAKE(ptr, n) do { if (a) (ptr) = base + off; off += tower_align(n); } while (0)
    for (int k = 0; k < MODEL_N_BLOCKS; k++) {
        const tower_block *b = &s->blk[k];
        size_t mf = (size_t)nb * b->px_out * b->f;
        TAKE(a->r[k], mf);
        TAKE(a->a1[k], mf);
        TAKE(a->a2[k], mf);
        TAKE(a->a3[k], mf);
        TAKE(a->pooled[k], (size_t)nb * b->px_pool * b->f);
        for (int j = 0; j < 3; j++) {
            TAKE(a->mean[k][j], b->f);
            TAKE(a->var[k][j], b->f);
            TAKE(a->invstd[k][j], b->f);
        }
    }
    TAKE(a->feat, (size_t)nb * s->feat_dim);
    TAKE(a->emb, (size_t)nb * s->out);
#undef TAKE
    if (a) a->nb = nb;
    return off;
}

size_t tower_acts_size(const tower_shape *s, int nb) { return acts_walk(s, nb, NULL, NULL); }
void tower_acts_carve(const tower_shape *s, int nb, float *base, tower_acts *a) {
    memset(a, 0, sizeof *a);
    acts_walk(s, nb, base, a);
}
