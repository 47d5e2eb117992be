/* stl-triplets — scene–product pairs → train/test triplets for stl-train/stl-eval.
 *
 * Reads the pairs JSONL (malformed lines are counted and skipped) and the crop
 * index from stl-decode (or, when --crops names a regular file, a plain list
 * of the keys that have crops: for tests and runs without shards), keeps the pairs whose scene and product both decoded, and
 * writes one triplets file (common/formats/triplets.h; docs/formats.md "## Triplets"):
 * the split by scene (or the book's every10), num-neg negatives per positive
 * that are never a product of the same scene, a seeded permutation of the
 * training triplets and the held-out test pairs; with --hard-negatives X and
 * --catalog, that share of the training negatives comes from the positive's
 * catalog category. Same inputs and flags give a
 * byte-identical file. The work itself is triplets_build(); this file is the
 * command line, the inputs and the report.
 */
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>

#include "base/cli.h"
#include "formats/crops.h"
#include "base/error.h"
#include "dataset/keylist.h"
#include "dataset/keys.h"
#include "base/log.h"
#include "dataset/catalog_index.h"
#include "dataset/pairs.h"
#include "formats/triplets.h"
#include "io/output_check.h"

static int decoded_crops(void *ctx, const char *key) {
    return crops_find((const crops_set *)ctx, key) >= 0;
}

static int decoded_keys(void *ctx, const char *key) {
    return key_index_find((const key_index *)ctx, key) >= 0;
}

static const char *catalog_category(void *ctx, const char *key) {
    return catalog_index_category((const catalog_index *)ctx, key);
}

static void report(const char *out, const triplets_file *t) {
    const triplets_counts *c = &t->counts;
    log_info("pairs: %" PRIu64 " lines, %" PRIu64 " malformed, %" PRIu64 " read, %" PRIu64
             " used; dropped %" PRIu64 " (scene missing), %" PRIu64 " (product missing), %" PRIu64
             " (duplicate)",
             c->lines, c->malformed, c->pairs_read, c->used, c->dropped_scene_missing,
             c->dropped_product_missing, c->dropped_duplicate);
    log_info("split: %" PRIu64 " train pairs over %" PRIu64 " scenes, %" PRIu64
             " test pairs over %" PRIu64 " scenes; %zu scenes, %zu products",
             c->train_pairs, c->train_scenes, c->test_pairs, c->test_scenes, t->n_scenes,
             t->n_products);
    if (t->n_val > 0)
        log_info("validation: %" PRIu64 " pairs over %" PRIu64 " scenes", c->val_pairs,
                 c->val_scenes);
    if (t->params.hard_fraction > 0)
        log_info("hard negatives: %" PRIu64 " of %zu training negatives from the positive's "
                 "category (%" PRIu64 " more found no category or none allowed: drawn as the others)",
                 c->train_hard, t->n_train, c->hard_fallback);
    log_info("wrote %s: %zu train triplets, %zu test triplets, %zu held-out scenes, %zu "
             "validation triplets", out, t->n_train, t->n_test, t->n_held_scenes, t->n_val);
}

