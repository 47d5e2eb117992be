/* input_file.c — opening an input without ever blocking on a FIFO
 * (input_file.h).
 */
#include "io/input_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static const char *kind_of(mode_t m) {
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    return "not a plain file";
}

int input_open(const char *path, struct stat *st, stl_error *err) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        stl_fail(err, "%s: cannot open: %s", path, strerror(e));
        errno = e;
        return INPUT_OPEN_FAILED;
    }
    struct stat s;
    if (fstat(fd, &s) != 0) {
        int e = errno;
        close(fd);
        stl_fail(err, "%s: cannot stat: %s", path, strerror(e));
        errno = e;
        return INPUT_OPEN_FAILED;
    }
    if (!S_ISREG(s.st_mode)) {
        close(fd);
        stl_fail(err, "%s: not a regular file (%s)", path, kind_of(s.st_mode));
        errno = EINVAL;
        return INPUT_NOT_REGULAR;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    if (st) *st = s;
    return fd;
}

FILE *input_fopen(const char *path, stl_error *err) {
    int fd = input_open(path, NULL, err);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        int e = errno;
        close(fd);
        stl_fail(err, "%s: cannot open: %s", path, strerror(e));
        errno = e;
    }
    return f;
}
