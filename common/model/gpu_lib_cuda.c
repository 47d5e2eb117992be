/* gpu_lib_cuda.c — gpu_lib.h through the C APIs of cuDNN (the legacy
 * convolution API), cuBLAS and the CUDA runtime. CUDA build only.
 *
 * Owns: a gpu_lib owns its cuDNN and cuBLAS handles and cuBLAS's workspace
 * (GPU_LIB_BLAS_WS bytes, the size NVIDIA recommends for Hopper); a
 * gpu_conv3 owns its descriptors, its cuDNN workspace (the largest of the
 * three chosen algorithms') and, when SAME needs explicit padding, the
 * padded copy of x (its border zeroed once at plan time: the calls rewrite
 * only the interior) and the padded dx that bwd_data crops from.
 *
 * The padded copy and the crop are one cudaMemcpy3DAsync each: images as
 * the depth, rows as the height, a row's W * cin floats as the width, the
 * padded side's pitch and position placing the interior.
 */
#include "model/gpu_lib.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "base/device_cuda.h"
#include "base/log.h"
#include "model/gpu_math.h"

enum { GPU_LIB_BLAS_WS = 32 << 20 };

struct gpu_lib {
    cudaStream_t stream;
    int tf32;
    cudnnHandle_t dnn;
    cublasHandle_t blas;
    void *blas_ws; /* GPU_LIB_BLAS_WS bytes */
};

struct gpu_conv3 {
    gpu_lib *L;
    int B, H, W, cin, cout;
    gpu_conv3_geom g;
    cudnnTensorDescriptor_t xd; /* (B, hp, wp, cin): x, or its padded copy */
    cudnnTensorDescriptor_t yd; /* (B, ho, wo, cout) */
    cudnnFilterDescriptor_t wd; /* KRSC (cout, 3, 3, cin) */
    /* one per direction: each carries its algorithm's math type */
    cudnnConvolutionDescriptor_t cv_fwd, cv_data, cv_filter;
    cudnnConvolutionFwdAlgo_t algo_fwd;
    cudnnConvolutionBwdDataAlgo_t algo_data;
    cudnnConvolutionBwdFilterAlgo_t algo_filter;
    void *ws;
    size_t ws_bytes;
    float *xp;  /* (B, hp, wp, cin), border zero; NULL when not padded */
    float *dxp; /* (B, hp, wp, cin), dx before the crop; NULL when not padded */
};

/* ---- errors: "<call>: <library's name and text>" ---- */

