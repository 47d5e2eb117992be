/* test_eval_file.c — the eval metrics JSON (common/formats/eval_file.c):
 * the exact bytes of the writer (key order, indent, 15-digit reals, final
 * newline), a write → read round trip, the writer leaving no temporary
 * behind and failing cleanly, and the reader refusing a file with a key
 * missing, of the wrong type, out of range or of another format, naming the
 * file and the key.
 */
#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "check_files.h"
#include "formats/eval_file.h"

static char dir[] = "/tmp/test_eval_file.XXXXXX";

static const char *tmp(const char *name) { return check_path(dir, name); }

static eval_metrics metrics(double base) {
    eval_metrics m = {{base, base + 0.125, base + 0.25, 1.0},
                      {base, base + 0.25, base + 0.5, 1.0},
                      base + 0.0625,
                      0.5,
                      7,
                      9};
    return m;
}

static eval_file sample(void) {
    eval_file f = {0};
    f.in_topk = "run/tk.mpk";
    f.in_triplets = "run/t.mpk";
    f.in_scenes = "run/s \"q\".emb"; /* escaped in JSON */
    f.in_products = "run/p.emb";
    f.seed = 42;
    f.sim_rounds = 10;
    f.test_scenes = 18;
    f.test_pairs = 37;
    f.test_triplets = 185;
    f.products = 29;
    f.model = metrics(0.0);
    f.random_exact = metrics(0.25);
    f.random_simulated = metrics(0.125);
    f.random_simulated.mrr = 1.0 / 3.0; /* not exact in 15 digits */
    f.topk_k = 5;
    f.topk_checked = 18;
    f.topk_agreeing = 17;
    f.topk_missing = 0;
    return f;
}

static const char *metrics_text(char *buf, size_t cap, const char *name, const char *r,
                                const char *h, const char *mrr) {
    snprintf(buf, cap,
             "  \"%s\": {\n    \"recall\": {\n%s    },\n    \"hit_rate\": {\n%s    },\n"
             "    \"mrr\": %s,\n    \"auc\": 0.5\n  },\n",
             name, r, h, mrr);
    return buf;
}

static void test_exact_bytes(void) {
    eval_file f = sample();
    stl_error err;
    CHECK(eval_file_write(tmp("a.json"), &f, &err) == 0);
    char m1[400], m2[400], m3[400], want[3000];
    metrics_text(m1, sizeof m1, "model",
                 "      \"1\": 0.0,\n      \"5\": 0.125,\n      \"10\": 0.25,\n      \"50\": 1.0\n",
                 "      \"1\": 0.0,\n      \"5\": 0.25,\n      \"10\": 0.5,\n      \"50\": 1.0\n",
                 "0.0625");
    metrics_text(m2, sizeof m2, "random_exact",
                 "      \"1\": 0.25,\n      \"5\": 0.375,\n      \"10\": 0.5,\n      \"50\": 1.0\n",
                 "      \"1\": 0.25,\n      \"5\": 0.5,\n      \"10\": 0.75,\n      \"50\": 1.0\n",
                 "0.3125");
    metrics_text(m3, sizeof m3, "random_simulated",
                 "      \"1\": 0.125,\n      \"5\": 0.25,\n      \"10\": 0.375,\n      \"50\": 1.0\n",
                 "      \"1\": 0.125,\n      \"5\": 0.375,\n      \"10\": 0.625,\n      \"50\": 1.0\n",
                 "0.333333333333333");
    snprintf(want, sizeof want,
             "{\n  \"format\": \"stlrec-eval-metrics\",\n  \"version\": 1,\n  \"inputs\": {\n"
             "    \"topk\": \"run/tk.mpk\",\n    \"triplets\": \"run/t.mpk\",\n"
             "    \"scenes\": \"run/s \\\"q\\\".emb\",\n    \"products\": \"run/p.emb\"\n  },\n"
             "  \"seed\": 42,\n  \"sim_rounds\": 10,\n"
             "  \"k\": [\n    1,\n    5,\n    10,\n    50\n  ],\n"
             "  \"test_scenes\": 18,\n  \"test_pairs\": 37,\n  \"test_triplets\": 185,\n"
             "  \"products\": 29,\n%s%s%s"
             "  \"topk_check\": {\n    \"k\": 5,\n    \"scenes_checked\": 18,\n"
             "    \"scenes_agreeing\": 17,\n    \"scenes_missing\": 0\n  }\n}\n",
             m1, m2, m3);
    size_t n;
    unsigned char *got = check_slurp(tmp("a.json"), &n);
    CHECK(got != NULL);
    if (got) {
        got[n] = '\0';
        CHECK_STR_EQ((const char *)got, want);
    }
    free(got);
    /* atomic: nothing but the file itself in the directory */
    DIR *d = opendir(dir);
    int others = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        others += e->d_name[0] != '.' || strstr(e->d_name, ".tmp.") != NULL;
    if (d) closedir(d);
    CHECK_EQ_INT(others, 1);
    remove(tmp("a.json"));
}

