/* stl-eval — how good are the recommendations, beside the random recommender.
 *
 * For the held-out test scenes of a triplets file, ranks every product of the
 * product embeddings by its dot product with the scene's embedding (the
 * order of topk.h: higher score first, ties by lower product index) and
 * reports Recall@K and HitRate@K for K in {1, 5, 10, 50}, MRR and the test
 * triplet accuracy (AUC over the sampled negatives); the same metrics for the
 * random recommender, exactly (expectation) and by a seeded simulation.
 * The ranking is computed from the embeddings, not read from the top-k file
 * (which may hold fewer than 50 products per scene); the top-k file is
 * checked against that ranking, so a top-k file made from other embeddings
 * is reported. A test product or scene without an embedding is an error
 * naming it (metrics over a silently smaller set would mislead). Writes the
 * metrics JSON atomically through formats/eval_file.h (docs/formats.md
 * "## Eval metrics JSON") and prints a table on stdout. Deterministic for a
 * given seed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "formats/embeddings.h"
#include "formats/eval_file.h"
#include "base/error.h"
#include "dataset/keys.h"
#include "base/log.h"
#include "retrieval/eval_metrics.h"
#include "base/rng.h"
#include "formats/topk_file.h"
#include "formats/triplets.h"
#include "io/output_check.h"
#include "formats/model_id.h"

/* One scene to score: its embedding row, its held-out products (if it is a
 * held-out scene) and its test triplets. */
typedef struct {
    uint32_t scene;      /* index into the triplets scene table */
    size_t emb_row;      /* row in the scene embeddings */
    long held;           /* index into held_scene[], or -1 */
    uint32_t *gt;        /* product embedding rows of the held-out products */
    size_t n_gt;
    size_t tri_lo, tri_hi; /* range in the scene-sorted triplet order */
} eval_scene;

typedef struct {
    const triplets_file *t;
    const embeddings *se, *pe;
    size_t m;              /* products ranked */
    uint32_t *prod_row;    /* triplets product index -> product row, or UINT32_MAX */
    eval_scene *sc;
    size_t n_sc;
    uint32_t *tri_order;   /* test triplets sorted by scene */
} eval_ctx;

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static const eval_ctx *sort_ctx; /* qsort has no context argument */
static int cmp_triplet_scene(const void *a, const void *b) {
    const triplet *t = sort_ctx->t->test;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    if (t[x].scene != t[y].scene) return (t[x].scene > t[y].scene) - (t[x].scene < t[y].scene);
    return (x > y) - (x < y);
}

static long emb_find(const embeddings *e, const char *key) { return embeddings_find(e, key); }

/* A file that says what it holds must hold what its flag expects. */
static int check_kind(const embeddings *e, const char *path, const char *flag,
                      const char *want, stl_error *err) {
    if (e->kind[0] && strcmp(e->kind, want) != 0)
        return stl_fail(err, "%s: holds %s embeddings, but --%s wants %s embeddings (swapped "
                        "--scenes and --products?)", path, e->kind, flag, want);
    return 0;
}

