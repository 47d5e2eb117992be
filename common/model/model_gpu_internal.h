/* model_gpu_internal.h — what the three files of the model's GPU backend
 * share, and nothing outside them uses: the backend's state (struct
 * model_gpu), a captured step's record, the KERNEL macro that runs one of
 * the backend's own kernels and turns its status into an stl_error, and
 * the step's pieces the files call across. model_gpu.c: creation, the
 * gradient step, graphs, embedding; model_gpu_step.c: the whole step with
 * the model kept in backend memory; model_gpu_images.c: the images kept or
 * staged there.
 */
#ifndef STL_MODEL_GPU_INTERNAL_H
#define STL_MODEL_GPU_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "model/gpu_backend.h"
#include "model/model.h"
#include "model/model_gpu.h"
#include "model/params.h"
#include "model/tower.h"
#include "model/tower_gpu.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { MODEL_GPU_MAX_BUFFERS = 24 };
/* Elements per block of the finiteness check's partials. */
enum { MODEL_GPU_FINITE_ROWS = 4096 };

/* A captured step and what is baked into it: its kernels' arguments, the
 * device collective it calls, and whether (and from where) it gathers its
 * images. */
typedef struct {
    void *graph;
    float reg;
    int denom;
    model_allreduce_device_fn dev_fn;
    void *dev_ctx;
    int gather;
    const uint8_t *pool;
} graph_slot;

struct model_gpu {
    gpu_backend be;
    const tower_shape *s;
    const param_table *t;
    int batch;
    size_t img_bytes;             /* one batch of images */
    size_t image_bytes;           /* one image (S * S * 3) */
    float *params, *wk, *grads, *gk, *stats;
    uint8_t *x[3];
    float *acts_mem;
    tower_acts acts[3];           /* scene, positives, negatives */
    float *demb;                  /* 3 * batch * out */
    double *terms, *loss;         /* 2 * batch; 1 */
    tower_gpu_scratch sc;
    graph_slot grads_graph;       /* the captured gradient step (backends that capture) */
    graph_slot full_graph;        /* and the whole step, Adam included */
    /* the whole step's state: Adam's moments, its hyperparameters (lr, c1,
     * c2), the finiteness partials and flag; the grads buffer has one more
     * float, the loss slot */
    float *mu, *nu, *hyper, *fpart;
    int *skip;
    long fblk;
    const model_state *bound;     /* whose parameters the device holds, */
    int64_t step;                 /* after how many steps, */
    int resident;                 /* when it holds them at all */
    uint8_t *pool;                /* images kept in backend memory (model_gpu_keep_images),
                                     or the slots batches are staged into (model_gpu_stream) */
    size_t pool_n;
    int slots;                    /* staging slots (0: the pool holds kept images) */
    uint32_t *idx;                /* a step's 3 * batch pool indices */
    uint32_t *idx_host;           /* and their host copy, uploaded in one piece */
    int gather;                   /* this step gathers its images from the pool */
    void *owned[MODEL_GPU_MAX_BUFFERS];
    int n_owned;
};

#define KERNEL(op, ...)                                                                     \
    do {                                                                                    \
        int rc_ = be->op(__VA_ARGS__, be->stream);                                          \
        if (rc_ != 0)                                                                       \
            return stl_fail(err, "model (%s): kernel %s: %s (%d)", be->name, #op,           \
                            be->kernel_error(rc_), rc_);                                    \
    } while (0)

/* Whether the backend holds m's parameters, moments and running averages
 * after m->step steps (newer than m's host arrays until a sync). */
static inline int model_gpu_holds(const model_gpu *g, const model_state *m) {
    return g->resident && g->bound == m && g->step == m->step;
}

typedef int (*step_fn)(model_gpu *g, float reg, int global_batch, const tower_collective *coll,
                       stl_error *err);

/* The parameters and running averages of m, into backend memory. */
int model_gpu_load_model(model_gpu *g, const model_state *m, stl_error *err);
/* The gradient step on the images and model already in backend memory:
 * nothing in it waits on the host unless a host collective is set. */
int model_gpu_step_body(model_gpu *g, float reg, int global_batch, const tower_collective *coll,
                        stl_error *err);
/* Whether steps run as captured graphs (model_gpu.c says when). */
int model_gpu_use_graph(const model_gpu *g, const tower_collective *coll);
/* body run as the graph in gs, captured when what it bakes in changed. */
int model_gpu_run_graph(model_gpu *g, graph_slot *gs, step_fn body, float reg, int global_batch,
                        const tower_collective *coll, stl_error *err);

#ifdef __cplusplus
}
#endif

#endif
