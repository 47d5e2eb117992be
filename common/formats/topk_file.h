/* topk_file.h — top-k lists files ("stlrec-topk"), written by stl-topk and
 * read by stl-eval, stl-report and stl-inspect.
 *
 * For each scene, the `width` products with the highest score, best first
 * (ties by lower product index; topk.h), as indices into a product key table
 * (the rows of the product embeddings the lists were computed from) and their
 * float32 scores. width = min(k_requested, n_products). Layout in
 * docs/formats.md "## Top-k lists".
 *
 * topk_file_read() validates everything it returns: shapes against blob
 * sizes, keys valid and unique, indices in range, rows in rank order. A path
 * with commas is a list of shard parts (stl-topk --shard i/N): either all N
 * parts of one run, in any order, which are merged in shard order (giving the
 * unsharded run's rows exactly), or unsharded files with the same product
 * table, concatenated in the order given.
 *
 * Ownership: a topk_file owns every array in it; topk_file_free releases them.
 */
#ifndef STL_TOPK_FILE_H
#define STL_TOPK_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/error.h"
#include "dataset/keys.h"
#include "formats/model_id.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TOPK_FILE_FORMAT "stlrec-topk"
#define TOPK_FILE_VERSION 1

typedef struct {
    size_t n_scenes, n_products;
    size_t width;          /* entries per scene: min(k_requested, n_products) */
    size_t k_requested;    /* --k */
    const stl_key *scenes; /* (n_scenes): scene_index.keys */
    stl_key *products;     /* (n_products): the product key table */
    uint32_t *index;       /* (n_scenes, width): rows of `products`, best first */
    float *score;          /* (n_scenes, width): dot products */
    key_index scene_index; /* scene key -> row */
    long shard_index, shard_count; /* i/N of this part; 0/1 unsharded or merged */
    size_t scenes_total;   /* scenes in the whole input, all shards together */
    char scenes_file[256], products_file[256]; /* inputs, as given to stl-topk */
    char model[MODEL_ID_LEN + 1]; /* the model of the embeddings ranked, or "" */
} topk_file;

/* Writes t atomically (t->scenes, products, index, score, shard fields,
 * k_requested and the file names are used; width must be
 * min(k_requested, n_products)). */
int topk_file_write(const char *path, const topk_file *t, stl_error *err);

/* Reads one file or a comma-separated list of parts. On failure t is empty. */
int topk_file_read(const char *path, topk_file *t, stl_error *err);
/* One file as it is, a part of a sharded run included (for stl-inspect);
 * topk_file_read refuses a part given alone. */
int topk_file_read_part(const char *path, topk_file *t, stl_error *err);
void topk_file_free(topk_file *t);

/* stl-inspect: a summary (shape, shard, score range, the first scenes' lists),
 * or with json the whole content as one JSON object. */
int topk_inspect(const char *path, int json, FILE *out, stl_error *err);

#ifdef __cplusplus
}
#endif

#endif