/* Maps the triplets' keys to embedding rows and groups the work by scene. */
static int eval_prepare(eval_ctx *c, const char *scenes_path, const char *products_path,
                        stl_error *err) {
    const triplets_file *t = c->t;
    if (c->se->dim != c->pe->dim)
        return stl_fail(err, "%s: dimension %zu, but %s has %zu: embed both with the same model",
                        scenes_path, c->se->dim, products_path, c->pe->dim);
    c->m = c->pe->n;
    if (t->n_held_scenes == 0 && t->n_test == 0)
        return stl_fail(err, "triplets file has no test scenes and no test triplets: "
                             "rerun stl-triplets with --test-fraction > 0");
    c->prod_row = malloc((t->n_products ? t->n_products : 1) * sizeof *c->prod_row);
    c->tri_order = malloc((t->n_test ? t->n_test : 1) * sizeof *c->tri_order);
    /* scene-table index -> position in c->sc */
    long *pos = malloc((t->n_scenes ? t->n_scenes : 1) * sizeof *pos);
    c->sc = calloc(t->n_held_scenes + t->n_test + 1, sizeof *c->sc);
    if (!c->prod_row || !c->tri_order || !pos || !c->sc) {
        free(pos);
        return stl_fail(err, "out of memory");
    }
    for (size_t p = 0; p < t->n_products; p++) {
        long r = emb_find(c->pe, t->products[p].s);
        c->prod_row[p] = r < 0 ? UINT32_MAX : (uint32_t)r;
    }
    for (size_t s = 0; s < t->n_scenes; s++) pos[s] = -1;
    int rc = -1;
    /* held-out scenes first, in file order; then scenes with triplets only */
    for (size_t h = 0; h < t->n_held_scenes; h++) {
        uint32_t s = t->held_scene[h];
        eval_scene *e = &c->sc[c->n_sc];
        pos[s] = (long)c->n_sc++;
        e->scene = s;
        e->held = (long)h;
        size_t lo = t->held_offset[h], hi = t->held_offset[h + 1];
        e->gt = malloc((hi - lo + 1) * sizeof *e->gt);
        if (!e->gt) { stl_fail(err, "out of memory"); goto out; }
        for (size_t i = lo; i < hi; i++) {
            uint32_t p = t->held_product[i];
            if (c->prod_row[p] == UINT32_MAX) {
                stl_fail(err, "%s: no embedding for product %s (of test scene %s): embed the "
                         "products of the pairs or the catalog", products_path,
                         t->products[p].s, t->scenes[s].s);
                goto out;
            }
            e->gt[e->n_gt++] = c->prod_row[p];
        }
        /* distinct rows (the triplets file has no duplicate pairs; be safe) */
        qsort(e->gt, e->n_gt, sizeof *e->gt, cmp_u32);
        size_t u = 0;
        for (size_t i = 0; i < e->n_gt; i++)
            if (u == 0 || e->gt[u - 1] != e->gt[i]) e->gt[u++] = e->gt[i];
        e->n_gt = u;
        if (u == 0) {
            stl_fail(err, "test scene %s has no held-out products: the triplets file is "
                     "inconsistent; rerun stl-triplets", t->scenes[s].s);
            goto out;
        }
    }
    for (size_t i = 0; i < t->n_test; i++) {
        const triplet *tr = &t->test[i];
        c->tri_order[i] = (uint32_t)i;
        const uint32_t ps[2] = {tr->pos, tr->neg};
        for (int k = 0; k < 2; k++)
            if (c->prod_row[ps[k]] == UINT32_MAX) {
                stl_fail(err, "%s: no embedding for product %s (of a test triplet): embed the "
                         "products of the pairs or the catalog", products_path,
                         t->products[ps[k]].s);
                goto out;
            }
        if (pos[tr->scene] < 0) {
            eval_scene *e = &c->sc[c->n_sc];
            pos[tr->scene] = (long)c->n_sc++;
            e->scene = tr->scene;
            e->held = -1;
        }
    }
    sort_ctx = c;
    qsort(c->tri_order, t->n_test, sizeof *c->tri_order, cmp_triplet_scene);
    for (size_t i = 0; i < t->n_test;) {
        uint32_t s = t->test[c->tri_order[i]].scene;
        size_t j = i;
        while (j < t->n_test && t->test[c->tri_order[j]].scene == s) j++;
        eval_scene *e = &c->sc[pos[s]];
        e->tri_lo = i;
        e->tri_hi = j;
        i = j;
    }
    for (size_t i = 0; i < c->n_sc; i++) {
        long r = emb_find(c->se, t->scenes[c->sc[i].scene].s);
        if (r < 0) {
            stl_fail(err, "%s: no embedding for test scene %s: embed the scenes of the pairs",
                     scenes_path, t->scenes[c->sc[i].scene].s);
            goto out;
        }
        c->sc[i].emb_row = (size_t)r;
    }
    rc = 0;
out:
    free(pos);
    return rc;
}

static void eval_ctx_free(eval_ctx *c) {
    if (c->sc)
        for (size_t i = 0; i < c->n_sc; i++) free(c->sc[i].gt);
    free(c->sc);
    free(c->prod_row);
    free(c->tri_order);
}

/* Dot products of one scene with every product, accumulated in double in a
 * fixed order (deterministic). */
static void score_scene(const eval_ctx *c, const eval_scene *e, double *scores) {
    size_t d = c->se->dim;
    const float *q = c->se->data + e->emb_row * d;
    for (size_t j = 0; j < c->m; j++) {
        const float *p = c->pe->data + j * d;
        double s = 0.0;
        for (size_t i = 0; i < d; i++) s += (double)q[i] * (double)p[i];
        scores[j] = s;
    }
}

/* Adds one scene's ranking metrics and triplets given its scores. */
static void accumulate(const eval_ctx *c, const eval_scene *e, const double *scores,
                       eval_acc *a) {
    if (e->held >= 0) eval_acc_scene(a, scores, c->m, e->gt, e->n_gt, NULL);
    for (size_t i = e->tri_lo; i < e->tri_hi; i++) {
        const triplet *tr = &c->t->test[c->tri_order[i]];
        eval_acc_triplet(a, scores[c->prod_row[tr->pos]], scores[c->prod_row[tr->neg]]);
    }
}

/* The top-k check: does each top-k row of a test scene list the products in
 * the order of the embedding ranking? Counts scenes checked / agreeing. */
