/* enospc.c — an LD_PRELOAD shim that fills the disk: writes fail with ENOSPC.
 *
 * For the disk-full tests (tests/stage/test_crash.sh): a stage run with
 *   LD_PRELOAD=$STL_BUILD/tools/libenospc.so STL_ENOSPC_AFTER=N [STL_ENOSPC_MATCH=S]
 * may write N bytes in all to the files it opens for writing whose path
 * contains S (every file opened for writing without STL_ENOSPC_MATCH); the
 * write that would go past N, and every later write, flush, fsync or close
 * of such a file, fails with ENOSPC, as on a full file system. Standard
 * output and error are not opened by the stage and are never touched.
 * Without STL_ENOSPC_AFTER the shim changes nothing. With STL_ENOSPC_COUNT=1
 * as well, it prints "libenospc: wrote N bytes" to standard error at exit
 * (how many bytes a clean run writes, to choose N).
 *
 * It wraps the calls the stages make (nm -D bin/stl-*): open, fopen, write,
 * fwrite, fputc, fputs, fprintf, vfprintf, fflush, fsync, fclose and close,
 * each forwarding to the next definition (dlsym RTLD_NEXT). glibc's stdio
 * writes through its own internal write, which no shim can see, so the
 * stdio calls are counted where they enter: fwrite of n bytes counts n,
 * the printf family counts the formatted length. Counters are atomic:
 * stl-decode writes shards from several threads. Built by the Makefile as
 * $(BUILD)/tools/libenospc.so (-shared -fPIC); it owns no memory.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define MAX_FD 4096

/* Per fd: 1 tracked (opened for writing, path matches), 2 tracked and full. */
static unsigned char fd_state[MAX_FD];
static uint64_t used;

static long long budget(void) {
    const char *v = getenv("STL_ENOSPC_AFTER");
    if (!v || !*v) return -1;
    return strtoll(v, NULL, 10);
}

static void *next_fn(const char *name) { return dlsym(RTLD_NEXT, name); }

static void track(int fd, const char *path, int flags) {
    if (fd < 0 || fd >= MAX_FD || budget() < 0) return;
    if ((flags & O_ACCMODE) == O_RDONLY) return;
    const char *m = getenv("STL_ENOSPC_MATCH");
    if (m && *m && (!path || !strstr(path, m))) return;
    __atomic_store_n(&fd_state[fd], 1, __ATOMIC_SEQ_CST);
}

static int state(int fd) {
    return fd >= 0 && fd < MAX_FD ? __atomic_load_n(&fd_state[fd], __ATOMIC_SEQ_CST) : 0;
}

/* 0 when n more bytes to fd fit (and counts them); -1 with errno ENOSPC. */
static int charge(int fd, size_t n) {
    int s = state(fd);
    if (s == 0) return 0;
    if (s == 2) {
        errno = ENOSPC;
        return -1;
    }
    uint64_t after = __atomic_add_fetch(&used, n, __ATOMIC_SEQ_CST);
    if (after <= (uint64_t)budget()) return 0;
    __atomic_store_n(&fd_state[fd], 2, __ATOMIC_SEQ_CST);
    fprintf(stderr, "libenospc: fd %d: no space left after %lld bytes\n", fd, budget());
    errno = ENOSPC;
    return -1;
}

/* A stream whose write failed reads as failed to ferror, as glibc's own. */
static void mark_error(FILE *f) {
#ifdef _IO_ERR_SEEN
    f->_flags |= _IO_ERR_SEEN;
#else
    (void)f;
#endif
}

static int stream_charge(FILE *f, size_t n) {
    if (charge(fileno(f), n) == 0) return 0;
    mark_error(f);
    return -1;
}

int open(const char *path, int flags, ...) {
    static int (*real)(const char *, int, ...);
    if (!real) real = (int (*)(const char *, int, ...))next_fn("open");
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    int fd = real(path, flags, mode);
    track(fd, path, flags);
    return fd;
}

FILE *fopen(const char *path, const char *how) {
    static FILE *(*real)(const char *, const char *);
    if (!real) real = (FILE * (*)(const char *, const char *)) next_fn("fopen");
    FILE *f = real(path, how);
    if (f && how && (strchr(how, 'w') || strchr(how, 'a') || strchr(how, '+')))
        track(fileno(f), path, O_WRONLY);
    return f;
}

ssize_t write(int fd, const void *buf, size_t n) {
    static ssize_t (*real)(int, const void *, size_t);
    if (!real) real = (ssize_t(*)(int, const void *, size_t))next_fn("write");
    if (charge(fd, n) != 0) return -1;
    return real(fd, buf, n);
}

size_t fwrite(const void *buf, size_t size, size_t n, FILE *f) {
    static size_t (*real)(const void *, size_t, size_t, FILE *);
    if (!real) real = (size_t(*)(const void *, size_t, size_t, FILE *))next_fn("fwrite");
    if (stream_charge(f, size * n) != 0) return 0;
    return real(buf, size, n, f);
}

int fputc(int c, FILE *f) {
    static int (*real)(int, FILE *);
    if (!real) real = (int (*)(int, FILE *))next_fn("fputc");
    if (stream_charge(f, 1) != 0) return EOF;
    return real(c, f);
}

int fputs(const char *s, FILE *f) {
    static int (*real)(const char *, FILE *);
    if (!real) real = (int (*)(const char *, FILE *))next_fn("fputs");
    if (stream_charge(f, strlen(s)) != 0) return EOF;
    return real(s, f);
}

int vfprintf(FILE *f, const char *fmt, va_list ap) {
    static int (*real)(FILE *, const char *, va_list);
    if (!real) real = (int (*)(FILE *, const char *, va_list))next_fn("vfprintf");
    if (state(fileno(f))) {
        va_list cp;
        va_copy(cp, ap);
        int n = vsnprintf(NULL, 0, fmt, cp);
        va_end(cp);
        if (n > 0 && stream_charge(f, (size_t)n) != 0) return -1;
    }
    return real(f, fmt, ap);
}

int fprintf(FILE *f, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int r = vfprintf(f, fmt, ap);
    va_end(ap);
    return r;
}

int fflush(FILE *f) {
    static int (*real)(FILE *);
    if (!real) real = (int (*)(FILE *))next_fn("fflush");
    if (f && state(fileno(f)) == 2) {
        mark_error(f);
        errno = ENOSPC;
        return EOF;
    }
    return real(f);
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))next_fn("fsync");
    if (state(fd) == 2) {
        errno = ENOSPC;
        return -1;
    }
    return real(fd);
}

int fclose(FILE *f) {
    static int (*real)(FILE *);
    if (!real) real = (int (*)(FILE *))next_fn("fclose");
    int fd = fileno(f), full = state(fd) == 2;
    if (fd >= 0 && fd < MAX_FD) __atomic_store_n(&fd_state[fd], 0, __ATOMIC_SEQ_CST);
    int r = real(f);
    if (full) {
        errno = ENOSPC;
        return EOF;
    }
    return r;
}

int close(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))next_fn("close");
    if (fd >= 0 && fd < MAX_FD) __atomic_store_n(&fd_state[fd], 0, __ATOMIC_SEQ_CST);
    return real(fd);
}

__attribute__((destructor)) static void report_count(void) {
    const char *v = getenv("STL_ENOSPC_COUNT");
    if (budget() >= 0 && v && strcmp(v, "1") == 0)
        fprintf(stderr, "libenospc: wrote %llu bytes\n",
                (unsigned long long)__atomic_load_n(&used, __ATOMIC_SEQ_CST));
}