static int cuda_fail(stl_error *err, const char *what, cudaError_t e) {
    return stl_fail(err, "%s: error %d, %s: %s", what, (int)e, cudaGetErrorName(e),
                    cudaGetErrorString(e));
}
static int cudnn_fail(stl_error *err, const char *what, cudnnStatus_t s) {
    return stl_fail(err, "%s: %s", what, cudnnGetErrorString(s));
}
static int cublas_fail(stl_error *err, const char *what, cublasStatus_t s) {
    return stl_fail(err, "%s: %s: %s", what, cublasGetStatusName(s), cublasGetStatusString(s));
}
#define CUDA_TRY(call)                                                 \
    do {                                                               \
        cudaError_t e_ = (call);                                       \
        if (e_ != cudaSuccess) return cuda_fail(err, #call, e_);       \
    } while (0)
#define CUDNN_TRY(call)                                                \
    do {                                                               \
        cudnnStatus_t s_ = (call);                                     \
        if (s_ != CUDNN_STATUS_SUCCESS) return cudnn_fail(err, #call, s_); \
    } while (0)
#define CUBLAS_TRY(call)                                               \
    do {                                                               \
        cublasStatus_t s_ = (call);                                    \
        if (s_ != CUBLAS_STATUS_SUCCESS) return cublas_fail(err, #call, s_); \
    } while (0)

/* ---- the library ---- */

static int lib_init(gpu_lib *L, stl_error *err) {
    /* cuDNN 9 and cuBLAS 13 number versions major * 10000 + minor * 100 +
     * patch; a library of another major version than the headers is an
     * ABI mismatch (the bundle takes both from the GPU machine). */
    size_t dnn_v = cudnnGetVersion();
    if (dnn_v / 10000 != CUDNN_MAJOR)
        return stl_fail(err, "cudnnGetVersion: cuDNN %zu loaded, but built with cuDNN %d.%d",
                        dnn_v, CUDNN_MAJOR, CUDNN_MINOR);
    CUDNN_TRY(cudnnCreate(&L->dnn));
    CUDNN_TRY(cudnnSetStream(L->dnn, L->stream));
    CUBLAS_TRY(cublasCreate(&L->blas));
    int blas_v = 0;
    CUBLAS_TRY(cublasGetVersion(L->blas, &blas_v));
    if (blas_v / 10000 != CUBLAS_VER_MAJOR)
        return stl_fail(err, "cublasGetVersion: cuBLAS %d loaded, but built with cuBLAS %d.%d",
                        blas_v, CUBLAS_VER_MAJOR, CUBLAS_VER_MINOR);
    CUDA_TRY(cudaMalloc(&L->blas_ws, GPU_LIB_BLAS_WS));
    CUBLAS_TRY(cublasSetStream(L->blas, L->stream));
    /* after the stream: cublasSetStream resets the workspace to cuBLAS's
     * own pool, and a fixed workspace is what keeps GEMMs deterministic */
    CUBLAS_TRY(cublasSetWorkspace(L->blas, L->blas_ws, GPU_LIB_BLAS_WS));
    CUBLAS_TRY(cublasSetMathMode(L->blas, L->tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_PEDANTIC_MATH));
    CUBLAS_TRY(cublasSetAtomicsMode(L->blas, CUBLAS_ATOMICS_NOT_ALLOWED));
    CUBLAS_TRY(cublasSetPointerMode(L->blas, CUBLAS_POINTER_MODE_HOST));
    log_info("GPU libraries: cuDNN %zu (built with %d), cuBLAS %d (built with %d), %s math", dnn_v,
             CUDNN_VERSION, blas_v, CUBLAS_VERSION, L->tf32 ? "TF32 allowed" : "FMA (no TF32)");
    return 0;
}

gpu_lib *gpu_lib_create(void *stream, int tf32, stl_error *err) {
    int n = 0;
    if (device_cuda_probe(&n, err) != 0) {
        stl_fail_prefix(err, "gpu_lib_create");
        return NULL;
    }
    gpu_lib *L = calloc(1, sizeof *L);
    if (!L) {
        stl_fail(err, "gpu_lib_create: out of memory");
        return NULL;
    }
    L->stream = (cudaStream_t)stream;
    L->tf32 = tf32 != 0;
    if (lib_init(L, err) != 0) {
        stl_fail_prefix(err, "gpu_lib_create");
        gpu_lib_free(L);
        return NULL;
    }
    return L;
}

void gpu_lib_free(gpu_lib *L) {
    if (!L) return;
    if (L->blas) cublasDestroy(L->blas);
    if (L->dnn) cudnnDestroy(L->dnn);
    if (L->blas_ws) cudaFree(L->blas_ws);
    free(L);
}

/* Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: cuBLAS
 * gets B first, n x m, and a row-major matrix as its transpose, so an
 * untransposed row-major operand is CUBLAS_OP_N with its row length as the
 * leading dimension. */
int gpu_lib_gemm(gpu_lib *L, int ta, int tb, long m, long n, long k, const float *A,
                 const float *B, float beta, float *C, stl_error *err) {
    if (!L) return stl_fail(err, "gpu_lib_gemm: no library");
    if (m < 0 || n < 0 || k < 0 || m > INT_MAX || n > INT_MAX || k > INT_MAX)
        return stl_fail(err, "gpu_lib_gemm: sizes m %ld, n %ld, k %ld out of range", m, n, k);
    if (m == 0 || n == 0) return 0;
    const float one = 1.0f;
    int ldb = (int)(tb ? k : n), lda = (int)(ta ? m : k);
    if (ldb < 1) ldb = 1;
    if (lda < 1) lda = 1;
    CUBLAS_TRY(cublasSgemm(L->blas, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                           (int)n, (int)m, (int)k, &one, B, ldb, A, lda, &beta, C, (int)n));
    return 0;
}

/* ---- the convolution's geometry and descriptors ---- */

/* The descriptors of one direction, as every plan builds them. */
static int describe(const gpu_conv3_geom *g, int B, int cin, int cout, cudnnMathType_t math,
                    cudnnTensorDescriptor_t xd, cudnnFilterDescriptor_t wd,
                    cudnnConvolutionDescriptor_t cv, stl_error *err) {
    CUDNN_TRY(cudnnSetTensor4dDescriptor(xd, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, B, cin, g->hp, g->wp));
    CUDNN_TRY(cudnnSetFilter4dDescriptor(wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, cout, cin, 3, 3));
    CUDNN_TRY(cudnnSetConvolution2dDescriptor(cv, g->sym_h, g->sym_w, 2, 2, 1, 1,
                                              CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    CUDNN_TRY(cudnnSetConvolutionMathType(cv, math));
    return 0;
}
static int check_output(const gpu_conv3_geom *g, int B, int cout, cudnnTensorDescriptor_t xd,
                        cudnnFilterDescriptor_t wd, cudnnConvolutionDescriptor_t cv, stl_error *err) {
    int n = 0, c = 0, h = 0, w = 0;
    CUDNN_TRY(cudnnGetConvolution2dForwardOutputDim(cv, xd, wd, &n, &c, &h, &w));
    if (n != B || c != cout || h != g->ho || w != g->wo)
        return stl_fail(err, "cudnnGetConvolution2dForwardOutputDim: %d x %d x %d x %d, SAME's is %d x %d x %d x %d",
                        n, h, w, c, B, g->ho, g->wo, cout);
    return 0;
}

static void geom_fill(gpu_conv3_geom *g, int H, int W) {
    gm_same_cudnn_pad(H, 3, 2, &g->sym_h, &g->top, &g->bottom);
    gm_same_cudnn_pad(W, 3, 2, &g->sym_w, &g->left, &g->right);
    g->ho = gm_same_out(H, 2);
    g->wo = gm_same_out(W, 2);
    g->hp = g->top + H + g->bottom;
    g->wp = g->left + W + g->right;
    g->padded = g->top || g->bottom || g->left || g->right;
}

/* The descriptors with their handles, made and destroyed together. */
typedef struct {
    cudnnTensorDescriptor_t x;
    cudnnFilterDescriptor_t w;
    cudnnConvolutionDescriptor_t cv;
} probe_descs;
static int probe_check(const gpu_conv3_geom *g, int B, int cin, int cout, probe_descs *d,
                       stl_error *err) {
    CUDNN_TRY(cudnnCreateTensorDescriptor(&d->x));
    CUDNN_TRY(cudnnCreateFilterDescriptor(&d->w));
    CUDNN_TRY(cudnnCreateConvolutionDescriptor(&d->cv));
    if (describe(g, B, cin, cout, CUDNN_FMA_MATH, d->x, d->w, d->cv, err) != 0) return -1;
    return check_output(g, B, cout, d->x, d->w, d->cv, err);
}

int gpu_conv3_geom_init(gpu_conv3_geom *g, int B, int H, int W, int cin, int cout,
                        stl_error *err) {
    memset(g, 0, sizeof *g);
    if (B < 1 || H < 1 || W < 1 || cin < 1 || cout < 1)
        return stl_fail(err, "gpu_conv3: bad shape %d x %d x %d x %d -> %d", B, H, W, cin, cout);
    geom_fill(g, H, W);
    /* cuDNN's 4-d descriptors hold int strides: one tensor under 2^31
     * elements */
    if ((long)B * g->hp * g->wp * cin > INT_MAX || (long)B * g->ho * g->wo * cout > INT_MAX)
        return stl_fail(err, "gpu_conv3: shape %d x %d x %d x %d -> %d too large for cuDNN's 4-d descriptors",
                        B, H, W, cin, cout);
    probe_descs d = {0};
    int rc = probe_check(g, B, cin, cout, &d, err);
    if (d.cv) cudnnDestroyConvolutionDescriptor(d.cv);
    if (d.w) cudnnDestroyFilterDescriptor(d.w);
    if (d.x) cudnnDestroyTensorDescriptor(d.x);
    if (rc != 0) stl_fail_prefix(err, "gpu_conv3 %d x %d x %d x %d -> %d", B, H, W, cin, cout);
    return rc;
}

/* ---- choosing the algorithms ---- */

/* One offer of a heuristic, whatever the direction. */
typedef struct {
    int algo;
    cudnnStatus_t status;
    cudnnDeterminism_t determinism;
    cudnnMathType_t math;
    int transform; /* FFT or Winograd: error not bounded per element like a dot product's */
} algo_offer;

static const char *math_name(cudnnMathType_t m) {
    switch (m) {
    case CUDNN_DEFAULT_MATH: return "default";
    case CUDNN_TENSOR_OP_MATH: return "tensor-op";
    case CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION: return "tensor-op-conversion";
    case CUDNN_FMA_MATH: return "FMA";
    }
    return "?";
}
static const char *fwd_name(int a) {
    static const char *const n[] = {"IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT",
                                    "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
    return a >= 0 && a < (int)(sizeof n / sizeof *n) ? n[a] : "?";
}
static const char *data_name(int a) {
    static const char *const n[] = {"ALGO_0", "ALGO_1", "FFT", "FFT_TILING", "WINOGRAD",
                                    "WINOGRAD_NONFUSED"};
    return a >= 0 && a < (int)(sizeof n / sizeof *n) ? n[a] : "?";
}
static const char *filter_name(int a) {
    static const char *const n[] = {"ALGO_0", "ALGO_1", "FFT", "ALGO_3", "WINOGRAD",
                                    "WINOGRAD_NONFUSED", "FFT_TILING"};
    return a >= 0 && a < (int)(sizeof n / sizeof *n) ? n[a] : "?";
}

/* The first offer (the heuristics' order) that ran the heuristic's checks,
 * is deterministic, uses no transform, and whose math type tf32 allows
 * (tf32 = 0: CUDNN_FMA_MATH only; 1: anything but down-conversion); -1 with
 * err listing what was offered when none is. */
static int pick(const algo_offer *o, int n, int tf32, const char *dir,
                const char *(*name)(int), stl_error *err) {
    for (int i = 0; i < n; i++) {
        int math_ok = tf32 ? o[i].math != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION
                           : o[i].math == CUDNN_FMA_MATH;
        if (o[i].status == CUDNN_STATUS_SUCCESS && o[i].determinism == CUDNN_DETERMINISTIC &&
            !o[i].transform && math_ok)
            return i;
    }
    char list[512] = "";
    size_t len = 0;
    for (int i = 0; i < n && len < sizeof list; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s (%s, %s, %s)", i ? ", " : "",
                                name(o[i].algo), cudnnGetErrorString(o[i].status),
                                o[i].determinism == CUDNN_DETERMINISTIC ? "deterministic" : "non-deterministic",
                                math_name(o[i].math));
    stl_fail(err, "no deterministic %s algorithm with %s math among the %d the heuristics offer: %s",
             dir, tf32 ? "allowed" : "FMA", n, n ? list : "none");
    return -1;
}

/* The three directions of a 3x3 convolution, each planned on its own. */
typedef enum { DIR_FWD = 0, DIR_DATA = 1, DIR_FILTER = 2 } conv_dir;
enum { MAX_OFFERS = 16 }; /* cuDNN has at most 8 algorithms per direction */

/* An algorithm of the heuristics' "perf" result as an algo_offer; the
 * transform algorithms (FFT, Winograd) are told by their names' suffixes,
 * which every direction's enum shares. */
#define OFFER(p, FFT, FFT_TILING, WINOGRAD, WINOGRAD_NONFUSED)                                \
    (algo_offer) {                                                                           \
        (int)(p).algo, (p).status, (p).determinism, (p).mathType,                            \
            (p).algo == FFT || (p).algo == FFT_TILING || (p).algo == WINOGRAD ||              \
                (p).algo == WINOGRAD_NONFUSED                                                \
    }

/* The heuristics' offers for direction d, in their order (no benchmarking
 * Find: nothing runs). */
static int offers(gpu_conv3 *c, conv_dir d, algo_offer *o, int *got, stl_error *err) {
    gpu_lib *L = c->L;
    int max = MAX_OFFERS;
    *got = 0;
    if (d == DIR_FWD) {
        cudnnConvolutionFwdAlgoPerf_t p[MAX_OFFERS];
        CUDNN_TRY(cudnnGetConvolutionForwardAlgorithm_v7(L->dnn, c->xd, c->wd, c->cv_fwd, c->yd,
                                                         max, got, p));
        for (int i = 0; i < *got; i++)
            o[i] = OFFER(p[i], CUDNN_CONVOLUTION_FWD_ALGO_FFT, CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING,
                         CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD,
                         CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED);
    } else if (d == DIR_DATA) {
        cudnnConvolutionBwdDataAlgoPerf_t p[MAX_OFFERS];
        CUDNN_TRY(cudnnGetConvolutionBackwardDataAlgorithm_v7(L->dnn, c->wd, c->yd, c->cv_data,
                                                              c->xd, max, got, p));
        for (int i = 0; i < *got; i++)
            o[i] = OFFER(p[i], CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT,
                         CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING,
                         CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD,
                         CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED);
    } else {
        cudnnConvolutionBwdFilterAlgoPerf_t p[MAX_OFFERS];
        CUDNN_TRY(cudnnGetConvolutionBackwardFilterAlgorithm_v7(L->dnn, c->xd, c->yd, c->cv_filter,
                                                                c->wd, max, got, p));
        for (int i = 0; i < *got; i++)
            o[i] = OFFER(p[i], CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT,
                         CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING,
                         CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD,
                         CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED);
    }
    return 0;
}

/* Direction d's algorithm (pick), set to run with the math type it was
 * offered with. */
static int choose(gpu_conv3 *c, conv_dir d, stl_error *err) {
    static const char *const dir_name[] = {"forward", "backward-data", "backward-filter"};
    const char *(*const names[])(int) = {fwd_name, data_name, filter_name};
    cudnnConvolutionDescriptor_t cv[] = {c->cv_fwd, c->cv_data, c->cv_filter};
    algo_offer o[MAX_OFFERS];
    int got = 0;
    if (offers(c, d, o, &got, err) != 0) return -1;
    int i = pick(o, got, c->L->tf32, dir_name[d], names[d], err);
    if (i < 0) return -1;
    if (d == DIR_FWD) c->algo_fwd = (cudnnConvolutionFwdAlgo_t)o[i].algo;
    else if (d == DIR_DATA) c->algo_data = (cudnnConvolutionBwdDataAlgo_t)o[i].algo;
    else c->algo_filter = (cudnnConvolutionBwdFilterAlgo_t)o[i].algo;
    CUDNN_TRY(cudnnSetConvolutionMathType(cv[d], o[i].math));
    return 0;
}

/* ---- the plan ---- */

static int plan_init(gpu_conv3 *c, stl_error *err) {
    gpu_lib *L = c->L;
    const gpu_conv3_geom *g = &c->g;
    cudnnMathType_t math = L->tf32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH;
    CUDNN_TRY(cudnnCreateTensorDescriptor(&c->xd));
    CUDNN_TRY(cudnnCreateTensorDescriptor(&c->yd));
    CUDNN_TRY(cudnnCreateFilterDescriptor(&c->wd));
    CUDNN_TRY(cudnnCreateConvolutionDescriptor(&c->cv_fwd));
    CUDNN_TRY(cudnnCreateConvolutionDescriptor(&c->cv_data));
    CUDNN_TRY(cudnnCreateConvolutionDescriptor(&c->cv_filter));
    /* the tensor and filter descriptors are the same for the three */
    if (describe(g, c->B, c->cin, c->cout, math, c->xd, c->wd, c->cv_fwd, err) != 0 ||
        describe(g, c->B, c->cin, c->cout, math, c->xd, c->wd, c->cv_data, err) != 0 ||
        describe(g, c->B, c->cin, c->cout, math, c->xd, c->wd, c->cv_filter, err) != 0 ||
        check_output(g, c->B, c->cout, c->xd, c->wd, c->cv_fwd, err) != 0)
        return -1;
    CUDNN_TRY(cudnnSetTensor4dDescriptor(c->yd, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, c->B, c->cout,
                                         g->ho, g->wo));
    if (choose(c, DIR_FWD, err) != 0 || choose(c, DIR_DATA, err) != 0 ||
        choose(c, DIR_FILTER, err) != 0)
        return -1;
    size_t s_fwd = 0, s_data = 0, s_filter = 0;
    CUDNN_TRY(cudnnGetConvolutionForwardWorkspaceSize(L->dnn, c->xd, c->wd, c->cv_fwd, c->yd,
                                                      c->algo_fwd, &s_fwd));
    CUDNN_TRY(cudnnGetConvolutionBackwardDataWorkspaceSize(L->dnn, c->wd, c->yd, c->cv_data, c->xd,
                                                           c->algo_data, &s_data));
    CUDNN_TRY(cudnnGetConvolutionBackwardFilterWorkspaceSize(L->dnn, c->xd, c->yd, c->cv_filter,
                                                             c->wd, c->algo_filter, &s_filter));
    c->ws_bytes = s_fwd;
    if (s_data > c->ws_bytes) c->ws_bytes = s_data;
    if (s_filter > c->ws_bytes) c->ws_bytes = s_filter;
    if (c->ws_bytes) CUDA_TRY(cudaMalloc(&c->ws, c->ws_bytes));
    if (g->padded) {
        size_t bytes = (size_t)c->B * g->hp * g->wp * c->cin * sizeof(float);
        CUDA_TRY(cudaMalloc((void **)&c->xp, bytes));
        CUDA_TRY(cudaMalloc((void **)&c->dxp, bytes));
        /* the border stays zero: the calls rewrite only the interior */
        CUDA_TRY(cudaMemsetAsync(c->xp, 0, bytes, L->stream));
    }
    cudnnMathType_t m_fwd, m_data, m_filter;
    CUDNN_TRY(cudnnGetConvolutionMathType(c->cv_fwd, &m_fwd));
    CUDNN_TRY(cudnnGetConvolutionMathType(c->cv_data, &m_data));
    CUDNN_TRY(cudnnGetConvolutionMathType(c->cv_filter, &m_filter));
    log_info("gpu_conv3 %d x %d x %d x %d -> %d: forward %s (%s), backward data %s (%s), "
             "backward filter %s (%s), deterministic; workspace %zu bytes%s",
             c->B, c->H, c->W, c->cin, c->cout, fwd_name(c->algo_fwd), math_name(m_fwd),
             data_name(c->algo_data), math_name(m_data), filter_name(c->algo_filter),
             math_name(m_filter), c->ws_bytes, g->padded ? ", padded copy" : "");
    return 0;
}

gpu_conv3 *gpu_conv3_plan(gpu_lib *L, int B, int H, int W, int cin, int cout, stl_error *err) {
    if (!L) {
        stl_fail(err, "gpu_conv3_plan: no library");
        return NULL;
    }
    gpu_conv3 *c = calloc(1, sizeof *c);
    if (!c) {
        stl_fail(err, "gpu_conv3_plan: out of memory");
        return NULL;
    }
    c->L = L;
    c->B = B, c->H = H, c->W = W, c->cin = cin, c->cout = cout;
    if (gpu_conv3_geom_init(&c->g, B, H, W, cin, cout, err) != 0) {
        free(c);
        return NULL;
    }
    if (plan_init(c, err) != 0) {
        stl_fail_prefix(err, "gpu_conv3_plan %d x %d x %d x %d -> %d", B, H, W, cin, cout);
        gpu_conv3_free(c);
        return NULL;
    }
    return c;
}

void gpu_conv3_free(gpu_conv3 *c) {
    if (!c) return;
    if (c->cv_filter) cudnnDestroyConvolutionDescriptor(c->cv_filter);
    if (c->cv_data) cudnnDestroyConvolutionDescriptor(c->cv_data);
    if (c->cv_fwd) cudnnDestroyConvolutionDescriptor(c->cv_fwd);
    if (c->wd) cudnnDestroyFilterDescriptor(c->wd);
    if (c->yd) cudnnDestroyTensorDescriptor(c->yd);
    if (c->xd) cudnnDestroyTensorDescriptor(c->xd);
    if (c->ws) cudaFree(c->ws);
    if (c->xp) cudaFree(c->xp);
    if (c->dxp) cudaFree(c->dxp);
    free(c);
}

/* ---- the calls ---- */

/* Copies the (B, H, W, cin) interior between x-shaped memory and the padded
 * (B, hp, wp, cin) buffer: to_padded 1 pads (src x-shaped, dst padded), 0
 * crops (src padded, dst x-shaped). */
static int copy_interior(gpu_conv3 *c, const void *src, void *dst, int to_padded, stl_error *err) {
    const gpu_conv3_geom *g = &c->g;
    size_t row = (size_t)c->W * c->cin * sizeof(float);
    size_t prow = (size_t)g->wp * c->cin * sizeof(float);
    struct cudaPos origin = {0, 0, 0};
    struct cudaPos interior = {(size_t)g->left * c->cin * sizeof(float), (size_t)g->top, 0};
    struct cudaMemcpy3DParms p;
    memset(&p, 0, sizeof p);
    /* cudaPitchedPtr's pointer is not const; the source is only read */
    p.srcPtr = (struct cudaPitchedPtr){(void *)src, to_padded ? row : prow, to_padded ? row : prow,
                                       to_padded ? (size_t)c->H : (size_t)g->hp};
    p.srcPos = to_padded ? origin : interior;
    p.dstPtr = (struct cudaPitchedPtr){dst, to_padded ? prow : row, to_padded ? prow : row,
                                       to_padded ? (size_t)g->hp : (size_t)c->H};
    p.dstPos = to_padded ? interior : origin;
    p.extent = (struct cudaExtent){row, (size_t)c->H, (size_t)c->B};
    p.kind = cudaMemcpyDeviceToDevice;
    CUDA_TRY(cudaMemcpy3DAsync(&p, c->L->stream));
    return 0;
}

int gpu_conv3_fwd(gpu_conv3 *c, const float *x, const float *w, float *y, stl_error *err) {
    if (!c || !x || !w || !y) return stl_fail(err, "gpu_conv3_fwd: no plan or a NULL tensor");
    const float one = 1.0f, zero = 0.0f;
    const float *in = x;
    if (c->xp) {
        if (copy_interior(c, x, c->xp, 1, err) != 0) return stl_fail_prefix(err, "gpu_conv3_fwd");
        in = c->xp;
    }
    cudnnStatus_t s = cudnnConvolutionForward(c->L->dnn, &one, c->xd, in, c->wd, w, c->cv_fwd,
                                              c->algo_fwd, c->ws, c->ws_bytes, &zero, c->yd, y);
    if (s != CUDNN_STATUS_SUCCESS) return cudnn_fail(err, "gpu_conv3_fwd: cudnnConvolutionForward", s);
    return 0;
}

int gpu_conv3_bwd_data(gpu_conv3 *c, const float *dy_a, const float *w_a, const float *dy_b,
                       const float *w_b, float *dx, stl_error *err) {
    if (!c || !dy_a || !w_a || !dx || (dy_b && !w_b))
        return stl_fail(err, "gpu_conv3_bwd_data: no plan or a NULL tensor");
    const float one = 1.0f, zero = 0.0f;
    float *out = c->dxp ? c->dxp : dx;
    cudnnStatus_t s = cudnnConvolutionBackwardData(c->L->dnn, &one, c->wd, w_a, c->yd, dy_a, c->cv_data,
                                                   c->algo_data, c->ws, c->ws_bytes, &zero, c->xd, out);
    if (s == CUDNN_STATUS_SUCCESS && dy_b)
        s = cudnnConvolutionBackwardData(c->L->dnn, &one, c->wd, w_b, c->yd, dy_b, c->cv_data,
                                         c->algo_data, c->ws, c->ws_bytes, &one, c->xd, out);
    if (s != CUDNN_STATUS_SUCCESS)
        return cudnn_fail(err, "gpu_conv3_bwd_data: cudnnConvolutionBackwardData", s);
    if (c->dxp && copy_interior(c, c->dxp, dx, 0, err) != 0)
        return stl_fail_prefix(err, "gpu_conv3_bwd_data");
    return 0;
}

int gpu_conv3_bwd_filter(gpu_conv3 *c, const float *x, const float *dy_a, float *dw_a,
                         const float *dy_b, float *dw_b, float beta, stl_error *err) {
    if (!c || !x || !dy_a || !dw_a || (dy_b && !dw_b))
        return stl_fail(err, "gpu_conv3_bwd_filter: no plan or a NULL tensor");
    const float one = 1.0f;
    const float *in = x;
    if (c->xp) {
        if (copy_interior(c, x, c->xp, 1, err) != 0) return stl_fail_prefix(err, "gpu_conv3_bwd_filter");
        in = c->xp;
    }
    cudnnStatus_t s = cudnnConvolutionBackwardFilter(c->L->dnn, &one, c->xd, in, c->yd, dy_a, c->cv_filter,
                                                     c->algo_filter, c->ws, c->ws_bytes, &beta, c->wd, dw_a);
    if (s == CUDNN_STATUS_SUCCESS && dy_b)
        s = cudnnConvolutionBackwardFilter(c->L->dnn, &one, c->xd, in, c->yd, dy_b, c->cv_filter,
                                           c->algo_filter, c->ws, c->ws_bytes, &beta, c->wd, dw_b);
    if (s != CUDNN_STATUS_SUCCESS)
        return cudnn_fail(err, "gpu_conv3_bwd_filter: cudnnConvolutionBackwardFilter", s);
    return 0;
}
