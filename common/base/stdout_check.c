/* stdout_check.c — exit 1 when standard output could not be written
 * (stdout_check.h).
 */
#include "base/stdout_check.h"

#include <errno.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"

/* As gnulib's close_stream: an earlier write failed, or flushing or closing
 * failed for another reason than a descriptor that was closed before the
 * stage started while nothing was written (EBADF with nothing pending). */
static void check_stdout(void) {
    int pending = __fpending(stdout) != 0;
    int prev_fail = ferror(stdout) != 0;
    errno = 0;
    int flush_fail = fflush(stdout) != 0;
    int why = flush_fail ? errno : 0;
    errno = 0;
    int close_fail = fclose(stdout) != 0;
    if (!why) why = errno;
    if (!prev_fail && !(flush_fail && why != EBADF) &&
        !(close_fail && (pending || why != EBADF)))
        return;
    log_errorf("standard output: %s", why ? strerror(why) : "write error");
    _exit(STL_EXIT_FAIL);
}

void stdout_check_at_exit(void) {
    static int registered;
    if (registered) return;
    registered = 1;
    atexit(check_stdout);
}