typedef struct {
    size_t width, checked, agree, missing;
} topk_check;

static void check_topk_scene(const eval_ctx *c, const eval_scene *e, const double *scores,
                             const topk_file *tk, const long *tk_prod_row, topk_check *out) {
    long row = key_index_find(&tk->scene_index, c->t->scenes[e->scene].s);
    if (row < 0) {
        out->missing++;
        return;
    }
    out->checked++;
    size_t w = tk->width;
    for (size_t r = 0; r < w; r++) {
        long p = tk_prod_row[tk->index[(size_t)row * w + r]];
        if (p < 0 || eval_rank(scores, c->m, (size_t)p) != r + 1) return;
    }
    out->agree++;
}

static void print_table(FILE *f, const eval_metrics *mod, const eval_metrics *ex,
                        const eval_metrics *sim) {
    fprintf(f, "%-14s %10s %14s %14s\n", "metric", "model", "random exact", "random sim");
    for (int i = 0; i < EVAL_N_K; i++)
        fprintf(f, "Recall@%-7d %10.4f %14.4f %14.4f\n", eval_ks[i], mod->recall[i],
                ex->recall[i], sim->recall[i]);
    for (int i = 0; i < EVAL_N_K; i++)
        fprintf(f, "HitRate@%-6d %10.4f %14.4f %14.4f\n", eval_ks[i], mod->hit_rate[i],
                ex->hit_rate[i], sim->hit_rate[i]);
    fprintf(f, "%-14s %10.4f %14.4f %14.4f\n", "MRR", mod->mrr, ex->mrr, sim->mrr);
    fprintf(f, "%-14s %10.4f %14.4f %14.4f\n", "AUC (triplets)", mod->auc, ex->auc, sim->auc);
}

