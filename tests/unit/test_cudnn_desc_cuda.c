/* test_cudnn_desc_cuda.c — cuDNN's descriptor arithmetic for the model's 3x3
 * stride-2 convolutions, without a GPU (CUDA build only; descriptors need no
 * cudnnHandle).
 *
 * For every crop size S that is a multiple of 32 from 32 to 512 and every
 * block of the tower (model/tower.h: its input size, channels and filters,
 * read from the model's own geometry), the input, filter and convolution
 * descriptors are built as the GPU path will build them — NHWC float,
 * cross-correlation, FMA math (no TF32), SAME's asymmetric padding as a
 * symmetric pad plus explicit extra rows and columns (gpu_math.h's
 * gm_same_cudnn_pad) — and cudnnGetConvolution2dForwardOutputDim must give
 * the CPU model's output size: batch, filters, Ho, Wo. What does need a GPU
 * (a handle, the algorithm heuristics) runs where there is one and otherwise
 * prints "skipped: no GPU" and counts nothing.
 */
#include <stdio.h>

#include <cudnn.h>

#include "check.h"
#include "model/gpu_math.h"
#include "model/params.h"
#include "model/tower.h"

enum { BATCH = 16 };

#define CUDNN_OK(call) (cudnn_ok((call), #call))
static int cudnn_ok(cudnnStatus_t st, const char *what) {
    if (st == CUDNN_STATUS_SUCCESS) return 1;
    fprintf(stderr, "%s: %s\n", what, cudnnGetErrorString(st));
    return 0;
}

static param_table table;

/* The descriptors of block b's 3x3 convolution for a batch; 1 on success. */
static int describe(const tower_block *b, cudnnTensorDescriptor_t x, cudnnFilterDescriptor_t w,
                    cudnnConvolutionDescriptor_t cv) {
    int sh, ebh, eah, sw, ebw, eaw;
    gm_same_cudnn_pad(b->h, 3, 2, &sh, &ebh, &eah);
    gm_same_cudnn_pad(b->w, 3, 2, &sw, &ebw, &eaw);
    return CUDNN_OK(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, BATCH,
                                               b->cin, ebh + b->h + eah, ebw + b->w + eaw)) &&
           CUDNN_OK(cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, b->f,
                                               b->cin, 3, 3)) &&
           CUDNN_OK(cudnnSetConvolution2dDescriptor(cv, sh, sw, 2, 2, 1, 1,
                                                    CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT)) &&
           CUDNN_OK(cudnnSetConvolutionMathType(cv, CUDNN_FMA_MATH));
}

/* One convolution's three descriptors, made and destroyed together. */
typedef struct {
    cudnnTensorDescriptor_t x;
    cudnnFilterDescriptor_t w;
    cudnnConvolutionDescriptor_t cv;
} conv_descs;
static void descs_create(conv_descs *d) {
    CHECK(CUDNN_OK(cudnnCreateTensorDescriptor(&d->x)));
    CHECK(CUDNN_OK(cudnnCreateFilterDescriptor(&d->w)));
    CHECK(CUDNN_OK(cudnnCreateConvolutionDescriptor(&d->cv)));
}
static void descs_destroy(conv_descs *d) {
    cudnnDestroyConvolutionDescriptor(d->cv);
    cudnnDestroyFilterDescriptor(d->w);
    cudnnDestroyTensorDescriptor(d->x);
}

static void test_output_dims_every_size(void) {
    conv_descs d;
    descs_create(&d);
    cudnnTensorDescriptor_t x = d.x;
    cudnnFilterDescriptor_t w = d.w;
    cudnnConvolutionDescriptor_t cv = d.cv;
    int checked = 0, sizes = 0;
    for (int S = 32; S <= 512; S += 32) {
        tower_shape s;
        stl_error err;
        if (tower_shape_init(&s, &table, S, &err) != 0) {
            fprintf(stderr, "S %d: %s\n", S, err.msg);
            CHECK(!"tower_shape_init");
            continue;
        }
        sizes++;
        for (int k = 0; k < MODEL_N_BLOCKS; k++) {
            const tower_block *b = &s.blk[k];
            int n = -1, c = -1, h = -1, wd = -1;
            if (!describe(b, x, w, cv) ||
                !CUDNN_OK(cudnnGetConvolution2dForwardOutputDim(cv, x, w, &n, &c, &h, &wd))) {
                CHECK(!"descriptors");
                continue;
            }
            if (n != BATCH || c != b->f || h != b->g.ho || wd != b->g.wo) {
                fprintf(stderr, "S %d block %d (%dx%dx%d -> %d): cuDNN %dx%dx%dx%d, CPU %dx%dx%dx%d\n",
                        S, k, b->h, b->w, b->cin, b->f, n, h, wd, c, BATCH, b->g.ho, b->g.wo, b->f);
                CHECK(!"output size");
            }
            /* the first window starts where SAME's does: -(sym + extra) */
            int sym, eb, ea;
            gm_same_cudnn_pad(b->h, 3, 2, &sym, &eb, &ea);
            CHECK_EQ_INT(sym + eb, b->g.pad_top);
            /* padding only, never a cropped input row */
            CHECK(sym >= 0 && eb >= 0 && ea >= 0);
            /* the math type stays FMA (no TF32 unless asked) */
            cudnnMathType_t mt;
            CHECK(CUDNN_OK(cudnnGetConvolutionMathType(cv, &mt)) && mt == CUDNN_FMA_MATH);
            checked++;
        }
        /* the tower's blocks chain: block k + 1's input is block k's pool */
        for (int k = 0; k + 1 < MODEL_N_BLOCKS; k++)
            CHECK(s.blk[k + 1].h == s.blk[k].hp && s.blk[k + 1].cin == s.blk[k].f);
    }
    CHECK_EQ_INT(sizes, 16);
    CHECK_EQ_INT(checked, 16 * MODEL_N_BLOCKS);
    printf("cuDNN %zu: output sizes of %d convolutions (S = 32..512) equal the CPU model's\n",
           cudnnGetVersion(), checked);
    descs_destroy(&d);
}

