/* device.c — resolving --device for this build (see device.h). */
#include "base/device.h"

#include <string.h>

#if STL_CUDA
#include "base/device_cuda.h"
#endif

const char *device_name(device_kind kind) { return kind == DEVICE_CUDA ? "cuda" : "cpu"; }

int device_cuda_built(void) {
#if STL_CUDA
    return 1;
#else
    return 0;
#endif
}

static int fail(int *exit_code, int code) {
    *exit_code = code;
    return -1;
}

int device_resolve(const char *requested, device_kind *out, int *exit_code, stl_error *err) {
    *exit_code = STL_EXIT_OK;
    int is_auto = strcmp(requested, "auto") == 0, is_cuda = strcmp(requested, "cuda") == 0;
    if (strcmp(requested, "cpu") == 0) {
        *out = DEVICE_CPU;
        return 0;
    }
    if (!is_auto && !is_cuda) {
        stl_fail(err, "--device %s: unknown device (auto, cpu or cuda)", requested);
        return fail(exit_code, STL_EXIT_USAGE);
    }
#if STL_CUDA
    int count = 0;
    stl_error why;
    int have_gpu = device_cuda_probe(&count, &why) == 0;
    if (have_gpu) {
        *out = DEVICE_CUDA;
        return 0;
    }
    if (is_auto) {
        *out = DEVICE_CPU;
        return 0;
    }
    stl_fail(err, "--device cuda: no usable GPU (%s)", why.msg);
    (void)count;
    return fail(exit_code, STL_EXIT_FAIL);
#else
    if (is_auto) {
        *out = DEVICE_CPU;
        return 0;
    }
    stl_fail(err, "--device cuda: this build has no CUDA path (build with CUDA=1 where "
                  "the CUDA toolkit is, or use --device cpu)");
    return fail(exit_code, STL_EXIT_USAGE);
#endif
}

int device_select(device_kind kind, int local_rank, int *gpu, int *gpus, stl_error *err) {
    *gpu = -1;
    *gpus = 0;
#if STL_CUDA
    if (kind == DEVICE_CUDA)
        return device_cuda_probe(gpus, err) != 0 ? -1 : device_cuda_select(local_rank, gpu, err);
#else
    (void)local_rank;
    if (kind == DEVICE_CUDA) return stl_fail(err, "no CUDA path in this build");
#endif
    (void)err;
    return 0;
}
