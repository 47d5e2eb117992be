/* test_topk_file.c — top-k lists files (common/formats/topk_file.c): round trip,
 * merging shard parts (any order gives the unsharded rows; missing,
 * duplicated or foreign parts refused), refusal of truncated and corrupt
 * files, and the inspector's output.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "check_files.h"
#include "base/rng.h"
#include "formats/topk_file.h"

static char dir[] = "/tmp/test_topk_file.XXXXXX";

static const char *tmp(const char *name) { return check_path(dir, name); }

/* A consistent file: n scenes, m products, lists in rank order. */
typedef struct {
    stl_key scenes[40], products[20];
    uint32_t index[40 * 20];
    float score[40 * 20];
    topk_file t;
} fixture;

static void make_fixture(fixture *fx, size_t n, size_t m, size_t k, uint64_t seed) {
    rng_state r;
    rng_seed(&r, seed);
    check_random_keys(&r, fx->scenes, n);
    check_random_keys(&r, fx->products, m);
    size_t w = k < m ? k : m;
    for (size_t i = 0; i < n; i++) {
        uint32_t perm[20];
        for (uint32_t j = 0; j < m; j++) perm[j] = j;
        rng_shuffle_u32(&r, perm, m);
        float s = 10.0f;
        for (size_t e = 0; e < w; e++) {
            fx->index[i * w + e] = perm[e];
            fx->score[i * w + e] = s;
            s -= (float)rng_uniform(&r, 3); // 0 now and then: equal scores
        }
        // equal scores must have increasing indices: sort each tie run
        for (size_t e = 1; e < w; e++)
            for (size_t f = e; f > 0 && fx->score[i * w + f] == fx->score[i * w + f - 1] &&
                               fx->index[i * w + f] < fx->index[i * w + f - 1]; f--) {
                uint32_t t = fx->index[i * w + f];
                fx->index[i * w + f] = fx->index[i * w + f - 1];
                fx->index[i * w + f - 1] = t;
            }
    }
    memset(&fx->t, 0, sizeof fx->t);
    fx->t.n_scenes = n;
    fx->t.n_products = m;
    fx->t.width = w;
    fx->t.k_requested = k;
    fx->t.scenes = fx->scenes;
    fx->t.products = fx->products;
    fx->t.index = fx->index;
    fx->t.score = fx->score;
    fx->t.shard_index = 0;
    fx->t.shard_count = 1;
    fx->t.scenes_total = n;
    strcpy(fx->t.scenes_file, "scenes.emb");
    strcpy(fx->t.products_file, "products.emb");
}

static void check_same(const topk_file *a, const topk_file *b) {
    CHECK_EQ_INT(a->n_scenes, b->n_scenes);
    CHECK_EQ_INT(a->n_products, b->n_products);
    CHECK_EQ_INT(a->width, b->width);
    CHECK_EQ_INT(a->k_requested, b->k_requested);
    if (a->n_scenes != b->n_scenes || a->width != b->width) return;
    size_t cells = a->n_scenes * a->width;
    CHECK(memcmp(a->scenes, b->scenes, a->n_scenes * sizeof *a->scenes) == 0);
    CHECK(memcmp(a->products, b->products, a->n_products * sizeof *a->products) == 0);
    CHECK(memcmp(a->index, b->index, cells * sizeof *a->index) == 0);
    CHECK(memcmp(a->score, b->score, cells * sizeof *a->score) == 0);
}

static int read_fails(const char *path, const char *want) {
    topk_file t;
    stl_error err = {{0}};
    if (topk_file_read(path, &t, &err) == 0) {
        topk_file_free(&t);
        fprintf(stderr, "  %s: read succeeded, expected failure (%s)\n", path, want);
        return 0;
    }
    if (want && !strstr(err.msg, want)) {
        fprintf(stderr, "  %s: error '%s' lacks '%s'\n", path, err.msg, want);
        return 0;
    }
    return 1;
}

static void test_round_trip(void) {
    static fixture fx;
    make_fixture(&fx, 40, 20, 7, 1);
    stl_error err = {{0}};
    CHECK_EQ_INT(topk_file_write(tmp("a.topk"), &fx.t, &err), 0);
    topk_file t;
    CHECK_EQ_INT(topk_file_read(tmp("a.topk"), &t, &err), 0);
    check_same(&t, &fx.t);
    CHECK_STR_EQ(t.scenes_file, "scenes.emb");
    CHECK_STR_EQ(t.products_file, "products.emb");
    CHECK_EQ_INT(t.shard_count, 1);
    CHECK_EQ_INT(t.scenes_total, 40);
    CHECK_EQ_INT(key_index_find(&t.scene_index, fx.scenes[17].s), 17);
    topk_file_free(&t);
    // k larger than the products: width = products
    make_fixture(&fx, 3, 5, 10, 2);
    CHECK_EQ_INT(topk_file_write(tmp("b.topk"), &fx.t, &err), 0);
    CHECK_EQ_INT(topk_file_read(tmp("b.topk"), &t, &err), 0);
    CHECK_EQ_INT(t.width, 5);
    CHECK_EQ_INT(t.k_requested, 10);
    topk_file_free(&t);
    // no scenes
    make_fixture(&fx, 0, 5, 3, 3);
    CHECK_EQ_INT(topk_file_write(tmp("c.topk"), &fx.t, &err), 0);
    CHECK_EQ_INT(topk_file_read(tmp("c.topk"), &t, &err), 0);
    CHECK_EQ_INT(t.n_scenes, 0);
    topk_file_free(&t);
    // the writer refuses inconsistent input
    make_fixture(&fx, 4, 5, 3, 4);
    fx.t.width = 4;
    CHECK_EQ_INT(topk_file_write(tmp("d.topk"), &fx.t, &err), -1);
    fx.t.width = 3;
    fx.index[5] = 5;
    CHECK_EQ_INT(topk_file_write(tmp("d.topk"), &fx.t, &err), -1);
    CHECK(strstr(err.msg, "out of range") != NULL);
}

