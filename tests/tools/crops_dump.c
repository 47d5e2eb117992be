/* crops_dump.c — test helper: writes every crop of a crop directory as
 * OUTDIR/<key>.ppm (P6), the rejects of every index as OUTDIR/rejects.tsv
 * ("key<TAB>reason" lines, parts in name order), and prints
 * "<count> <size>" on stdout, so shell tests can compare stl-decode's
 * stored pixels with a peer decoder and check its reject reasons.
 * Usage: crops_dump CROPDIR OUTDIR. Exit 0 ok, 1 on any error. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomic.h"
#include "io/dirs.h"
#include "formats/crops.h"
#include "formats/crops_write.h"
#include "base/log.h"
#include "io/mpk.h"

static int name_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends "key\treason" for every reject of every index in dir. */
static int dump_rejects(const char *dir, const char *out, stl_error *err) {
    DIR *d = opendir(dir);
    if (!d) return stl_fail(err, "%s: cannot open", dir);
    char *names[4096];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 4096) {
        size_t l = strlen(e->d_name);
        if (l > 10 && strcmp(e->d_name + l - 10, ".index.mpk") == 0 && e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, name_cmp);
    char path[4096];
    snprintf(path, sizeof path, "%s/rejects.tsv", out);
    atomic_file af;
    if (atomic_open(&af, path, err) != 0) return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char ip[4096];
        snprintf(ip, sizeof ip, "%s/%s", dir, names[i]);
        mpk_file f;
        const msgpack_object_array *rj;
        if (mpk_file_open(&f, ip, CROPS_INDEX_FORMAT, CROPS_VERSION, err) != 0) {
            rc = -1;
            break;
        }
        if (mpk_get_array(&f, f.root, "rejects", &rj, err) != 0) rc = -1;
        for (uint32_t r = 0; rc == 0 && r < rj->size; r++) {
            char key[64], reason[64];
            if (mpk_get_strcpy(&f, &rj->ptr[r], "key", key, sizeof key, err) ||
                mpk_get_strcpy(&f, &rj->ptr[r], "reason", reason, sizeof reason, err))
                rc = -1;
            else
                atomic_printf(&af, "%s\t%s\n", key, reason);
        }
        mpk_file_close(&f);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    if (rc != 0) {
        atomic_abort(&af);
        return -1;
    }
    return atomic_commit(&af, err);
}

int main(int argc, char **argv) {
    log_set_program("crops_dump");
    if (argc != 3) {
        fprintf(stderr, "usage: crops_dump CROPDIR OUTDIR\n");
        return 2;
    }
    stl_error err;
    crops_set *c;
    if (crops_open(argv[1], &c, &err) != 0 || dirs_create(argv[2], &err) != 0) {
        log_error(&err);
        return 1;
    }
    int S = crops_size(c);
    size_t n = crops_count(c);
    for (size_t i = 0; i < n; i++) {
        char path[4096], head[64];
        snprintf(path, sizeof path, "%s/%s.ppm", argv[2], crops_key(c, i));
        int hl = snprintf(head, sizeof head, "P6\n%d %d\n255\n", S, S);
        size_t body = (size_t)S * S * 3;
        char *buf = malloc((size_t)hl + body);
        if (!buf) return 1;
        memcpy(buf, head, (size_t)hl);
        memcpy(buf + hl, crops_pixels(c, i), body);
        int rc = atomic_write_file(path, buf, (size_t)hl + body, &err);
        free(buf);
        if (rc != 0) {
            log_error(&err);
            return 1;
        }
    }
    if (dump_rejects(argv[1], argv[2], &err) != 0) {
        log_error(&err);
        return 1;
    }
    printf("%zu %d\n", n, S);
    crops_close(c);
    return 0;
}