static void test_round_trip(void) {
    eval_file f = sample(), g;
    stl_error err;
    CHECK(eval_file_write(tmp("r.json"), &f, &err) == 0);
    CHECK(eval_file_read(tmp("r.json"), &g, &err) == 0);
    CHECK_STR_EQ(g.in_topk, f.in_topk);
    CHECK_STR_EQ(g.in_triplets, f.in_triplets);
    CHECK_STR_EQ(g.in_scenes, f.in_scenes);
    CHECK_STR_EQ(g.in_products, f.in_products);
    CHECK_EQ_INT(g.seed, 42);
    CHECK_EQ_INT(g.sim_rounds, 10);
    CHECK_EQ_INT(g.test_scenes, 18);
    CHECK_EQ_INT(g.test_pairs, 37);
    CHECK_EQ_INT(g.test_triplets, 185);
    CHECK_EQ_INT(g.products, 29);
    CHECK_EQ_INT(g.topk_k, 5);
    CHECK_EQ_INT(g.topk_checked, 18);
    CHECK_EQ_INT(g.topk_agreeing, 17);
    CHECK_EQ_INT(g.topk_missing, 0);
    const eval_metrics *a[3] = {&f.model, &f.random_exact, &f.random_simulated};
    const eval_metrics *b[3] = {&g.model, &g.random_exact, &g.random_simulated};
    for (int j = 0; j < 3; j++) {
        for (int i = 0; i < EVAL_N_K; i++) {
            CHECK(b[j]->recall[i] == a[j]->recall[i]); /* exact in 15 digits */
            CHECK(b[j]->hit_rate[i] == a[j]->hit_rate[i]);
        }
        CHECK_CLOSE(b[j]->mrr, a[j]->mrr, 1e-15, 0);
        CHECK(b[j]->auc == a[j]->auc);
        CHECK_EQ_INT(b[j]->n_scenes, 0); /* not in the file */
    }
    /* what was read writes back to the same bytes */
    CHECK(eval_file_write(tmp("r2.json"), &g, &err) == 0);
    size_t n1, n2;
    unsigned char *b1 = check_slurp(tmp("r.json"), &n1), *b2 = check_slurp(tmp("r2.json"), &n2);
    CHECK(b1 && b2 && n1 == n2 && n1 > 0 && memcmp(b1, b2, n1) == 0);
    free(b1);
    free(b2);
    eval_file_free(&g);
    CHECK(g.owned_ == NULL && g.in_topk == NULL);
}

static void test_write_fails_cleanly(void) {
    eval_file f = sample();
    stl_error err;
    err.msg[0] = '\0';
    CHECK(eval_file_write(tmp("no/such/dir/m.json"), &f, &err) == -1);
    CHECK(strstr(err.msg, "no/such/dir") != NULL);
}

