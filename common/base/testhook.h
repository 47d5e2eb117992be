/* testhook.h — deliberate crashes at named points, for the robustness tests.
 *
 * When the environment holds STL_TEST_DIE_AT=<point>:<step> and the code
 * reaches testhook_point(point, step) with that point and step, the process
 * kills itself with SIGKILL on the spot (no atexit, no flush, no cleanup:
 * exactly what `kill -9` does, but at a reproducible moment). Points used by
 * stl-train (docs/training.md): "step" (after step N's update), "checkpoint-
 * write" (half-way through writing checkpoint N's model file), "checkpoint-
 * commit" (checkpoint N's model file in place, its state record not yet),
 * "metrics" (half-way through a metrics line of step N). Points of every
 * writing stage (io/atomic.h), N counting the files committed: "atomic-
 * commit" (file N's temporary partly written) and "atomic-rename" (file N
 * in place under its final name, later files not). Unset: no effect.
 * testhook_at(var, step) is the same idea for hooks that do something else
 * than die: it is 1 when the environment variable `var` holds `step`
 * (stl-train: STL_TEST_NAN_AT poisons one gradient element of that step with NaN;
 * STL_TEST_PERTURB changes a parameter on the last rank after that step).
 * Also (common/model/model.c): STL_TEST_GPU_BACKEND=host makes a CPU
 * workspace compute through the GPU path on the host backend.
 * These are test hooks, not features: nothing else reads the variables.
 */
#ifndef STL_TESTHOOK_H
#define STL_TESTHOOK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Dies (SIGKILL) when STL_TEST_DIE_AT names (point, step); else returns. */
void testhook_point(const char *point, int64_t step);

/* 1 when STL_TEST_DIE_AT names (point, step) (the caller prepares, e.g.
 * writes half a file, then calls testhook_point). */
int testhook_armed(const char *point, int64_t step);

/* 1 when getenv(var) is the decimal `step`. */
int testhook_at(const char *var, int64_t step);

#ifdef __cplusplus
}
#endif

#endif
