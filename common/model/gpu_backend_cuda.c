/* gpu_backend_cuda.c — the device backend (gpu_backend_cuda.h): the table's
 * own-kernel entries are the launchers themselves; memory goes through the
 * CUDA runtime on the backend's stream, and the library entries through
 * gpu_lib. A download waits for the stream (the caller reads the bytes
 * next); so, for now, does an upload, so a host buffer can be reused as
 * soon as it returns.
 */
#include "model/gpu_backend_cuda.h"

#include <stdlib.h>

#include <cuda_runtime_api.h>

#include "model/gpu_lib.h"
#include "model/gpu_ops.h"
#include "model/gpu_step_ops.h"
#include "model/gpu_update_ops.h"

typedef struct {
    cudaStream_t stream;
    cudaStream_t copy_stream; /* upload_copy's, for the loader's thread */
    int device;               /* the device both were made on */
    gpu_lib *lib;
} cuda_ctx;

static int cuda_failed(cudaError_t e, const char *what, stl_error *err) {
    return stl_fail(err, "model (cuda): %s: %s (error %d)", what, cudaGetErrorString(e), (int)e);
}

static void *d_alloc(void *lib, size_t bytes, stl_error *err) {
    (void)lib;
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, bytes ? bytes : 1);
    if (e != cudaSuccess) {
        stl_fail(err, "model (cuda): cudaMalloc of %zu MiB: %s", bytes >> 20, cudaGetErrorString(e));
        return NULL;
    }
    return p;
}
static void d_release(void *lib, void *p) {
    (void)lib;
    cudaFree(p);
}
static int d_copy_wait(cuda_ctx *c, void *dst, const void *src, size_t bytes,
                       enum cudaMemcpyKind kind, const char *what, stl_error *err) {
    cudaError_t e = bytes ? cudaMemcpyAsync(dst, src, bytes, kind, c->stream) : cudaSuccess;
    if (e == cudaSuccess) e = cudaStreamSynchronize(c->stream);
    return e == cudaSuccess ? 0 : cuda_failed(e, what, err);
}
static int d_upload(void *lib, void *dst, const void *src, size_t bytes, stl_error *err) {
    return d_copy_wait(lib, dst, src, bytes, cudaMemcpyHostToDevice, "upload", err);
}
static int d_download(void *lib, void *dst, const void *src, size_t bytes, stl_error *err) {
    return d_copy_wait(lib, dst, src, bytes, cudaMemcpyDeviceToHost, "download", err);
}
static int d_zero(void *lib, void *dst, size_t bytes, stl_error *err) {
    cuda_ctx *c = lib;
    cudaError_t e = bytes ? cudaMemsetAsync(dst, 0, bytes, c->stream) : cudaSuccess;
    return e == cudaSuccess ? 0 : cuda_failed(e, "cudaMemsetAsync", err);
}
static int d_copy(void *lib, void *dst, const void *src, size_t bytes, stl_error *err) {
    cuda_ctx *c = lib;
    cudaError_t e =
        bytes ? cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, c->stream) : cudaSuccess;
    return e == cudaSuccess ? 0 : cuda_failed(e, "cudaMemcpyAsync", err);
}
static int d_mem_free(void *lib, size_t *bytes, stl_error *err) {
    (void)lib;
    size_t total = 0;
    cudaError_t e = cudaMemGetInfo(bytes, &total);
    return e == cudaSuccess ? 0 : cuda_failed(e, "cudaMemGetInfo", err);
}
static void *d_host_alloc(void *lib, size_t bytes, stl_error *err) {
    (void)lib;
    void *p = NULL;
    cudaError_t e = cudaHostAlloc(&p, bytes ? bytes : 1, cudaHostAllocPortable);
    if (e != cudaSuccess) {
        stl_fail(err, "model (cuda): cudaHostAlloc of %zu MiB: %s", bytes >> 20,
                 cudaGetErrorString(e));
        return NULL;
    }
    return p;
}
static void d_host_free(void *lib, void *p) {
    (void)lib;
    cudaFreeHost(p);
}
/* From any thread: the device is per thread, so set it first. */
static int d_upload_copy(void *lib, void *dst, const void *src, size_t bytes, stl_error *err) {
    cuda_ctx *c = lib;
    cudaError_t e = cudaSetDevice(c->device);
    if (e == cudaSuccess && bytes)
        e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, c->copy_stream);
    if (e == cudaSuccess) e = cudaStreamSynchronize(c->copy_stream);
    return e == cudaSuccess ? 0 : cuda_failed(e, "upload (copy stream)", err);
}
static const char *d_kernel_error(int code) {
    return code < 0 ? "arguments out of range" : cudaGetErrorString((cudaError_t)code);
}

