/* topk_inspect.c — what stl-inspect prints for a top-k lists file.
 *
 * The summary gives the shape, the shard, the inputs the lists came from,
 * the range of the best and of the last scores, how many distinct products
 * appear in any list (a model that recommends the same few products to every
 * scene shows here), and the first scenes' lists. With --json the whole
 * content is one JSON object: the header fields and
 * "topk": {scene: [[product, score], ...]} in file order.
 */
#include <stdlib.h>
#include <string.h>

#include "formats/topk_file.h"

static void json_str(FILE *out, const char *s) {
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
        else if (c < 0x20) fprintf(out, "\\u%04x", c);
        else fputc(c, out);
    }
    fputc('"', out);
}

int topk_inspect(const char *path, int json, FILE *out, stl_error *err) {
    topk_file t;
    if (topk_file_read_part(path, &t, err) != 0) return -1;
    size_t w = t.width;
    if (json) {
        fprintf(out, "{\n  \"format\": \"%s\",\n  \"version\": %d,\n  \"n_scenes\": %zu,\n"
                     "  \"n_products\": %zu,\n  \"k\": %zu,\n  \"k_requested\": %zu,\n"
                     "  \"shard\": [%ld, %ld],\n  \"scenes_total\": %zu,\n  \"scenes_file\": ",
                TOPK_FILE_FORMAT, TOPK_FILE_VERSION, t.n_scenes, t.n_products, w, t.k_requested,
                t.shard_index, t.shard_count, t.scenes_total);
        json_str(out, t.scenes_file);
        fprintf(out, ",\n  \"products_file\": ");
        json_str(out, t.products_file);
        fprintf(out, ",\n  \"model\": \"%s\",\n  \"topk\": {", t.model);
        for (size_t i = 0; i < t.n_scenes; i++) {
            fprintf(out, "%s\n    \"%s\": [", i ? "," : "", t.scenes[i].s);
            for (size_t e = 0; e < w; e++)
                fprintf(out, "%s[\"%s\", %.9g]", e ? ", " : "", t.products[t.index[i * w + e]].s,
                        (double)t.score[i * w + e]);
            fprintf(out, "]");
        }
        fprintf(out, "%s}\n}\n", t.n_scenes ? "\n  " : "");
    } else {
        fprintf(out, "%s: %s version %d\n", path, TOPK_FILE_FORMAT, TOPK_FILE_VERSION);
        fprintf(out, "  %-22s %zu (of %zu in the run)\n", "scenes", t.n_scenes, t.scenes_total);
        fprintf(out, "  %-22s %zu\n", "products", t.n_products);
        fprintf(out, "  %-22s %zu (asked %zu)\n", "k", w, t.k_requested);
        fprintf(out, "  %-22s %ld/%ld\n", "shard", t.shard_index, t.shard_count);
        fprintf(out, "  %-22s %s\n  %-22s %s\n", "scenes file", t.scenes_file, "products file",
                t.products_file);
        fprintf(out, "  %-22s %s\n", "model", t.model[0] ? t.model : "(not recorded)");
        if (t.n_scenes > 0 && w > 0) {
            float b_lo = t.score[0], b_hi = t.score[0], l_lo = t.score[w - 1], l_hi = t.score[w - 1];
            unsigned char *used = calloc(t.n_products, 1);
            size_t distinct = 0;
            for (size_t i = 0; i < t.n_scenes; i++) {
                float b = t.score[i * w], l = t.score[i * w + w - 1];
                b_lo = b < b_lo ? b : b_lo;
                b_hi = b > b_hi ? b : b_hi;
                l_lo = l < l_lo ? l : l_lo;
                l_hi = l > l_hi ? l : l_hi;
                for (size_t e = 0; used && e < w; e++)
                    if (!used[t.index[i * w + e]]) {
                        used[t.index[i * w + e]] = 1;
                        distinct++;
                    }
            }
            free(used);
            fprintf(out, "  %-22s %.4g .. %.4g\n  %-22s %.4g .. %.4g\n", "best score", (double)b_lo,
                    (double)b_hi, "last score", (double)l_lo, (double)l_hi);
            fprintf(out, "  %-22s %zu of %zu\n", "products in any list", distinct, t.n_products);
            for (size_t i = 0; i < t.n_scenes && i < 3; i++) {
                fprintf(out, "  %s:", t.scenes[i].s);
                for (size_t e = 0; e < w && e < 3; e++)
                    fprintf(out, " %.8s… %.4g", t.products[t.index[i * w + e]].s,
                            (double)t.score[i * w + e]);
                if (w > 3) fprintf(out, " (+%zu)", w - 3);
                fprintf(out, "\n");
            }
            if (t.n_scenes > 3) fprintf(out, "  ... %zu more scenes\n", t.n_scenes - 3);
        }
    }
    int bad = ferror(out);
    topk_file_free(&t);
    if (bad) return stl_fail(err, "%s: writing the summary failed", path);
    return 0;
}
