/* input_file.h — the one way a reader opens an input file.
 *
 * A FIFO, a terminal or a device named as an input used to block a stage
 * forever: open(2) of a FIFO waits for a writer, and so does a read of one.
 * input_open opens with O_NONBLOCK (so opening never waits), checks with
 * fstat that the file is a regular file, and only then clears O_NONBLOCK;
 * anything else is refused with "PATH: not a regular file (a FIFO)" and the
 * like. Every reader of stlrec files, JSON, key lists and images opens its
 * input here.
 */
#ifndef STL_INPUT_FILE_H
#define STL_INPUT_FILE_H

#include <stdio.h>
#include <sys/stat.h>

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { INPUT_OPEN_FAILED = -1, INPUT_NOT_REGULAR = -2 };

/* A read-only descriptor of the regular file at path, with its stat in *st
 * (may be NULL); or INPUT_OPEN_FAILED (errno from open, err "PATH: cannot
 * open: why") or INPUT_NOT_REGULAR (err "PATH: not a regular file (a
 * directory)"). */
int input_open(const char *path, struct stat *st, stl_error *err);

/* The same as a stdio stream ("rb"), or NULL with err. */
FILE *input_fopen(const char *path, stl_error *err);

#ifdef __cplusplus
}
#endif

#endif
