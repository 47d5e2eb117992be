/* params.h — the model's parameter table and its contiguous buffers.
 *
 * One static table (built for a given output size) lists every tensor of both
 * towers with its Flax name and shape: trainable parameters under "params"
 * (e.g. "scene_cnn/Conv_0/kernel", HWIO; "scene_cnn/BatchNorm_0/scale";
 * "scene_cnn/Dense_0/kernel", in x out) and batch statistics under
 * "batch_stats" ("scene_cnn/BatchNorm_0/mean", ".../var"). Per tower:
 * Conv_0..Conv_15 (in each block the residual 3x3 conv is created first),
 * BatchNorm_0..11, Dense_0: 247,856 parameters at output size 64.
 *
 * Params, grads and the two Adam moments are four float buffers of n_params
 * floats sharing the table's offsets (one allocation); the batch statistics
 * are one buffer of n_stats floats. Zeroing grads is one memset, Adam one
 * loop, the all-reduce one call, a checkpoint one pass over the table.
 * Tensors are found by name, never by a magic index.
 */
#ifndef STL_PARAMS_H
#define STL_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { MODEL_TOWER_SCENE = 0, MODEL_TOWER_PRODUCT = 1, MODEL_N_TOWERS = 2 };
enum { MODEL_N_BLOCKS = 4 };

/* The most channels any layer of the model may have: the per-channel
 * buffers of a tower (BatchNorm sums, scales, per-thread partial sums) are
 * sized by it. MODEL_FILTERS (model.h) is checked against it at compile
 * time; widening the model past it means raising it. */
enum { MODEL_MAX_CHANNELS = 256 };

typedef struct {
    char name[64];  /* "scene_cnn/Conv_0/kernel" (relative to params/ or batch_stats/) */
    int is_stat;    /* 0: params subtree, 1: batch_stats subtree */
    int tower;      /* MODEL_TOWER_* */
    int ndim;
    int shape[4];
    size_t offset;  /* in floats, into params (is_stat 0) or stats (is_stat 1) */
    size_t count;   /* product of shape */
} param_entry;

typedef struct {
    int output_size;
    int n;               /* entries */
    param_entry *e;      /* owned */
    size_t n_params;     /* trainable floats, both towers */
    size_t n_stats;      /* batch-statistic floats, both towers */
} param_table;

int param_table_init(param_table *t, int output_size, stl_error *err);
void param_table_free(param_table *t);
/* Entry by name in the params (is_stat 0) or batch_stats (is_stat 1) subtree. */
const param_entry *param_table_find(const param_table *t, const char *name, int is_stat);

/* Everything a training run carries between steps. */
typedef struct {
    param_table table;
    float *params;  /* n_params */
    float *grads;   /* n_params */
    float *adam_m;  /* n_params: optax mu */
    float *adam_v;  /* n_params: optax nu */
    float *stats;   /* n_stats: BatchNorm running mean / var */
    int64_t step;   /* TrainState.step == optax count */
} model_state;

/* Allocates the buffers (zeroed; stats var = 1) for output_size. */
int model_state_alloc(model_state *m, int output_size, stl_error *err);
void model_state_free(model_state *m);

#ifdef __cplusplus
}
#endif

#endif
