/* fuzz_flaxmsg.c — libFuzzer target for Flax's ndarray encoding (flaxmsg.c).
 *
 * The input is unpacked (mpk_unpack_buffer) and walked: every ext object
 * anywhere in it (a bare one, or inside maps and arrays, as in a model
 * file) goes to flaxmsg_decode, whose result is checked and read to the end,
 * and every object to flaxmsg_get_count.
 */
#include <stdint.h>
#include <string.h>

#include "io/flaxmsg.h"
#include "fuzz_util.h"
#include "io/mpk.h"

static void walk(const msgpack_object *o, int depth) {
    stl_error err;
    int64_t count;
    flaxmsg_get_count(o, &count, "fuzz", &err);
    if (o->type == MSGPACK_OBJECT_EXT) {
        flaxmsg_array a;
        if (flaxmsg_decode(o, &a, "fuzz", &err) == 0) {
            if (a.nbytes != a.count * a.itemsize) abort();
            char shape[128];
            flaxmsg_shape_str(a.shape, a.ndim, shape, sizeof shape);
            unsigned char x = 0;
            for (size_t i = 0; i < a.nbytes; i++) x ^= a.data[i];
            (void)x;
        }
    }
    if (depth > 32) return;
    if (o->type == MSGPACK_OBJECT_ARRAY)
        for (uint32_t i = 0; i < o->via.array.size; i++) walk(&o->via.array.ptr[i], depth + 1);
    if (o->type == MSGPACK_OBJECT_MAP)
        for (uint32_t i = 0; i < o->via.map.size; i++) walk(&o->via.map.ptr[i].val, depth + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    msgpack_unpacked up;
    stl_error err;
    if (mpk_unpack_buffer(data, size, &up, "fuzz", &err) == 0) walk(&up.data, 0);
    msgpack_unpacked_destroy(&up);
    return 0;
}
