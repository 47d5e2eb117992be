/* checkpoint.h — stl-train's checkpoints: write, prune, find the newest valid.
 *
 * A checkpoint of step N is two files in the checkpoint directory:
 *   ckpt-NNNNNNNNNN.msgpack  the model file (modelfile.h: a Flax TrainState
 *                            with params, batch statistics, Adam moments and
 *                            step), loadable by Flax and by stl-embed;
 *   ckpt-NNNNNNNNNN.state    the training state ("stlrec-train-state" msgpack,
 *                            docs/formats.md "## Checkpoints"): the data
 *                            position and generator (loader_pos), seed, wall
 *                            time so far, the shapes the run was started with,
 *                            its configuration JSON, and the model file's
 *                            length and 64-bit hash.
 * Both are written atomically, model file first; the state file is the commit
 * record: a checkpoint exists once its state file does, and is valid when the
 * state file parses and the model file has the recorded length and hash and
 * reads back. A crash at any moment leaves the previous checkpoints intact and
 * at most a temporary file or a model file without its state (both removed by
 * the next prune). checkpoint_save keeps the newest `keep` checkpoints.
 */
#ifndef STL_CHECKPOINT_H
#define STL_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "train/loader.h"
#include "model/params.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CKPT_STATE_FORMAT "stlrec-train-state"
#define CKPT_STATE_VERSION 1u

typedef struct {
    int64_t step;       /* == the model's step */
    loader_pos pos;     /* where the data stream continues */
    uint64_t seed;
    double elapsed_s;   /* training wall time up to this step, over all runs */
    int output_size, image_size, global_batch, ranks, threads;
    uint64_t n_train;   /* training triplets of the run */
    char *config_json;  /* the run's configuration (owned; may be NULL) */
} checkpoint_state;

void checkpoint_state_free(checkpoint_state *s);

/* Writes checkpoint s->step of m into dir (created if needed), then keeps
 * only the newest `keep` (>= 1) checkpoints. */
int checkpoint_save(const char *dir, const model_state *m, const checkpoint_state *s, int keep,
              stl_error *err);

/* Loads checkpoint `step` (m allocated by the reader, like modelfile_read). */
int checkpoint_load(const char *dir, int64_t step, model_state *m, checkpoint_state *s, stl_error *err);

/* Steps of the checkpoints in dir (those with a state file), ascending
 * (malloc'd; *n 0 and *steps NULL when none or dir is absent). */
int checkpoint_list(const char *dir, int64_t **steps, size_t *n, stl_error *err);

/* Loads the newest valid checkpoint. Each newer one that fails to load is
 * reported with log_warn ("checkpoint …: <why>; using an older one").
 * Returns 1 when one was loaded (its step in s->step), 0 when dir holds no
 * checkpoint, -1 when it holds some but none is valid (err says why). */
int checkpoint_load_newest(const char *dir, model_state *m, checkpoint_state *s, stl_error *err);

/* "<dir>/ckpt-NNNNNNNNNN.msgpack" / ".state" into buf. */
void checkpoint_model_path(const char *dir, int64_t step, char *buf, size_t cap);
void checkpoint_state_path(const char *dir, int64_t step, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
