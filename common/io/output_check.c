/* output_check.c — outputs that would overwrite an input, or cannot be
 * files (output_check.h).
 */
#include "io/output_check.h"

#include <string.h>
#include <sys/stat.h>

/* Calls fn on each comma-separated part of path; stops at the first nonzero. */
typedef int (*part_fn)(const char *part, void *ctx);

static int each_part(const char *path, part_fn fn, void *ctx) {
    char buf[4096];
    const char *p = path;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n < sizeof buf) {
            memcpy(buf, p, n);
            buf[n] = '\0';
            int rc = fn(buf, ctx);
            if (rc) return rc;
        }
        if (!comma) return 0;
        p = comma + 1;
    }
}

typedef struct {
    struct stat out;
} same_ctx;

static int is_same(const char *part, void *ctx) {
    const same_ctx *c = ctx;
    struct stat st;
    return stat(part, &st) == 0 && st.st_dev == c->out.st_dev && st.st_ino == c->out.st_ino;
}

int output_check(const output_check_arg *outputs, size_t n_outputs,
                 const output_check_arg *inputs, size_t n_inputs, stl_error *err) {
    for (size_t i = 0; i < n_outputs; i++) {
        const output_check_arg *o = &outputs[i];
        if (!o->path) continue;
        for (size_t j = 0; j < i; j++)
            if (outputs[j].path && strcmp(outputs[j].path, o->path) == 0)
                return stl_fail(err, "%s %s: the same file as %s; give each output its own path",
                                o->flag, o->path, outputs[j].flag);
        same_ctx c;
        if (stat(o->path, &c.out) != 0) continue; /* not there yet: nothing to destroy */
        if (S_ISDIR(c.out.st_mode))
            return stl_fail(err, "%s %s: is a directory; give a file name", o->flag, o->path);
        for (size_t j = 0; j < n_inputs; j++)
            if (inputs[j].path && each_part(inputs[j].path, is_same, &c))
                return stl_fail(err, "%s %s: is also the input %s; writing it would destroy it",
                                o->flag, o->path, inputs[j].flag);
    }
    return 0;
}