/* Writes the sample, edits it with jansson (path "a.b.c" deleted, or set to
 * v when v is non-NULL), reads it back: must fail with the file and want in
 * the message. */
static void expect_refused(const char *key, json_t *v, const char *want) {
    eval_file f = sample(), g;
    stl_error err;
    CHECK(eval_file_write(tmp("e.json"), &f, &err) == 0);
    json_t *root = json_load_file(tmp("e.json"), 0, NULL);
    CHECK(root != NULL);
    if (!root) return;
    char k[128];
    snprintf(k, sizeof k, "%s", key);
    json_t *o = root;
    char *part = k, *dot;
    while ((dot = strchr(part, '.')) != NULL) {
        *dot = '\0';
        o = json_object_get(o, part);
        part = dot + 1;
    }
    if (v) json_object_set_new(o, part, v);
    else CHECK(json_object_del(o, part) == 0);
    CHECK(json_dump_file(root, tmp("e.json"), JSON_INDENT(2)) == 0);
    json_decref(root);
    err.msg[0] = '\0';
    memset(&g, 0x5a, sizeof g);
    int rc = eval_file_read(tmp("e.json"), &g, &err);
    CHECK_EQ_INT(rc, -1);
    CHECK(g.owned_ == NULL); /* nothing to free on failure */
    if (!strstr(err.msg, tmp("e.json")) || !strstr(err.msg, want)) {
        fprintf(stderr, "  %s: message \"%s\" lacks the file or \"%s\"\n", key, err.msg, want);
        CHECK(0);
    }
    if (rc == 0) eval_file_free(&g);
}

static void test_refused(void) {
    expect_refused("random_exact.mrr", NULL, "key \"random_exact.mrr\": missing");
    expect_refused("model.recall.5", NULL, "key \"model.recall.5\": missing");
    expect_refused("random_simulated.hit_rate.50", NULL,
                   "key \"random_simulated.hit_rate.50\": missing");
    expect_refused("topk_check.scenes_missing", NULL, "key \"topk_check.scenes_missing\"");
    expect_refused("inputs.scenes", NULL, "key \"inputs.scenes\": missing");
    expect_refused("test_pairs", NULL, "key \"test_pairs\": missing");
    expect_refused("model", NULL, "key \"model\": missing");
    expect_refused("inputs.topk", json_integer(3), "key \"inputs.topk\": not a string");
    expect_refused("seed", json_string("1"), "key \"seed\": not an integer");
    expect_refused("products", json_integer(-1), "key \"products\": not an integer >= 0");
    expect_refused("sim_rounds", json_integer(0), "key \"sim_rounds\"");
    expect_refused("model.auc", json_real(1.5), "key \"model.auc\": 1.5 is outside [0, 1]");
    expect_refused("model.hit_rate", json_array(), "key \"model.hit_rate\": not an object");
    expect_refused("k", json_pack("[iiii]", 1, 5, 10, 100), "key \"k\"");
    expect_refused("version", json_integer(2), "key \"version\": 2");
    expect_refused("format", json_string("stlrec-topk"), "not an stl-eval metrics file");
    expect_refused("format", NULL, "not an stl-eval metrics file");
}

static void test_not_json(void) {
    eval_file g;
    stl_error err;
    check_spill(tmp("t.json"), "{\"format\": ", 11);
    CHECK(eval_file_read(tmp("t.json"), &g, &err) == -1);
    CHECK(strstr(err.msg, tmp("t.json")) != NULL && strstr(err.msg, "line 1") != NULL);
    CHECK(eval_file_read(tmp("absent.json"), &g, &err) == -1);
    CHECK(strstr(err.msg, "absent.json") != NULL);
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    RUN(test_exact_bytes);
    RUN(test_round_trip);
    RUN(test_write_fails_cleanly);
    RUN(test_refused);
    RUN(test_not_json);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_summary();
}