/* Writes fx's scenes as N block parts p0..p{N-1} (like stl-topk --shard). */
static void write_parts(fixture *fx, size_t n_parts, const size_t *cuts) {
    stl_error err = {{0}};
    for (size_t p = 0; p < n_parts; p++) {
        topk_file part = fx->t;
        part.scenes = fx->scenes + cuts[p];
        part.n_scenes = cuts[p + 1] - cuts[p];
        part.index = fx->index + cuts[p] * fx->t.width;
        part.score = fx->score + cuts[p] * fx->t.width;
        part.shard_index = (long)p;
        part.shard_count = (long)n_parts;
        char name[16];
        snprintf(name, sizeof name, "part%zu", p);
        CHECK_EQ_INT(topk_file_write(tmp(name), &part, &err), 0);
    }
}

static void test_parts(void) {
    static fixture fx;
    make_fixture(&fx, 40, 20, 6, 5);
    size_t cuts[] = {0, 16, 16, 40}; // one empty part
    write_parts(&fx, 3, cuts);
    stl_error err = {{0}};
    char list[1000];
    topk_file t;
    // every order of the parts merges to the unsharded rows
    const int orders[][3] = {{0, 1, 2}, {2, 0, 1}, {1, 2, 0}, {2, 1, 0}};
    for (size_t o = 0; o < 4; o++) {
        char a[256], b[256], c[256];
        snprintf(a, sizeof a, "%s/part%d", dir, orders[o][0]);
        snprintf(b, sizeof b, "%s/part%d", dir, orders[o][1]);
        snprintf(c, sizeof c, "%s/part%d", dir, orders[o][2]);
        snprintf(list, sizeof list, "%s,%s,%s", a, b, c);
        CHECK_EQ_INT(topk_file_read(list, &t, &err), 0);
        check_same(&t, &fx.t);
        CHECK_EQ_INT(t.shard_count, 1);
        topk_file_free(&t);
    }
    // one part alone is an incomplete set: refused by the reader of results,
    // read as it is by the part reader (stl-inspect)
    CHECK(read_fails(tmp("part2"), "part 2/3 of a sharded run: pass all 3 parts"));
    CHECK_EQ_INT(topk_file_read_part(tmp("part2"), &t, &err), 0);
    CHECK_EQ_INT(t.shard_index, 2);
    CHECK_EQ_INT(t.shard_count, 3);
    CHECK_EQ_INT(t.n_scenes, 24);
    CHECK_EQ_INT(t.scenes_total, 40);
    topk_file_free(&t);
    // missing and duplicated parts
    snprintf(list, sizeof list, "%s/part0,%s/part2", dir, dir);
    CHECK(read_fails(list, "pass all 3"));
    snprintf(list, sizeof list, "%s/part0,%s/part2,%s/part2", dir, dir, dir);
    CHECK(read_fails(list, "does not complete"));
    // unsharded files concatenate in the order given
    static fixture g;
    make_fixture(&g, 40, 20, 6, 5); // same products and k, same scenes
    CHECK_EQ_INT(topk_file_write(tmp("whole"), &g.t, &err), 0);
    snprintf(list, sizeof list, "%s/whole,%s/part1", dir, dir);
    CHECK(read_fails(list, "is a shard part"));
    snprintf(list, sizeof list, "%s/whole,%s/whole", dir, dir);
    CHECK(read_fails(list, "also in another part"));
    // another run's products
    static fixture h;
    make_fixture(&h, 10, 20, 6, 6);
    CHECK_EQ_INT(topk_file_write(tmp("other"), &h.t, &err), 0);
    snprintf(list, sizeof list, "%s/whole,%s/other", dir, dir);
    CHECK(read_fails(list, "different product tables"));
}


