/* error.c — formatting of stl_error messages (see error.h). */
#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int stl_fail(stl_error *err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int stl_fail_prefix(stl_error *err, const char *fmt, ...) {
    if (err) {
        char old[sizeof err->msg];
        memcpy(old, err->msg, sizeof old);
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        size_t used = n < 0 ? 0 : (size_t)n;
        if (used + 2 < sizeof err->msg) {
            memcpy(err->msg + used, ": ", 2);
            size_t room = sizeof err->msg - used - 2;
            size_t len = strnlen(old, room - 1);
            memcpy(err->msg + used + 2, old, len);
            err->msg[used + 2 + len] = '\0';
        }
    }
    return -1;
}