/* A symmetric pad of 1 without the explicit extra also gives SAME's output
 * size on even inputs, but windows shifted by one pixel: the sizes alone
 * cannot tell, which is why the plan above pads explicitly. This pins the
 * descriptor arithmetic the check above relies on. */
static void test_size_alone_is_not_alignment(void) {
    conv_descs d;
    descs_create(&d);
    cudnnTensorDescriptor_t x = d.x;
    cudnnFilterDescriptor_t w = d.w;
    cudnnConvolutionDescriptor_t cv = d.cv;
    int n, c, h, wd;
    CHECK(CUDNN_OK(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, 1, 16, 64, 64)));
    CHECK(CUDNN_OK(cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, 32, 16, 3, 3)));
    CHECK(CUDNN_OK(cudnnSetConvolution2dDescriptor(cv, 1, 1, 2, 2, 1, 1, CUDNN_CROSS_CORRELATION,
                                                   CUDNN_DATA_FLOAT)));
    CHECK(CUDNN_OK(cudnnGetConvolution2dForwardOutputDim(cv, x, w, &n, &c, &h, &wd)));
    CHECK(h == 32 && wd == 32 && c == 32);
    /* no padding at all is one short */
    CHECK(CUDNN_OK(cudnnSetConvolution2dDescriptor(cv, 0, 0, 2, 2, 1, 1, CUDNN_CROSS_CORRELATION,
                                                   CUDNN_DATA_FLOAT)));
    CHECK(CUDNN_OK(cudnnGetConvolution2dForwardOutputDim(cv, x, w, &n, &c, &h, &wd)));
    CHECK(h == 31 && wd == 31);
    descs_destroy(&d);
}

/* With a GPU: the heuristics offer a forward algorithm for every block at
 * S = 512 (run only where cudnnCreate succeeds; not yet run on a GPU). */
static cudnnHandle_t hd;
static void test_heuristics_gpu(void) {
    tower_shape s;
    stl_error err;
    CHECK(tower_shape_init(&s, &table, 512, &err) == 0);
    conv_descs d;
    descs_create(&d);
    cudnnTensorDescriptor_t x = d.x, y;
    cudnnFilterDescriptor_t w = d.w;
    cudnnConvolutionDescriptor_t cv = d.cv;
    CHECK(CUDNN_OK(cudnnCreateTensorDescriptor(&y)));
    for (int k = 0; k < MODEL_N_BLOCKS; k++) {
        int n, c, h, wd, got = 0;
        cudnnConvolutionFwdAlgoPerf_t perf[8];
        CHECK(describe(&s.blk[k], x, w, cv));
        CHECK(CUDNN_OK(cudnnGetConvolution2dForwardOutputDim(cv, x, w, &n, &c, &h, &wd)));
        CHECK(CUDNN_OK(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, n, c, h, wd)));
        CHECK(CUDNN_OK(cudnnGetConvolutionForwardAlgorithm_v7(hd, x, w, cv, y, 8, &got, perf)));
        CHECK(got >= 1);
    }
    cudnnDestroyTensorDescriptor(y);
    descs_destroy(&d);
}

int main(void) {
    stl_error err;
    if (param_table_init(&table, 64, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    RUN(test_output_dims_every_size);
    RUN(test_size_alone_is_not_alignment);
    cudnnStatus_t st = cudnnCreate(&hd);
    if (st == CUDNN_STATUS_SUCCESS) {
        RUN(test_heuristics_gpu);
        cudnnDestroy(hd);
    } else {
        printf("skipped: no GPU (cudnnCreate: %s): the algorithm heuristics not checked\n",
               cudnnGetErrorString(st));
    }
    param_table_free(&table);
    return check_summary();
}
