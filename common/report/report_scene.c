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
    double hit;        /* share of its held-out products in the top K */
    size_t first;      /* top-K position of its best-ranked held-out product (K+1: none) */
    uint64_t order;    /* seeded hash of the key: the order among equals */
} scene_pick;

/* Best first: more of the scene's products in the top K, then the first of
 * them higher, then the seeded hash (a deterministic order among equals). */
static int cmp_pick(const void *a, const void *b) {
    const scene_pick *x = a, *y = b;
    if (x->hit != y->hit) return x->hit > y->hit ? -1 : 1;
    if (x->first != y->first) return x->first < y->first ? -1 : 1;
    if (x->order != y->order) return x->order < y->order ? -1 : 1;
    return (x->tk_row > y->tk_row) - (x->tk_row < y->tk_row);
}

static const char *category_of(const report *r, const char *key) {
    return r->have_cat ? catalog_index_category(&r->cat, key) : NULL;
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

/* The rank (0: not known) and score of held-out product hk of this scene:
 * among all products with the embeddings, else its place in the top K. */
static void held_rank(const report *r, const scene_pick *p, int have_scores, const char *hk,
                      long *rank, double *score, long *emb_row) {
    const topk_file *tk = &r->tk;
    size_t w = tk->width;
    *rank = 0;
    *score = NAN;
    *emb_row = have_scores ? embeddings_find(&r->pe, hk) : -1;
    if (*emb_row >= 0) {
        *rank = (long)eval_rank(r->scores, r->pe.n, (size_t)*emb_row);
        *score = r->scores[*emb_row];
        return;
    }
    for (size_t k = 0; k < w; k++)
        if (strcmp(tk->products[tk->index[p->tk_row * w + k]].s, hk) == 0) {
            *rank = (long)k + 1;
            *score = tk->score[p->tk_row * w + k];
        }
}

/* The scene at up to its natural size (SCENE_THUMB), with a box over each
 * held-out product the pairs place in it, labelled with the product's rank. */
static void scene_with_boxes(html_doc *d, report *r, const scene_pick *p, const char *key,
                             int have_scores) {
    html_raw(d, "<div class=\"scenebox\" id=\"scene\">");
    report_thumb_tag(d, r, key, SCENE_THUMB, "../");
    for (size_t i = 0; r->have_pairs && p->held >= 0 && i < r->pairs.n; i++) {
        const stl_pair *pr = &r->pairs.v[i];
        if (!pr->has_bbox || strcmp(pr->scene.s, key) != 0 ||
            !is_ground_truth(r, p->held, pr->product.s))
            continue;
        long rank, row;
        double score;
        held_rank(r, p, have_scores, pr->product.s, &rank, &score, &row);
        float x0 = pr->bbox[0], y0 = pr->bbox[1], x1 = pr->bbox[2], y1 = pr->bbox[3];
        x0 = x0 < 0 ? 0 : x0 > 1 ? 1 : x0;
        y0 = y0 < 0 ? 0 : y0 > 1 ? 1 : y0;
        x1 = x1 < x0 ? x0 : x1 > 1 ? 1 : x1;
        y1 = y1 < y0 ? y0 : y1 > 1 ? 1 : y1;
        html_raw(d, "<div class=\"bbox\" title=\"%s\" style=\"left:%.2f%%;top:%.2f%%;"
                    "width:%.2f%%;height:%.2f%%\"><span>", pr->product.s, 100.0 * x0,
                 100.0 * y0, 100.0 * (x1 - x0), 100.0 * (y1 - y0));
        if (rank > 0) html_raw(d, "#%ld", rank);
        else html_raw(d, "?");
        html_raw(d, "</span></div>");
    }
    html_raw(d, "</div>\n");
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
    int have_scores = p->held >= 0 && scene_scores(r, key) == 0;
    scene_with_boxes(d, r, p, key, have_scores);
    if (r->have_pairs && p->held >= 0)
        html_raw(d, "<p class=\"note\">Boxes: where the scene's held-out products are (the "
                    "pairs' bounding boxes), each labelled with its rank in the model's "
                    "list.</p>\n");
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
            long rank, j;
            double score;
            held_rank(r, p, have_scores, hk, &rank, &score, &j);
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

/* One card of the index: the scene, how the model did, its key. */
static void index_card(html_doc *d, report *r, const scene_pick *p) {
    const topk_file *tk = &r->tk;
    const char *key = tk->scenes[p->tk_row].s;
    html_raw(d, "<div class=\"card\"><a href=\"scene/%s.html\">", key);
    report_thumb_tag(d, r, key, PRODUCT_THUMB, "");
    html_raw(d, "</a>");
    if (p->held >= 0) {
        const triplets_file *t = r->t;
        size_t g = t->held_offset[p->held + 1] - t->held_offset[p->held];
        html_raw(d, "<div>%.0f%% of %zu held-out products in the top %zu", 100.0 * p->hit, g,
                 tk->width);
        if (p->first <= tk->width) html_raw(d, ", the first at #%zu", p->first);
        html_raw(d, "</div>");
    }
    html_raw(d, "<div class=\"key\">%s</div></div>\n", key);
}

/* Ranks the test scenes by how well the model did, writes the pages of the
 * best and the worst, and lists them on the index in both orders. */
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
    size_t n = 0, w = tk->width;
    for (size_t i = 0; i < tk->n_scenes; i++) {
        long h = r->t ? key_index_find(&held_of, tk->scenes[i].s) : -1;
        if (r->t && h < 0) continue; /* with triplets: test scenes only */
        scene_pick *q = &pk[n++];
        q->tk_row = i;
        q->held = h;
        q->order = rng_hash(0x5ce4e5, tk->scenes[i].s, STL_KEY_LEN);
        q->hit = 0;
        q->first = w + 1;
        if (h < 0) continue;
        size_t g = r->t->held_offset[h + 1] - r->t->held_offset[h], found = 0;
        for (size_t j = 0; j < w; j++)
            if (is_ground_truth(r, h, tk->products[tk->index[i * w + j]].s)) {
                found++;
                if (q->first > w) q->first = j + 1;
            }
        q->hit = g ? (double)found / (double)g : 0;
    }
    qsort(pk, n, sizeof *pk, cmp_pick);
    /* the best half of the pages from the front, the worst half from the back */
    size_t show = n < (size_t)r->o.max_scenes ? n : (size_t)r->o.max_scenes;
    size_t n_best = (show + 1) / 2, n_worst = show - n_best;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/scene", r->o.out);
    if (dirs_create(dir, err) != 0) goto out;
    for (size_t i = 0; i < n_best; i++)
        if (scene_page(r, &pk[i], err) != 0) goto out;
    for (size_t i = 0; i < n_worst; i++)
        if (scene_page(r, &pk[n - 1 - i], err) != 0) goto out;
    html_raw(d, "<h2>Test scenes</h2>\n<p>%zu of the %zu %s, ranked by how many of their "
                "held-out products the model puts in its top %zu (then by the rank of the "
                "first): the best and the worst, each with a page.</p>\n"
                "<h3>Best first</h3>\n<div class=\"grid\" id=\"best\">\n",
             show, n, r->t ? "held-out test scenes" : "scenes", w);
    for (size_t i = 0; i < n_best; i++) index_card(d, r, &pk[i]);
    html_raw(d, "</div>\n<h3>Worst first</h3>\n<div class=\"grid\" id=\"worst\">\n");
    for (size_t i = 0; i < n_worst; i++) index_card(d, r, &pk[n - 1 - i]);
    html_raw(d, "</div>\n");
    rc = 0;
out:
    if (!pk) stl_fail(err, "out of memory");
    free(pk);
    key_index_free(&held_of);
    return rc;
}
