/* test_atomic.c — atomic output: a committed file is whole, an aborted or
 * killed writer leaves nothing under the final name, errors are reported. */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/atomic.h"
#include "io/dirs.h"
#include "check.h"

static char dir[256];

static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

static int count_entries(const char *d) {
    DIR *dp = opendir(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dp)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(dp);
    return n;
}

static void test_commit_writes_whole_file(void) {
    char p[300];
    snprintf(p, sizeof p, "%s/a.txt", dir);
    atomic_file af;
    stl_error e;
    CHECK_EQ_INT(atomic_open(&af, p, &e), 0);
    CHECK(!exists(p));
    CHECK_EQ_INT(atomic_write(&af, "hello ", 6, &e), 0);
    CHECK_EQ_INT(atomic_printf(&af, "%s %d", "world", 42), 0);
    CHECK(!exists(p)); /* nothing under the final name before commit */
    CHECK_EQ_INT(atomic_commit(&af, &e), 0);
    FILE *f = fopen(p, "r");
    char buf[64] = {0};
    CHECK(f && fread(buf, 1, sizeof buf - 1, f) == 14);
    if (f) fclose(f);
    CHECK_STR_EQ(buf, "hello world 42");
    CHECK_EQ_INT(count_entries(dir), 1); /* no temporary left */
    unlink(p);
}

static void test_abort_leaves_nothing(void) {
    char p[300];
    snprintf(p, sizeof p, "%s/b.txt", dir);
    atomic_file af;
    stl_error e;
    CHECK_EQ_INT(atomic_open(&af, p, &e), 0);
    atomic_write(&af, "x", 1, &e);
    atomic_abort(&af);
    CHECK(!exists(p));
    CHECK_EQ_INT(count_entries(dir), 0);
}

static void test_replaces_existing_atomically(void) {
    char p[300];
    snprintf(p, sizeof p, "%s/c.txt", dir);
    stl_error e;
    CHECK_EQ_INT(atomic_write_file(p, "old", 3, &e), 0);
    atomic_file af;
    CHECK_EQ_INT(atomic_open(&af, p, &e), 0);
    atomic_write(&af, "new contents", 12, &e);
    struct stat st;
    CHECK(stat(p, &st) == 0 && st.st_size == 3); /* old file intact meanwhile */
    CHECK_EQ_INT(atomic_commit(&af, &e), 0);
    CHECK(stat(p, &st) == 0 && st.st_size == 12);
    unlink(p);
}

/* A writer killed with SIGKILL in the middle of writing leaves no file under
 * the final name (only its temporary). */
static void test_killed_writer(void) {
    char p[300];
    snprintf(p, sizeof p, "%s/killed.bin", dir);
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        atomic_file af;
        stl_error e;
        if (atomic_open(&af, p, &e) != 0) _exit(3);
        char block[4096];
        memset(block, 'z', sizeof block);
        for (int i = 0; i < 256; i++) atomic_write(&af, block, sizeof block, &e);
        fflush(af.f);
        if (write(fds[1], "w", 1) != 1) _exit(4);
        for (;;) {
            atomic_write(&af, block, sizeof block, &e);
            usleep(1000);
        }
    }
    char c;
    CHECK(read(fds[0], &c, 1) == 1);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));
    CHECK(!exists(p));
    close(fds[0]);
    close(fds[1]);
    /* clean the orphan temporary */
    DIR *dp = opendir(dir);
    struct dirent *d;
    while ((d = readdir(dp))) {
        if (d->d_name[0] == '.' && strstr(d->d_name, ".tmp.")) {
            char t[600];
            snprintf(t, sizeof t, "%s/%s", dir, d->d_name);
            unlink(t);
        }
    }
    closedir(dp);
}

static void test_errors_reported(void) {
    atomic_file af;
    stl_error e;
    CHECK_EQ_INT(atomic_open(&af, "/nonexistent-dir-stl/x.txt", &e), -1);
    CHECK(strstr(e.msg, "/nonexistent-dir-stl/x.txt") != NULL);
    char p[300];
    snprintf(p, sizeof p, "%s/sub/deeper", dir);
    CHECK_EQ_INT(dirs_create(p, &e), 0);
    CHECK(exists(p));
    CHECK_EQ_INT(dirs_create(p, &e), 0); /* idempotent */
    rmdir(p);
    snprintf(p, sizeof p, "%s/sub", dir);
    rmdir(p);
    /* A file where a directory should be is an error, named. */
    snprintf(p, sizeof p, "%s/plain", dir);
    FILE *f = fopen(p, "w");
    if (f) fclose(f);
    CHECK_EQ_INT(dirs_create(p, &e), -1);
    CHECK(strstr(e.msg, "not a directory") != NULL);
    unlink(p);
}

/* dirs_create_below creates only what follows the known prefix: given a
 * prefix that does not exist, it fails instead of creating it. */
static void test_dirs_below_known_prefix(void) {
    stl_error e;
    char p[400], top[300];
    snprintf(top, sizeof top, "%s/below", dir);
    snprintf(p, sizeof p, "%s/ab/cd/ef", top);
    CHECK_EQ_INT(dirs_create_below(p, strlen(top), &e), -1);
    CHECK(!exists(top));
    CHECK_EQ_INT(mkdir(top, 0755), 0);
    CHECK_EQ_INT(dirs_create_below(p, strlen(top), &e), 0);
    CHECK(exists(p));
    CHECK_EQ_INT(dirs_create_below(p, strlen(top), &e), 0); /* idempotent */
    CHECK_EQ_INT(dirs_create_below(p, strlen(p), &e), 0);   /* all known */
    for (int i = 0; i < 4; i++) { /* ef, cd, ab, below */
        CHECK_EQ_INT(rmdir(p), 0);
        char *slash = strrchr(p, '/');
        if (slash) *slash = '\0';
    }
}

int main(void) {
    snprintf(dir, sizeof dir, "%s/stl-atomic-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) return 1;
    RUN(test_commit_writes_whole_file);
    RUN(test_abort_leaves_nothing);
    RUN(test_replaces_existing_atomically);
    RUN(test_killed_writer);
    RUN(test_errors_reported);
    RUN(test_dirs_below_known_prefix);
    rmdir(dir);
    return check_summary();
}
