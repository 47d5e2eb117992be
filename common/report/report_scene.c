/* report_scene.c — stl-report's scene pages (see report_scene.h): the
 * sample, one page per sampled scene with its product cards, and the
 * index's grid of links. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "retrieval/eval_metrics.h"
#include "report/report_scene.h"
#include "report/report_thumbs.h"
#include "base/rng.h"
#include "io/dirs.h"

typedef struct {
    size_t tk_row;     /* row in the top-k file */
    long held;         /* held-out index in the triplets, or -1 */
    uint64_t order;    /* seeded hash of the key: the sample order */
} scene_pick;

static int cmp_pick(const void *a, const void *b) {
    const scene_pick *x = a, *y = b;
    if (x->order != y->order) return x->order < y->order ? -1 : 1;
    return (x->tk_row > y->tk_row) - (x->tk_row < y->tk_row);
}

static const char *category_of(const report *r, const char *key) {
    if (!r->have_cat) return NULL;
    long i = key_index_find(&r->cat_index, key);
    return i < 0 ? NULL : r->cat.categories[i];
}

/* A category with a line-break opportunity after every '|' (the browser
 * breaks there or at spaces, never inside a word). */
static void category_text(html_doc *d, const char *cat) {
    for (;;) {
        const char *bar = strchr(cat, '|');
        if (!bar) {
            html_text(d, cat);
            return;
        }
        char *seg = strndup(cat, (size_t)(bar - cat));
        html_text(d, seg ? seg : "");
        free(seg);
        html_raw(d, "|<wbr>");
        cat = bar + 1;
    }
}

/* One product: thumbnail, "#rank · score" (of `of` products when of > 0;
 * rank 0: not known), the ground-truth mark, category and key. */
static void product_card(html_doc *d, report *r, const char *key, int is_gt, long rank,
                         double score, size_t of) {
    html_raw(d, "<div class=\"card%s\">", is_gt ? " gt" : "");
    report_thumb_tag(d, r, key, PRODUCT_THUMB, "../");
    html_raw(d, "<div class=\"rank\">");
    if (rank > 0 && of > 0) html_raw(d, "rank %ld of %zu", rank, of);
    else if (rank > 0) html_raw(d, "#%ld", rank);
    else html_raw(d, "rank not known");
    if (isfinite(score)) html_raw(d, " · <span class=\"sc\">score %.3f</span>", score);
    if (is_gt) html_raw(d, " <b class=\"gtmark\">✓ ground truth</b>");
    html_raw(d, "</div>");
    const char *cat = category_of(r, key);
    if (cat) {
        html_raw(d, "<div class=\"cat\">");
        category_text(d, cat);
        html_raw(d, "</div>");
    }
    html_raw(d, "<div class=\"key\">%s</div></div>\n", key);
}

/* Is product key one of the held-out products of held scene h? */
static int is_ground_truth(const report *r, long h, const char *key) {
    if (h < 0) return 0;
    const triplets_file *t = r->t;
    for (uint32_t i = t->held_offset[h]; i < t->held_offset[h + 1]; i++)
        if (strcmp(t->products[t->held_product[i]].s, key) == 0) return 1;
    return 0;
}

/* With --scenes/--products: r->scores = the scene's dot product with every
 * product, in double and in stl-eval's order; 0, or -1 when the scene has
 * no embedding. */
static int scene_scores(report *r, const char *key) {
    if (r->have_emb < 2) return -1;
    long row = embeddings_find(&r->se, key);
    if (row < 0) return -1;
    size_t dim = r->se.dim;
    const float *q = r->se.data + (size_t)row * dim;
    for (size_t j = 0; j < r->pe.n; j++) {
        const float *p = r->pe.data + j * dim;
        double s = 0.0;
        for (size_t i = 0; i < dim; i++) s += (double)q[i] * (double)p[i];
        r->scores[j] = s;
    }
    return 0;
}

