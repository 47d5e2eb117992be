/* log.h — messages on stderr in the one shape every stage uses.
 *
 * "stl-<stage>: <what>: <why>" for errors, "stl-<stage>: <text>" for
 * information and warnings. The program name is set once by main.
 * log_warn_limited() keeps a flood of per-record warnings readable: it prints
 * the first `limit` and counts the rest (the caller prints the summary).
 */
#ifndef STL_LOG_H
#define STL_LOG_H

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Also arranges that a failed write to standard output makes the stage exit
 * 1 (stdout_check.h): every stage main calls this first. */
void log_set_program(const char *name);
const char *log_program(void);

/* "prog: <err->msg>" */
void log_error(const stl_error *err);
/* "prog: <formatted>" */
void log_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* When STL_QUIET is set in the environment, log_info prints nothing. */
int log_quiet(void);

#ifdef __cplusplus
}
#endif

#endif