static int d_gemm(void *lib, int ta, int tb, long m, long n, long k, const float *A,
                  const float *B, float beta, float *C, stl_error *err) {
    return gpu_lib_gemm(((cuda_ctx *)lib)->lib, ta, tb, m, n, k, A, B, beta, C, err);
}
static void *d_conv3_plan(void *lib, int B, int H, int W, int cin, int cout, stl_error *err) {
    return gpu_conv3_plan(((cuda_ctx *)lib)->lib, B, H, W, cin, cout, err);
}
static void d_conv3_free(void *plan) { gpu_conv3_free(plan); }
static int d_conv3_fwd(void *plan, const float *x, const float *w, float *y, stl_error *err) {
    return gpu_conv3_fwd(plan, x, w, y, err);
}
static int d_conv3_bwd_data(void *plan, const float *dy_a, const float *w_a, const float *dy_b,
                            const float *w_b, float *dx, stl_error *err) {
    return gpu_conv3_bwd_data(plan, dy_a, w_a, dy_b, w_b, dx, err);
}
static int d_conv3_bwd_filter(void *plan, const float *x, const float *dy_a, float *dw_a,
                              const float *dy_b, float *dw_b, float beta, stl_error *err) {
    return gpu_conv3_bwd_filter(plan, x, dy_a, dw_a, dy_b, dw_b, beta, err);
}

/* CUDA graphs: the stream's work captured (thread-local mode: other
 * threads' CUDA calls are not affected) and instantiated once. */
static int d_capture_begin(void *lib, stl_error *err) {
    cuda_ctx *c = lib;
    cudaError_t e = cudaStreamBeginCapture(c->stream, cudaStreamCaptureModeThreadLocal);
    return e == cudaSuccess ? 0 : cuda_failed(e, "cudaStreamBeginCapture", err);
}
static int d_capture_end(void *lib, void **graph, stl_error *err) {
    cuda_ctx *c = lib;
    cudaGraph_t g = NULL;
    cudaGraphExec_t x = NULL;
    cudaError_t e = cudaStreamEndCapture(c->stream, &g);
    if (e != cudaSuccess) return cuda_failed(e, "cudaStreamEndCapture", err);
    e = cudaGraphInstantiate(&x, g, 0);
    cudaGraphDestroy(g);
    if (e != cudaSuccess) return cuda_failed(e, "cudaGraphInstantiate", err);
    *graph = x;
    return 0;
}
static int d_graph_launch(void *lib, void *graph, stl_error *err) {
    cuda_ctx *c = lib;
    cudaError_t e = cudaGraphLaunch((cudaGraphExec_t)graph, c->stream);
    return e == cudaSuccess ? 0 : cuda_failed(e, "cudaGraphLaunch", err);
}
static void d_graph_free(void *lib, void *graph) {
    (void)lib;
    cudaGraphExecDestroy((cudaGraphExec_t)graph);
}