int main(int argc, char **argv) {
    log_set_program("stl-triplets");
    const char *pairs_path = NULL, *crops_path = NULL, *out = NULL, *catalog_path = NULL;
    const char *split = "scene", *negatives = "pairs";
    long num_neg = 5, seed = 1;
    double test_fraction = 0.1, val_fraction = 0, hard_fraction = 0;
    cli_option opts[] = {
        {.name = "pairs", .type = CLI_STRING, .target = &pairs_path, .metavar = "FILE",
         .help = "scene-product pairs (JSON lines)",
         .required = 1},
        {.name = "crops", .type = CLI_STRING, .target = &crops_path, .metavar = "DIR|FILE",
         .help = "crop directory from stl-decode (only pairs with both crops are used), or a plain " "list of the keys that have crops",
         .required = 1},
        {.name = "out", .type = CLI_STRING, .target = &out, .metavar = "FILE",
         .help = "triplets file to write (msgpack)",
         .required = 1},
        {.name = "num-neg", .type = CLI_INT, .target = &num_neg, .metavar = "N",
         .help = "negatives (triplets) per positive pair",
         .min = 1, .max = 1000},
        {.name = "test-fraction", .type = CLI_DOUBLE, .target = &test_fraction, .metavar = "X",
         .help = "fraction of scenes held out for test (--split scene)",
         .min = 0, .max = 1},
        {.name = "val-fraction", .type = CLI_DOUBLE, .target = &val_fraction, .metavar = "X",
         .help = "of the scenes not held out for test, the fraction held out for validation "
                 "(model selection, never the test scenes; --split scene)",
         .min = 0, .max = 0.99},
        {.name = "split", .type = CLI_CHOICE, .target = &split,
         .help = "scene: by a seeded hash of the scene key; every10: the book's (used pair i is test iff i%10==0)",
         .choices = "scene|every10"},
        {.name = "negatives", .type = CLI_CHOICE, .target = &negatives,
         .help = "pairs: product of a random pair (popularity); uniform: over distinct products",
         .choices = "pairs|uniform"},
        {.name = "hard-negatives", .type = CLI_DOUBLE, .target = &hard_fraction, .metavar = "X",
         .help = "share of the training negatives drawn from the positive's catalog category "
                 "(needs --catalog; validation and test negatives are not changed)",
         .min = 0, .max = 1},
        {.name = "catalog", .type = CLI_STRING, .target = &catalog_path, .metavar = "FILE",
         .help = "the catalog (product key -> category), for --hard-negatives"},
        {.name = "seed", .type = CLI_INT, .target = &seed, .metavar = "N",
         .help = "seed of the split, negatives and shuffle",
         .min = 0, .max = 9007199254740992.0},
    };
    cli_spec spec = {
        .program = "stl-triplets",
        .summary = "Splits scene-product pairs into train and test by scene, draws negatives that are never "
                   "a product of the same scene, shuffles the training triplets with a seeded permutation, "
                   "and writes one triplets file for stl-train and stl-eval. Deterministic.",
        .opts = opts,
        .n_opts = (int)(sizeof opts / sizeof opts[0]),
    };
    int code;
    if (cli_run(&spec, argc, argv, &code) != 0) return code;
    {
        const output_check_arg outs[] = {{"--out", out}};
        const output_check_arg ins[] = {{"--pairs", pairs_path}, {"--crops", crops_path},
                                        {"--catalog", catalog_path}};
        stl_error oerr;
        if (output_check(outs, sizeof outs / sizeof outs[0], ins, sizeof ins / sizeof ins[0],
                         &oerr) != 0) {
            log_error(&oerr);
            return STL_EXIT_USAGE;
        }
    }
    stl_error err;
    triplets_params p;
    triplets_params_default(&p);
    p.seed = (uint64_t)seed;
    p.num_neg = (uint32_t)num_neg;
    p.test_fraction = test_fraction;
    p.val_fraction = val_fraction;
    p.hard_fraction = hard_fraction;
    if (hard_fraction > 0 && !catalog_path) {
        log_errorf("--hard-negatives: needs --catalog FILE (the products' categories)");
        return STL_EXIT_USAGE;
    }
    if (triplets_split_parse(split, &p.split, &err) != 0 ||
        triplets_negatives_parse(negatives, &p.negatives, &err) != 0) {
        log_error(&err);
        return STL_EXIT_USAGE;
    }
    if (p.split == TRIPLETS_SPLIT_EVERY10 && cli_given(&spec, "test-fraction")) {
        log_errorf("--test-fraction: --split every10 always holds out every tenth pair; "
                   "drop --test-fraction or use --split scene");
        return STL_EXIT_USAGE;
    }
    log_info("pairs %s, crops %s, out %s, split %s, test-fraction %g, negatives %s, num-neg %u, "
             "hard-negatives %g, seed %" PRIu64,
             pairs_path, crops_path, out,
             triplets_split_name(p.split),
             p.split == TRIPLETS_SPLIT_SCENE ? p.test_fraction : 0.1,
             triplets_negatives_name(p.negatives), p.num_neg, p.hard_fraction, p.seed);

    int rc = STL_EXIT_FAIL;
    pair_list pl = {0};
    crops_set *crops = NULL;
    key_index ok;
    key_index_init(&ok);
    triplets_file *t = NULL;
    catalog_index cl;
    catalog_index_init(&cl);
    if (pairs_read(pairs_path, &pl, &err) != 0) goto done;
    if (catalog_path && catalog_index_read(catalog_path, &cl, &err) != 0) goto done;
    struct stat st;
    if (stat(crops_path, &st) == 0 && S_ISREG(st.st_mode)) { /* a list of decoded keys */
        keylist_kind kind;
        if (keylist_read(crops_path, KEYLIST_ALL, &ok, &kind, &err) != 0) goto done;
    } else if (crops_open(crops_path, &crops, &err) != 0) {
        goto done;
    }
    if (triplets_build_categories(&pl, crops ? decoded_crops : decoded_keys,
                                  crops ? (void *)crops : (void *)&ok, catalog_category, &cl, &p,
                                  &t, &err) != 0) {
        stl_fail_prefix(&err, "%s", pairs_path);
        goto done;
    }
    if (t->counts.test_pairs == 0 && (p.split == TRIPLETS_SPLIT_EVERY10 || p.test_fraction > 0))
        log_warn("no test pairs: the test set is empty (too few scenes for --test-fraction %g?)",
                 p.test_fraction);
    if (triplets_write(out, t, &err) != 0) goto done;
    report(out, t);
    rc = STL_EXIT_OK;
done:
    if (rc != STL_EXIT_OK) log_error(&err);
    triplets_free(t);
    key_index_free(&ok);
    catalog_index_free(&cl);
    if (crops) crops_close(crops);
    pairs_free(&pl);
    return rc;
}
