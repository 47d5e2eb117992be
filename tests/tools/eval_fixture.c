/* eval_fixture.c — test helper for stl-eval and stl-report: writes a small
 * hand-made triplets file whose metrics tests/stage/test_eval.sh works out
 * by hand.
 *
 *   eval_fixture OUT
 *
 * Scenes s0..s3 (keys "a…a0".."a…a3"), products p0..p5 ("b…b0".."b…b5").
 * Held-out test scenes: s0 with {p2, p3}, s1 with {p0}, s2 with {p1, p4, p3};
 * s3 is a training scene. Test triplets (scene, pos, neg): (s0,p2,p0),
 * (s0,p3,p5), (s1,p0,p1), (s1,p5,p0), (s2,p1,p0), (s2,p3,p0). The
 * embeddings that go with it are written by the test as JSON.
 */
#include <stdio.h>
#include <string.h>

#include "formats/triplets.h"

static void key(stl_key *k, char c, int i) {
    memset(k->s, c, STL_KEY_LEN);
    k->s[STL_KEY_LEN - 1] = (char)('0' + i);
    k->s[STL_KEY_LEN] = '\0';
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: eval_fixture OUT\n");
        return 2;
    }
    stl_key scenes[4], products[6];
    for (int i = 0; i < 4; i++) key(&scenes[i], 'a', i);
    for (int i = 0; i < 6; i++) key(&products[i], 'b', i);
    triplet train[2] = {{3, 0, 1}, {3, 5, 2}};
    triplet test[6] = {{0, 2, 0}, {0, 3, 5}, {1, 0, 1}, {1, 5, 0}, {2, 1, 0}, {2, 3, 0}};
    uint32_t held_scene[3] = {0, 1, 2}, held_offset[4] = {0, 2, 3, 6};
    uint32_t held_product[6] = {2, 3, 0, 1, 4, 3};
    triplets_file t;
    memset(&t, 0, sizeof t);
    triplets_params_default(&t.params);
    t.params.num_neg = 1; /* the reader checks triplets = pairs x num_neg */
    t.counts.lines = t.counts.pairs_read = t.counts.used = 8;
    t.counts.train_pairs = 2;
    t.counts.test_pairs = 6;
    t.counts.train_scenes = 1;
    t.counts.test_scenes = 3;
    t.n_scenes = 4;
    t.n_products = 6;
    t.scenes = scenes;
    t.products = products;
    t.n_train = 2;
    t.train = train;
    t.n_test = 6;
    t.test = test;
    t.n_held_scenes = 3;
    t.held_scene = held_scene;
    t.held_offset = held_offset;
    t.held_product = held_product;
    stl_error err;
    if (triplets_write(argv[1], &t, &err) != 0) {
        fprintf(stderr, "eval_fixture: %s\n", err.msg);
        return 1;
    }
    return 0;
}
