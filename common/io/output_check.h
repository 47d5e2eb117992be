/* output_check.h — refusing an output path that would destroy an input or
 * cannot be written as a file, before any work is done.
 *
 * `stl-topk --out P --products P` used to replace its own input, and
 * `stl-embed --json P --out P` one output with the other; `stl-train --model
 * DIR` trained to the end and then failed. A stage lists its file outputs
 * and its inputs (by flag, for the message) and calls output_check first:
 * an output that is an existing directory, the same file as an input (same
 * device and inode, so another spelling of the path or a hard link counts),
 * or the same path as another output is a usage error naming both flags.
 */
#ifndef STL_OUTPUT_CHECK_H
#define STL_OUTPUT_CHECK_H

#include <stddef.h>

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *flag; /* "--out", for messages */
    const char *path; /* NULL: not given (skipped) */
} output_check_arg;

/* 0, or -1 with err (the caller exits 2). Inputs may be files or
 * directories; a comma-separated list of parts is checked part by part. */
int output_check(const output_check_arg *outputs, size_t n_outputs,
                 const output_check_arg *inputs, size_t n_inputs, stl_error *err);

#ifdef __cplusplus
}
#endif

#endif
