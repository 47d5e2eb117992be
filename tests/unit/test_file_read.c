/* test_file_read.c — the one whole-file reader (common/io/file_read.h):
 * exact contents with a NUL after them, files larger than the first buffer,
 * the size limit, a missing file (errno ENOENT), an empty file, a directory,
 * and a reused buffer; and the one input opener under it (FIFOs, devices and
 * directories refused without blocking). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "check_files.h"
#include "io/file_read.h"
#include "io/input_file.h"

static char dir[128];

static void test_contents(void) {
    /* 200,001 bytes: larger than the first 64 KiB buffer, not a power of 2 */
    size_t n = 200001;
    unsigned char *want = malloc(n);
    for (size_t i = 0; i < n; i++) want[i] = (unsigned char)(i * 131u + 7u);
    check_spill(check_path(dir, "big"), want, n);
    char *got = NULL;
    size_t len = 0;
    stl_error err = {{0}};
    CHECK(file_read_all(check_path(dir, "big"), 0, &got, &len, &err) == 0);
    CHECK_EQ_INT(len, n);
    CHECK(got && memcmp(got, want, n) == 0);
    CHECK(got && got[n] == '\0');
    free(got);
    free(want);
}

static void test_limit(void) {
    check_spill(check_path(dir, "ten"), "0123456789", 10);
    char *got = NULL;
    size_t len = 0;
    stl_error err = {{0}};
    CHECK(file_read_all(check_path(dir, "ten"), 10, &got, &len, &err) == 0);
    CHECK(got && strcmp(got, "0123456789") == 0);
    free(got);
    got = (char *)1;
    CHECK(file_read_all(check_path(dir, "ten"), 9, &got, &len, &err) == -1);
    CHECK(got == NULL);
    CHECK(strstr(err.msg, "ten: larger than 9 bytes") != NULL);
}

static void test_missing_and_odd(void) {
    char *got = NULL;
    size_t len = 0;
    stl_error err = {{0}};
    errno = 0;
    CHECK(file_read_all(check_path(dir, "absent"), 0, &got, &len, &err) == -1);
    CHECK_EQ_INT(errno, ENOENT);
    CHECK(strstr(err.msg, "absent: cannot open: ") != NULL);
    check_spill(check_path(dir, "empty"), "", 0);
    CHECK(file_read_all(check_path(dir, "empty"), 0, &got, &len, &err) == 0);
    CHECK_EQ_INT(len, 0);
    CHECK(got && got[0] == '\0');
    free(got);
    /* a directory is not a file to read: refused by the opener */
    CHECK(file_read_all(dir, 0, &got, &len, &err) == -1);
    CHECK(strstr(err.msg, "not a regular file (a directory)") != NULL);
}

/* The one opener (io/input_file.h): a FIFO without a writer is refused at
 * once (open(2) alone would wait for a writer forever), as are a directory
 * and a character device; a regular file opens in blocking mode. */
static void test_input_open(void) {
    stl_error err = {{0}};
    char fifo[256];
    snprintf(fifo, sizeof fifo, "%s", check_path(dir, "fifo"));
    unlink(fifo);
    CHECK(mkfifo(fifo, 0644) == 0);
    CHECK_EQ_INT(input_open(fifo, NULL, &err), INPUT_NOT_REGULAR);
    CHECK(strstr(err.msg, "fifo: not a regular file (a FIFO)") != NULL);
    CHECK(input_fopen(fifo, &err) == NULL);
    CHECK_EQ_INT(input_open(dir, NULL, &err), INPUT_NOT_REGULAR);
    CHECK_EQ_INT(input_open("/dev/null", NULL, &err), INPUT_NOT_REGULAR);
    CHECK(strstr(err.msg, "a character device") != NULL);
    errno = 0;
    CHECK_EQ_INT(input_open(check_path(dir, "absent"), NULL, &err), INPUT_OPEN_FAILED);
    CHECK_EQ_INT(errno, ENOENT);
    check_spill(check_path(dir, "plain"), "abc", 3);
    struct stat st;
    int fd = input_open(check_path(dir, "plain"), &st, &err);
    CHECK(fd >= 0 && st.st_size == 3);
    if (fd >= 0) {
        CHECK((fcntl(fd, F_GETFL) & O_NONBLOCK) == 0);
        close(fd);
    }
}

static void test_reused_buffer(void) {
    check_spill(check_path(dir, "a"), "first file", 10);
    check_spill(check_path(dir, "b"), "second", 6);
    char *buf = NULL;
    size_t cap = 0, len = 0;
    stl_error err = {{0}};
    CHECK(file_read_into(check_path(dir, "a"), 0, &buf, &cap, &len, &err) == 0);
    char *first = buf;
    size_t first_cap = cap;
    CHECK(file_read_into(check_path(dir, "b"), 0, &buf, &cap, &len, &err) == 0);
    CHECK(buf == first && cap == first_cap); /* no new allocation */
    CHECK(len == 6 && strcmp(buf, "second") == 0);
    CHECK(file_read_into(check_path(dir, "absent"), 0, &buf, &cap, &len, &err) == -1);
    CHECK(buf == first && cap == first_cap); /* still the caller's */
    free(buf);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/stl_file_read_%d", (int)getpid());
    mkdir(dir, 0755);
    RUN(test_contents);
    RUN(test_limit);
    RUN(test_missing_and_odd);
    RUN(test_reused_buffer);
    RUN(test_input_open);
    int rc = check_summary();
    const char *names[] = {"big", "ten", "empty", "a", "b"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) unlink(check_path(dir, names[i]));
    rmdir(dir);
    return rc;
}
