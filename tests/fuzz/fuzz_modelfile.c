/* fuzz_modelfile.c — libFuzzer target for the model file reader (a Flax
 * TrainState in msgpack): modelfile_read_buffer on the bytes in memory, and
 * the result freed.
 */
#include <stdint.h>

#include "fuzz_util.h"
#include "formats/modelfile.h"
#include "model/params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    model_state m;
    stl_error err;
    if (modelfile_read_buffer(data, size, "fuzz", &m, &err) == 0) model_state_free(&m);
    return 0;
}