static void test_corrupt_refused(void) {
    static fixture fx;
    make_fixture(&fx, 4, 6, 3, 7);
    stl_error err = {{0}};
    CHECK_EQ_INT(topk_file_write(tmp("g.topk"), &fx.t, &err), 0);
    size_t len;
    unsigned char *b = check_slurp(tmp("g.topk"), &len);
    size_t refused = 0;
    for (size_t cut = 0; cut < len; cut++) {
        check_spill(tmp("cut.topk"), b, cut);
        refused += read_fails(tmp("cut.topk"), NULL);
    }
    CHECK_EQ_INT(refused, len);
    unsigned char *c = malloc(len);
    // scores are the last blob: swap the first two scores of scene 0 out of order
    size_t cells = 4 * 3;
    memcpy(c, b, len);
    float *sc = (float *)(c + len - cells * 4);
    float hi = 1e6f;
    memcpy(&sc[1], &hi, 4);
    check_spill(tmp("order.topk"), c, len);
    CHECK(read_fails(tmp("order.topk"), "out of rank order"));
    // an index past the product table (indices blob precedes the scores' header)
    memcpy(c, b, len);
    uint32_t big = 6;
    memcpy(c + len - cells * 4 - 2 - 7 - cells * 4, &big, 4);
    check_spill(tmp("index.topk"), c, len);
    CHECK(read_fails(tmp("index.topk"), "out of range"));
    // k inconsistent with k_requested and the products
    memcpy(c, b, len);
    unsigned char *p = memmem(c, len, "\xa1k\x03", 3);
    CHECK(p != NULL);
    if (p) {
        p[2] = 2;
        check_spill(tmp("k.topk"), c, len);
        CHECK(read_fails(tmp("k.topk"), "is not min"));
    }
    CHECK(read_fails(tmp("none.topk"), "cannot open"));
    free(b); free(c);
}

/* Random byte flips of a valid file: refused, or read with the reader's
 * promises kept (indices in range, rows in rank order, scene keys indexed);
 * never a crash (run under SAN=1 too). */
static void test_fuzz(void) {
    static fixture fx;
    make_fixture(&fx, 6, 9, 4, 9);
    stl_error err = {{0}};
    CHECK_EQ_INT(topk_file_write(tmp("fz.topk"), &fx.t, &err), 0);
    size_t len;
    unsigned char *good = check_slurp(tmp("fz.topk"), &len), *buf = malloc(len);
    rng_state r;
    rng_seed(&r, 10);
    // flips start after the header (format, version): the header checks are
    // mpk.c's, tested in test_mpk; here the fields this reader validates
    unsigned char *v = memmem(good, len, "version\x01", 8);
    size_t hdr = v ? (size_t)(v - good) + 8 : 0;
    CHECK(hdr > 0);
    size_t accepted = 0, broken = 0;
    for (int it = 0; it < 1000; it++) {
        memcpy(buf, good, len);
        int flips = 1 + (int)rng_uniform(&r, 4);
        for (int k = 0; k < flips; k++)
            buf[hdr + rng_uniform(&r, len - hdr)] ^= (unsigned char)(1 + rng_uniform(&r, 255));
        check_spill(tmp("fz2.topk"), buf, len);
        topk_file t;
        if (topk_file_read(tmp("fz2.topk"), &t, &err) != 0) continue;
        accepted++;
        broken += t.width != (t.k_requested < t.n_products ? t.k_requested : t.n_products);
        for (size_t i = 0; i < t.n_scenes; i++) {
            broken += key_index_find(&t.scene_index, t.scenes[i].s) != (long)i;
            for (size_t e = 0; e < t.width; e++) {
                broken += t.index[i * t.width + e] >= t.n_products;
                broken += e > 0 && t.score[i * t.width + e] > t.score[i * t.width + e - 1];
            }
        }
        topk_file_free(&t);
    }
    CHECK_EQ_INT(broken, 0);
    CHECK(accepted < 1000);
    free(good); free(buf);
}

static void test_inspect(void) {
    static fixture fx;
    make_fixture(&fx, 5, 8, 4, 8);
    stl_error err = {{0}};
    CHECK_EQ_INT(topk_file_write(tmp("i.topk"), &fx.t, &err), 0);
    FILE *f = fopen(tmp("i.txt"), "w");
    CHECK_EQ_INT(topk_inspect(tmp("i.topk"), 0, f, &err), 0);
    fclose(f);
    size_t len;
    char *s = (char *)check_slurp(tmp("i.txt"), &len);
    s[len] = '\0';
    CHECK(strstr(s, "stlrec-topk version 1") && strstr(s, fx.scenes[0].s) && strstr(s, "k  "));
    free(s);
    f = fopen(tmp("i.json"), "w");
    CHECK_EQ_INT(topk_inspect(tmp("i.topk"), 1, f, &err), 0);
    fclose(f);
    json_error_t je;
    json_t *j = json_load_file(tmp("i.json"), 0, &je);
    CHECK(j != NULL);
    json_t *lists = json_object_get(j, "topk");
    CHECK(json_object_size(lists) == 5);
    json_t *l3 = json_object_get(lists, fx.scenes[3].s);
    CHECK(json_array_size(l3) == 4);
    CHECK_STR_EQ(json_string_value(json_array_get(json_array_get(l3, 1), 0)),
                 fx.products[fx.index[3 * 4 + 1]].s);
    json_decref(j);
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    RUN(test_round_trip);
    RUN(test_parts);
    RUN(test_corrupt_refused);
    RUN(test_fuzz);
    RUN(test_inspect);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_summary();
}