int main(int argc, char **argv) {
    log_set_program("stl-eval");
    const char *topk_path = NULL, *trip_path = NULL, *scenes_path = NULL, *prod_path = NULL,
               *out = NULL;
    long seed = 1, rounds = 10;
    cli_option opts[] = {
        {.name = "topk", .type = CLI_STRING, .target = &topk_path, .metavar = "FILE",
         .help = "top-k lists from stl-topk (checked against the ranking)",
         .required = 1},
        {.name = "triplets", .type = CLI_STRING, .target = &trip_path, .metavar = "FILE",
         .help = "triplets file from stl-triplets (held-out test pairs and triplets)",
         .required = 1},
        {.name = "scenes", .type = CLI_STRING, .target = &scenes_path, .metavar = "FILE",
         .help = "scene embeddings from stl-embed --kind scene",
         .required = 1},
        {.name = "products", .type = CLI_STRING, .target = &prod_path, .metavar = "FILE",
         .help = "product embeddings from stl-embed --kind product (the products ranked)",
         .required = 1},
        {.name = "out", .type = CLI_STRING, .target = &out, .metavar = "FILE",
         .help = "metrics JSON to write",
         .required = 1},
        {.name = "seed", .type = CLI_INT, .target = &seed, .metavar = "N",
         .help = "seed of the random recommender's simulation",
         .min = 0, .max = 9007199254740992.0},
        {.name = "sim-rounds", .type = CLI_INT, .target = &rounds, .metavar = "N",
         .help = "random rankings drawn per test scene in the simulation",
         .min = 1, .max = 100000},
    };
    cli_spec spec = {
        .program = "stl-eval",
        .summary = "Ranks every product for each held-out test scene by the dot product of the embeddings "
                   "and reports Recall@K and HitRate@K (K = 1, 5, 10, 50), MRR and the test triplet accuracy "
                   "(AUC), beside the random recommender computed exactly and by a seeded simulation. "
                   "Writes the metrics JSON and prints a table.",
        .opts = opts,
        .n_opts = (int)(sizeof opts / sizeof opts[0]),
    };
    int code;
    if (cli_run(&spec, argc, argv, &code) != 0) return code;
    {
        const output_check_arg outs[] = {{"--out", out}};
        const output_check_arg ins[] = {{"--topk", topk_path}, {"--triplets", trip_path}, {"--scenes", scenes_path}, {"--products", prod_path}};
        stl_error oerr;
        if (output_check(outs, sizeof outs / sizeof outs[0], ins, sizeof ins / sizeof ins[0],
                         &oerr) != 0) {
            log_error(&oerr);
            return STL_EXIT_USAGE;
        }
    }
    log_info("topk %s, triplets %s, scenes %s, products %s, out %s, seed %ld, sim-rounds %ld",
             topk_path, trip_path, scenes_path, prod_path, out, seed, rounds);

    int rc = STL_EXIT_FAIL;
    stl_error err;
    triplets_file *t = NULL;
    embeddings se = {0}, pe = {0};
    topk_file tk = {0};
    int have_se = 0, have_pe = 0, have_tk = 0;
    eval_ctx c = {0};
    double *scores = NULL;
    long *tk_prod_row = NULL;

    if (triplets_open(trip_path, &t, &err) != 0) goto done;
    if (embeddings_read(scenes_path, &se, &err) != 0) goto done;
    have_se = 1;
    if (embeddings_read(prod_path, &pe, &err) != 0) goto done;
    have_pe = 1;
    if (check_kind(&se, scenes_path, "scenes", "scene", &err) != 0 ||
        check_kind(&pe, prod_path, "products", "product", &err) != 0)
        goto done;
    if (topk_file_read(topk_path, &tk, &err) != 0) goto done;
    have_tk = 1;
    {
        const char *ids[3] = {tk.model, se.model, pe.model};
        const char *what[3] = {topk_path, scenes_path, prod_path};
        if (model_id_check_same(ids, what, 3, &err) != 0) goto done;
    }
    c.t = t;
    c.se = &se;
    c.pe = &pe;
    if (eval_prepare(&c, scenes_path, prod_path, &err) != 0) goto done;
    if (c.m == 0) {
        stl_fail(&err, "%s: no products", prod_path);
        goto done;
    }
    scores = malloc(c.m * sizeof *scores);
    tk_prod_row = malloc((tk.n_products ? tk.n_products : 1) * sizeof *tk_prod_row);
    if (!scores || !tk_prod_row) {
        stl_fail(&err, "out of memory");
        goto done;
    }
    for (size_t p = 0; p < tk.n_products; p++)
        tk_prod_row[p] = emb_find(&pe, tk.products[p].s);

    /* the model, and the top-k check on the same scores */
    eval_acc am, ae, as;
    eval_acc_init(&am);
    eval_acc_init(&ae);
    eval_acc_init(&as);
    topk_check chk = {tk.width, 0, 0, 0};
    for (size_t i = 0; i < c.n_sc; i++) {
        score_scene(&c, &c.sc[i], scores);
        accumulate(&c, &c.sc[i], scores, &am);
        if (c.sc[i].held >= 0) {
            check_topk_scene(&c, &c.sc[i], scores, &tk, tk_prod_row, &chk);
            eval_random_scene(&ae, c.m, c.sc[i].n_gt);
        }
    }
    eval_random_triplets(&ae, t->n_test);
    /* the random recommender, simulated: each round ranks the products of
     * each scene by uniform random scores from stream (round, scene) */
    for (long r = 0; r < rounds; r++)
        for (size_t i = 0; i < c.n_sc; i++) {
            rng_state g;
            rng_stream(&g, (uint64_t)seed, (uint64_t)r * c.n_sc + i);
            for (size_t j = 0; j < c.m; j++) scores[j] = rng_double(&g);
            accumulate(&c, &c.sc[i], scores, &as);
        }
    eval_metrics mm, me, ms;
    eval_acc_finish(&am, &mm);
    eval_acc_finish(&ae, &me);
    eval_acc_finish(&as, &ms);

    if (chk.missing)
        log_warn("%s: %zu of %zu test scenes have no top-k list", topk_path, chk.missing,
                 chk.missing + chk.checked);
    if (chk.agree < chk.checked)
        log_warn("%s: the top-k lists of %zu of %zu test scenes differ from the ranking of "
                 "these embeddings (ties within float rounding, or other embeddings)",
                 topk_path, chk.checked - chk.agree, chk.checked);

    eval_file ef = {
        .in_topk = topk_path, .in_triplets = trip_path, .in_scenes = scenes_path,
        .in_products = prod_path, .seed = seed, .sim_rounds = rounds,
        .test_scenes = mm.n_scenes, .test_pairs = t->held_offset[t->n_held_scenes],
        .test_triplets = t->n_test, .products = c.m,
        .model = mm, .random_exact = me, .random_simulated = ms,
        .topk_k = chk.width, .topk_checked = chk.checked, .topk_agreeing = chk.agree,
        .topk_missing = chk.missing};
    if (eval_file_write(out, &ef, &err) != 0) goto done;

    printf("%" PRIu64 " test scenes (%" PRIu64 " test triplets), %zu products ranked\n",
           mm.n_scenes, mm.n_triplets, c.m);
    print_table(stdout, &mm, &me, &ms);
    fflush(stdout);
    log_info("wrote %s", out);
    rc = STL_EXIT_OK;
done:
    if (rc != STL_EXIT_OK) log_error(&err);
    free(scores);
    free(tk_prod_row);
    eval_ctx_free(&c);
    if (have_tk) topk_file_free(&tk);
    if (have_pe) embeddings_free(&pe);
    if (have_se) embeddings_free(&se);
    triplets_free(t);
    return rc;
}
