/* fuzz_util.h — shared helpers for the libFuzzer targets in tests/fuzz/.
 *
 * Readers that take a path (catalog, key list, triplets, embeddings, top-k,
 * crops) get the fuzzed bytes through a file: fuzz_file() writes them under
 * one per-process scratch directory, stlfuzz.<pid> in /dev/shm when that
 * is writable (rewriting a file on a disk file system costs milliseconds a
 * run), else in /tmp, or in $STL_FUZZ_TMP when set; created on first use,
 * rewritten on every run, removed at a normal exit (not after a crash). LLVMFuzzerInitialize sets STL_QUIET for the readers. Included by exactly one translation unit per target.
 */
#ifndef STL_FUZZ_UTIL_H
#define STL_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char fuzz_dir_path[64];
static char fuzz_names[8][96];
static int fuzz_n_names;

static void fuzz_cleanup(void) {
    char p[192];
    for (int i = 0; i < fuzz_n_names; i++) {
        snprintf(p, sizeof p, "%s/%s", fuzz_dir_path, fuzz_names[i]);
        unlink(p);
    }
    if (fuzz_dir_path[0]) rmdir(fuzz_dir_path);
}

/* The scratch directory (created once). Exits on failure: no run can work. */
__attribute__((unused)) static const char *fuzz_dir(void) {
    if (!fuzz_dir_path[0]) {
        const char *base = getenv("STL_FUZZ_TMP");
        if (!base || !*base) base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(fuzz_dir_path, sizeof fuzz_dir_path, "%s/stlfuzz.%ld", base, (long)getpid());
        if (mkdir(fuzz_dir_path, 0700) != 0) {
            perror(fuzz_dir_path);
            abort();
        }
        atexit(fuzz_cleanup);
    }
    return fuzz_dir_path;
}

/* Writes data to fuzz_dir()/name (replacing it) and puts the path in out. */
__attribute__((unused)) static void fuzz_file(const char *name, const uint8_t *data, size_t size, char *out,
                      size_t cap) {
    snprintf(out, cap, "%s/%s", fuzz_dir(), name);
    int known = 0;
    for (int i = 0; i < fuzz_n_names; i++) known |= strcmp(fuzz_names[i], name) == 0;
    if (!known && fuzz_n_names < 8) snprintf(fuzz_names[fuzz_n_names++], 96, "%s", name);
    FILE *f = fopen(out, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(out);
        abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    setenv("STL_QUIET", "1", 1);
    return 0;
}

#endif
