/* device.c — resolving --device for this build (see device.h). */
#include "base/device.h"

#include <string.h>

const char *device_name(device_kind kind) { return kind == DEVICE_CUDA ? "cuda" : "cpu"; }

int device_resolve(const char *requested, device_kind *out, stl_error *err) {
    if (strcmp(requested, "auto") == 0 || strcmp(requested, "cpu") == 0) {
        *out = DEVICE_CPU;
        return 0;
    }
    if (strcmp(requested, "cuda") == 0)
        return stl_fail(err, "--device cuda: this build has no CUDA path (build with CUDA=1 where "
                             "the CUDA toolkit is, or use --device cpu)");
    return stl_fail(err, "--device %s: unknown device (auto, cpu or cuda)", requested);
}
