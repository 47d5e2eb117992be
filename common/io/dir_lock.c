/* dir_lock.c — an exclusive flock on DIR/lock (dir_lock.h). */
#include "io/dir_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int dir_lock_take(const char *dir, int *fd, stl_error *err) {
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/lock", dir) >= sizeof path)
        return stl_fail(err, "%s: path too long", dir);
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f < 0) return stl_fail(err, "%s: cannot open: %s", path, strerror(errno));
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        int why = errno;
        char pid[32] = "";
        ssize_t n = pread(f, pid, sizeof pid - 1, 0);
        close(f);
        if (why != EWOULDBLOCK) return stl_fail(err, "%s: cannot lock: %s", path, strerror(why));
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        return stl_fail(err, "%s is in use by another run (process %s); wait for it or use "
                        "another work directory", dir, pid[0] ? pid : "unknown");
    }
    char buf[32];
    int len = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(f, 0) != 0 || pwrite(f, buf, (size_t)len, 0) != len) {
        /* the lock holds without the pid; only the message would lack it */
    }
    *fd = f;
    return 0;
}

void dir_lock_release(int fd) {
    if (fd >= 0) close(fd);
}
