/* embeddings_inspect.c — what stl-inspect prints for an embeddings file.
 *
 * The summary names the form (stlrec msgpack or the book's JSON), the shape,
 * the kind, the spread of the row norms (a collapsed model shows as norms all
 * alike or near zero) and the first keys with the start of their rows. With
 * --json the whole content is one JSON object: the header fields and
 * "embeddings": {key: [floats]} in row order.
 */
#include <math.h>
#include <string.h>

#include "formats/embeddings.h"

static void print_row(FILE *out, const float *row, size_t dim, size_t max) {
    fprintf(out, "[");
    for (size_t c = 0; c < dim && c < max; c++) fprintf(out, "%s%.9g", c ? ", " : "", (double)row[c]);
    if (dim > max) fprintf(out, ", ... (%zu more)", dim - max);
    fprintf(out, "]");
}

int embeddings_inspect(const char *path, int json, FILE *out, stl_error *err) {
    embeddings e;
    if (embeddings_read_part(path, &e, err) != 0) return -1;
    const char *form = e.mapped ? EMBEDDINGS_FORMAT : "JSON {key: [floats]}";
    if (json) {
        fprintf(out, "{\n  \"format\": \"%s\",\n  \"version\": %d,\n  \"n\": %zu,\n  \"dim\": %zu,\n"
                     "  \"kind\": \"%s\",\n  \"model\": \"%s\",\n  \"embeddings\": {",
                e.mapped ? EMBEDDINGS_FORMAT : "json", e.mapped ? (int)e.file.version : 0, e.n,
                e.dim, e.kind, e.model);
        for (size_t i = 0; i < e.n; i++) {
            fprintf(out, "%s\n    \"%s\": ", i ? "," : "", e.keys[i].s);
            print_row(out, e.data + i * e.dim, e.dim, e.dim);
        }
        fprintf(out, "%s}\n}\n", e.n ? "\n  " : "");
    } else {
        fprintf(out, "%s: %s", path, form);
        if (e.mapped) fprintf(out, " version %u, %zu bytes", e.file.version, e.file.size);
        fprintf(out, "\n  %-22s %zu\n  %-22s %zu\n  %-22s %s\n  %-22s %s\n", "items", e.n, "dim",
                e.dim, "kind", e.kind[0] ? e.kind : "(not recorded)", "model",
                e.model[0] ? e.model : "(not recorded)");
        if (e.n > 0) {
            double lo = INFINITY, hi = 0, sum = 0;
            for (size_t i = 0; i < e.n; i++) {
                double s = 0;
                for (size_t c = 0; c < e.dim; c++) s += (double)e.data[i * e.dim + c] * e.data[i * e.dim + c];
                s = sqrt(s);
                lo = s < lo ? s : lo;
                hi = s > hi ? s : hi;
                sum += s;
            }
            fprintf(out, "  %-22s min %.4g, mean %.4g, max %.4g\n", "row L2 norm", lo, sum / (double)e.n, hi);
            for (size_t i = 0; i < e.n && i < 3; i++) {
                fprintf(out, "  %s ", e.keys[i].s);
                print_row(out, e.data + i * e.dim, e.dim, 4);
                fprintf(out, "\n");
            }
            if (e.n > 3) fprintf(out, "  ... %zu more\n", e.n - 3);
        }
    }
    int bad = ferror(out);
    embeddings_free(&e);
    if (bad) return stl_fail(err, "%s: writing the summary failed", path);
    return 0;
}