int gpu_backend_cuda_create(gpu_backend *be, int tf32, stl_error *err) {
    cuda_ctx *c = calloc(1, sizeof *c);
    if (!c) return stl_fail(err, "model (cuda): out of memory");
    cudaError_t e = cudaGetDevice(&c->device);
    if (e == cudaSuccess) e = cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking);
    if (e != cudaSuccess) {
        free(c);
        return cuda_failed(e, "cudaStreamCreate", err);
    }
    e = cudaStreamCreateWithFlags(&c->copy_stream, cudaStreamNonBlocking);
    if (e != cudaSuccess) {
        cudaStreamDestroy(c->stream);
        free(c);
        return cuda_failed(e, "cudaStreamCreate (copy stream)", err);
    }
    if (!(c->lib = gpu_lib_create(c->stream, tf32, err))) {
        cudaStreamDestroy(c->copy_stream);
        cudaStreamDestroy(c->stream);
        free(c);
        return -1;
    }
    *be = (gpu_backend){
        .name = "cuda",
        .stream = c->stream,
        .lib = c,
        .alloc = d_alloc,
        .release = d_release,
        .upload = d_upload,
        .download = d_download,
        .zero = d_zero,
        .copy = d_copy,
        .mem_free = d_mem_free,
        .host_alloc = d_host_alloc,
        .host_free = d_host_free,
        .upload_copy = d_upload_copy,
        .kernel_error = d_kernel_error,
        .pool_avg_bn_add_fwd = gpu_pool_avg_bn_add_fwd,
        .pool_avg_bwd = gpu_pool_avg_bwd,
        .pool_mean_fwd = gpu_pool_mean_fwd,
        .pool_mean_bwd = gpu_pool_mean_bwd,
        .bn_swish_fwd = gpu_bn_swish_fwd,
        .bn_swish_bwd = gpu_bn_swish_bwd,
        .bn_partials = gpu_bn_partials,
        .bn_stats = gpu_bn_stats,
        .bn_bwd_partials = gpu_bn_bwd_partials,
        .bn_bwd = gpu_bn_bwd,
        .triplet = gpu_triplet,
        .triplet_loss = gpu_triplet_loss,
        .conv0_pixels = gpu_conv0_pixels,
        .bn_running = gpu_bn_running,
        .bn_eval = gpu_bn_eval,
        .bn_sums_float = gpu_bn_sums_float,
        .bn_stats_float = gpu_bn_stats_float,
        .bn_bwd_sums = gpu_bn_bwd_sums,
        .colsum_partials = gpu_colsum_partials,
        .colsum_add = gpu_colsum_add,
        .bias_rows = gpu_bias_rows,
        .vec_mul = gpu_vec_mul,
        .gather_images = gpu_gather_images,
        .conv0_wgrad_partials = gpu_conv0_wgrad_partials,
        .krsc_from_hwio = gpu_krsc_from_hwio,
        .hwio_from_krsc = gpu_hwio_from_krsc,
        .loss_slot = gpu_loss_slot,
        .finite_partials = gpu_finite_partials,
        .finite_flag = gpu_finite_flag,
        .adam_gated = gpu_adam_gated,
        .gemm = d_gemm,
        .conv3_plan = d_conv3_plan,
        .conv3_free = d_conv3_free,
        .conv3_fwd = d_conv3_fwd,
        .conv3_bwd_data = d_conv3_bwd_data,
        .conv3_bwd_filter = d_conv3_bwd_filter,
        .capture_begin = d_capture_begin,
        .capture_end = d_capture_end,
        .graph_launch = d_graph_launch,
        .graph_free = d_graph_free,
    };
    return 0;
}

void gpu_backend_cuda_free(gpu_backend *be) {
    cuda_ctx *c = be->lib;
    if (!c) return;
    cudaStreamSynchronize(c->stream);
    cudaStreamSynchronize(c->copy_stream);
    gpu_lib_free(c->lib);
    cudaStreamDestroy(c->copy_stream);
    cudaStreamDestroy(c->stream);
    free(c);
    be->lib = NULL;
}
