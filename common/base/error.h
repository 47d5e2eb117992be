/* error.h — the error value every library function fills, and the exit-code contract.
 *
 * Library code never prints fatal errors and never exits: a function that fails
 * formats "what: why" into an stl_error and returns -1; `main` prints it as
 * "stl-<stage>: what: why" (log_error) and exits with one of STL_EXIT_*.
 */
#ifndef STL_ERROR_H
#define STL_ERROR_H

/* A function that does not return, in C11 and C++ alike. */
#ifdef __cplusplus
#define STL_NORETURN [[noreturn]]
#else
#define STL_NORETURN _Noreturn
#endif

#ifdef __cplusplus
extern "C" {
#endif

enum stl_exit {
    STL_EXIT_OK = 0,    /* success */
    STL_EXIT_FAIL = 1,  /* runtime or data error */
    STL_EXIT_USAGE = 2, /* bad command line */
};

typedef struct {
    char msg[768];
} stl_error;

/* Formats the message into err (if err is non-NULL) and returns -1, so a
 * failing function can end with `return stl_fail(err, "%s: %s", path, why);`. */
int stl_fail(stl_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefixes an existing message: "<prefix>: <old message>". Returns -1. */
int stl_fail_prefix(stl_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif

#endif
