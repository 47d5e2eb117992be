/* log.c — stderr messages prefixed with the program name (see log.h).
 * The program name is the one piece of process-wide state: set once by main. */
#include "base/log.h"
#include "base/stdout_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static const char *log_prog = "stlrec";

void log_set_program(const char *name) {
    log_prog = name;
    stdout_check_at_exit();
}
const char *log_program(void) { return log_prog; }

int log_quiet(void) {
    const char *q = getenv("STL_QUIET");
    return q && *q && *q != '0';
}

void log_error(const stl_error *err) {
    fprintf(stderr, "%s: %s\n", log_prog, err->msg);
}

static void log_v(const char *fmt, va_list ap) {
    fprintf(stderr, "%s: ", log_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void log_errorf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    log_v(fmt, ap);
    va_end(ap);
}

void log_warn(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    log_v(fmt, ap);
    va_end(ap);
}

void log_info(const char *fmt, ...) {
    if (log_quiet()) return;
    va_list ap;
    va_start(ap, fmt);
    log_v(fmt, ap);
    va_end(ap);
}