static int scene_page(report *r, const scene_pick *p, stl_error *err) {
    const topk_file *tk = &r->tk;
    const char *key = tk->scenes[p->tk_row].s;
    char path[4096];
    snprintf(path, sizeof path, "%s/scene/%s.html", r->o.out, key);
    html_doc page, *d = &page;
    char title[64];
    snprintf(title, sizeof title, "scene %s", key);
    if (html_begin(d, path, title, report_css, err) != 0) return -1;
    html_raw(d, "<p><a href=\"../index.html\">← index</a></p>\n<h1>Test scene"
               "<span class=\"key\">%s</span></h1>\n", key);
    report_thumb_tag(d, r, key, SCENE_THUMB, "../");
    size_t w = tk->width, found = 0;
    html_raw(d, "<h2>Top %zu products</h2>\n<p class=\"note\">Score: the dot product of the "
               "scene's embedding and the product's embedding; higher is better, and the "
               "products are ranked by it, best first.</p>\n<div class=\"grid\" id=\"topk\">\n", w);
    for (size_t i = 0; i < w; i++) {
        const char *pk = tk->products[tk->index[p->tk_row * w + i]].s;
        int gt = is_ground_truth(r, p->held, pk);
        found += gt;
        product_card(d, r, pk, gt, (long)i + 1, tk->score[p->tk_row * w + i], 0);
    }
    html_raw(d, "</div>\n");
    if (p->held >= 0) {
        const triplets_file *t = r->t;
        size_t g = t->held_offset[p->held + 1] - t->held_offset[p->held];
        int have_scores = scene_scores(r, key) == 0;
        html_raw(d, "<h2>Held-out products of this scene (%zu, %zu in the top %zu)</h2>\n", g,
                 found, w);
        if (have_scores)
            html_raw(d, "<p class=\"note\">Each with its rank among all %zu products ranked "
                       "(stl-eval's ranking) and its score.</p>\n", r->pe.n);
        else
            html_raw(d, "<p class=\"note\">Ranks beyond the top %zu need the embeddings "
                       "(stl-report --scenes FILE --products FILE).</p>\n", w);
        html_raw(d, "<div class=\"grid\" id=\"truth\">\n");
        for (uint32_t i = t->held_offset[p->held]; i < t->held_offset[p->held + 1]; i++) {
            const char *hk = t->products[t->held_product[i]].s;
            long rank = 0;
            double score = NAN;
            long j = have_scores ? embeddings_find(&r->pe, hk) : -1;
            if (j >= 0) {
                rank = (long)eval_rank(r->scores, r->pe.n, (size_t)j);
                score = r->scores[j];
            } else {
                for (size_t k = 0; k < w; k++)
                    if (strcmp(tk->products[tk->index[p->tk_row * w + k]].s, hk) == 0) {
                        rank = (long)k + 1;
                        score = tk->score[p->tk_row * w + k];
                    }
            }
            product_card(d, r, hk, 1, rank, score, j >= 0 ? r->pe.n : 0);
        }
        html_raw(d, "</div>\n");
    }
    if (r->write_failed) { /* a thumbnail of this page is missing: stop here */
        html_abort(d);
        *err = r->write_err;
        return -1;
    }
    if (html_end(d, err) != 0) return -1;
    return report_wrote(r, path, err);
}

/* Picks the sample and writes its pages; the index links them. */
int report_scene_section(html_doc *d, report *r, stl_error *err) {
    const topk_file *tk = &r->tk;
    key_index held_of;
    key_index_init(&held_of);
    scene_pick *pk = malloc((tk->n_scenes ? tk->n_scenes : 1) * sizeof *pk);
    int rc = -1;
    if (!pk) goto out;
    if (r->t)
        for (size_t h = 0; h < r->t->n_held_scenes; h++) {
            int added;
            if (key_index_add(&held_of, r->t->scenes[r->t->held_scene[h]].s, &added, err) < 0)
                goto out;
        }
    size_t n = 0;
    for (size_t i = 0; i < tk->n_scenes; i++) {
        long h = r->t ? key_index_find(&held_of, tk->scenes[i].s) : -1;
        if (r->t && h < 0) continue; /* with triplets: test scenes only */
        pk[n].tk_row = i;
        pk[n].held = h;
        pk[n].order = rng_hash(0x5ce4e5, tk->scenes[i].s, STL_KEY_LEN);
        n++;
    }
    qsort(pk, n, sizeof *pk, cmp_pick);
    if (n > (size_t)r->o.max_scenes) n = (size_t)r->o.max_scenes;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/scene", r->o.out);
    if (dirs_create(dir, err) != 0) goto out;
    html_raw(d, "<h2>Test scenes</h2>\n<p>%zu scenes%s, each with its top %zu products.</p>\n"
               "<div class=\"grid\" id=\"scenes\">\n", n,
             r->t ? " sampled from the held-out test scenes" : "", tk->width);
    for (size_t i = 0; i < n; i++) {
        if (scene_page(r, &pk[i], err) != 0) goto out;
        const char *key = tk->scenes[pk[i].tk_row].s;
        html_raw(d, "<div class=\"card\"><a href=\"scene/%s.html\">", key);
        report_thumb_tag(d, r, key, PRODUCT_THUMB, "");
        html_raw(d, "</a>");
        if (pk[i].held >= 0) {
            const triplets_file *t = r->t;
            size_t g = t->held_offset[pk[i].held + 1] - t->held_offset[pk[i].held], found = 0;
            for (size_t j = 0; j < tk->width; j++)
                found += is_ground_truth(r, pk[i].held,
                                         tk->products[tk->index[pk[i].tk_row * tk->width + j]].s);
            html_raw(d, "<div>%zu of %zu held-out products in the top %zu</div>", found, g,
                     tk->width);
        }
        html_raw(d, "<div class=\"key\">%s</div></div>\n", key);
    }
    html_raw(d, "</div>\n");
    rc = 0;
out:
    if (!pk) stl_fail(err, "out of memory");
    free(pk);
    key_index_free(&held_of);
    return rc;
}
