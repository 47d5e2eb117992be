/* test_inputs.c — the JSON inputs: key validation, the key table, the pairs
 * JSON-lines reader on malformed input, the catalog reader's errors, and the
 * key-list reader's detection of pairs / catalog / plain files. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset/catalog.h"
#include "check.h"
#include "dataset/image_path.h"
#include "dataset/keylist.h"
#include "dataset/keys.h"
#include "dataset/pairs.h"

static char path[256];

#define K1 "0123456789abcdef0123456789abcdef"
#define K2 "fedcba9876543210fedcba9876543210"
#define K3 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static void put(const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_key_validation(void) {
    CHECK(key_valid_str(K1));
    CHECK(!key_valid_str("0123456789ABCDEF0123456789abcdef")); /* upper case */
    CHECK(!key_valid_str("0123456789abcdef0123456789abcde"));  /* 31 */
    CHECK(!key_valid_str(K1 "0"));                             /* 33 */
    CHECK(!key_valid_str("../../etc/passwd0123456789abcdef"));
    CHECK(!key_valid_str("0123456789abcdeg0123456789abcdef"));
    CHECK(!key_valid_str(""));
    CHECK(!key_valid("0123456789abcdef\0" "123456789abcdef", 32));
}

static void test_key_index(void) {
    key_index ki;
    key_index_init(&ki);
    stl_error e;
    int added;
    CHECK_EQ_INT(key_index_add(&ki, K1, &added, &e), 0);
    CHECK_EQ_INT(added, 1);
    CHECK_EQ_INT(key_index_add(&ki, K2, &added, &e), 1);
    CHECK_EQ_INT(key_index_add(&ki, K1, &added, &e), 0);
    CHECK_EQ_INT(added, 0);
    CHECK_EQ_INT(key_index_find(&ki, K2), 1);
    CHECK_EQ_INT(key_index_find(&ki, K3), -1);
    /* many keys: growth keeps every mapping */
    char k[33];
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof k, "%032x", i);
        key_index_add(&ki, k, NULL, &e);
    }
    int ok = 1;
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof k, "%032x", i);
        ok &= key_index_find(&ki, k) == i + 2;
    }
    CHECK(ok);
    CHECK_STR_EQ(ki.keys[0].s, K1);
    key_index_free(&ki);
}

static void test_pairs_malformed_lines(void) {
    put("{\"product\": \"" K1 "\", \"scene\": \"" K2 "\", \"bbox\": [0.1, 0.2, 0.5, 0.9]}\n"
        "\n"
        "   \n"
        "{\"product\": \"" K1 "\", \"scene\": \n"                         /* 4: bad JSON */
        "{\"product\": \"" K1 "\"}\n"                                      /* 5: no scene */
        "{\"product\": \"XYZ\", \"scene\": \"" K2 "\"}\n"                  /* 6: bad key */
        "[1, 2]\n"                                                          /* 7: not object */
        "{\"product\": \"" K3 "\", \"scene\": \"" K2 "\", \"bbox\": [1]}\n" /* 8: bad bbox */
        "{\"product\": \"" K3 "\", \"scene\": \"" K1 "\"}\n");             /* 9: ok, no bbox */
    pair_list pl;
    stl_error e;
    CHECK_EQ_INT(pairs_read(path, &pl, &e), 0);
    CHECK_EQ_INT(pl.n, 2);
    CHECK_EQ_INT(pl.lines, 9);
    CHECK_EQ_INT(pl.blank, 2);
    CHECK_EQ_INT(pl.malformed, 5);
    CHECK_EQ_INT(pl.first_bad_line, 4);
    CHECK_STR_EQ(pl.v[0].scene.s, K2);
    CHECK_STR_EQ(pl.v[0].product.s, K1);
    CHECK(pl.v[0].has_bbox);
    CHECK_CLOSE(pl.v[0].bbox[3], 0.9, 1e-6, 0);
    CHECK_EQ_INT(pl.v[1].line, 9);
    CHECK(!pl.v[1].has_bbox);
    pairs_free(&pl);
    CHECK_EQ_INT(pairs_read("/nonexistent/pairs.jsonl", &pl, &e), -1);
    CHECK(strstr(e.msg, "/nonexistent/pairs.jsonl") != NULL);
}

static void test_catalog_reader(void) {
    catalog c;
    stl_error e;
    put("{\"" K2 "\": \"Apparel & Accessories|Shoes\",\n \"" K1 "\": \"Apparel & Accessories|Handbags\"}");
    CHECK_EQ_INT(catalog_read(path, &c, &e), 0);
    CHECK_EQ_INT(c.n, 2);
    CHECK_STR_EQ(c.keys[0].s, K2); /* file order */
    CHECK_STR_EQ(c.categories[1], "Apparel & Accessories|Handbags");
    catalog_free(&c);

    put("{\"" K1 "\": \"a\",\n\"BADKEY\": \"b\"}");
    CHECK_EQ_INT(catalog_read(path, &c, &e), -1);
    CHECK(strstr(e.msg, ":2:") && strstr(e.msg, "BADKEY"));
    put("{\"" K1 "\": 5}");
    CHECK_EQ_INT(catalog_read(path, &c, &e), -1);
    CHECK(strstr(e.msg, "not a string") != NULL);
    put("[\"" K1 "\"]");
    CHECK_EQ_INT(catalog_read(path, &c, &e), -1);
    CHECK(strstr(e.msg, "not a catalog") != NULL);
    put("{}");
    CHECK_EQ_INT(catalog_read(path, &c, &e), -1);
    CHECK(strstr(e.msg, "empty") != NULL);
    put("{\"" K1 "\": \"a\",");
    CHECK_EQ_INT(catalog_read(path, &c, &e), -1);
    CHECK(strstr(e.msg, "invalid JSON") != NULL);
    put("{\"" K1 "\": \"a\", \"" K1 "\": \"b\"}");
    CHECK_EQ_INT(catalog_read(path, &c, &e), -1);
    CHECK(strstr(e.msg, "duplicate") != NULL);
}

static void test_keylist_detection(void) {
    key_index ki;
    keylist_kind kind;
    stl_error e;
    put("{\"product\": \"" K1 "\", \"scene\": \"" K2 "\"}\n{\"product\": \"" K3 "\", \"scene\": \"" K2 "\"}\n");
    key_index_init(&ki);
    CHECK_EQ_INT(keylist_read(path, KEYLIST_ALL, &ki, &kind, &e), 0);
    CHECK_EQ_INT(kind, KEYLIST_KIND_PAIRS);
    CHECK_EQ_INT(ki.n, 3);
    key_index_free(&ki);
    key_index_init(&ki);
    CHECK_EQ_INT(keylist_read(path, KEYLIST_SCENES, &ki, &kind, &e), 0);
    CHECK_EQ_INT(ki.n, 1);
    key_index_free(&ki);
    key_index_init(&ki);
    CHECK_EQ_INT(keylist_read(path, KEYLIST_PRODUCTS, &ki, &kind, &e), 0);
    CHECK_EQ_INT(ki.n, 2);
    key_index_free(&ki);

    put("{\"" K1 "\": \"x\", \"" K3 "\": \"y\"}\n");
    key_index_init(&ki);
    CHECK_EQ_INT(keylist_read(path, KEYLIST_ALL, &ki, &kind, &e), 0);
    CHECK_EQ_INT(kind, KEYLIST_KIND_CATALOG);
    CHECK_EQ_INT(ki.n, 2);
    key_index_free(&ki);

    put("# keys\n" K1 "\n\n" K2 "\n" K1 "\n");
    key_index_init(&ki);
    CHECK_EQ_INT(keylist_read(path, KEYLIST_ALL, &ki, &kind, &e), 0);
    CHECK_EQ_INT(kind, KEYLIST_KIND_PLAIN);
    CHECK_EQ_INT(ki.n, 2);
    key_index_free(&ki);

    put(K1 "\nnot-a-key\n");
    key_index_init(&ki);
    CHECK_EQ_INT(keylist_read(path, KEYLIST_ALL, &ki, &kind, &e), -1);
    CHECK(strstr(e.msg, ":2:") && strstr(e.msg, "not-a-key"));
    key_index_free(&ki);

    /* NUL bytes: a key followed by "\0junk" on its line, and a file of NULs,
     * are not key lists (a C string would stop at the NUL and accept them) */
    static const char nul_line[] = K1 "\n" K2 "\0junk\n";
    FILE *f = fopen(path, "wb");
    fwrite(nul_line, 1, sizeof nul_line - 1, f);
    fclose(f);
    key_index_init(&ki);
    CHECK_EQ_INT(keylist_read(path, KEYLIST_ALL, &ki, &kind, &e), -1);
    CHECK(strstr(e.msg, ":2: a NUL byte") != NULL);
    key_index_free(&ki);
    static const char zeros[64] = {0};
    f = fopen(path, "wb");
    fwrite(zeros, 1, sizeof zeros, f);
    fclose(f);
    key_index_init(&ki);
    CHECK_EQ_INT(keylist_read(path, KEYLIST_ALL, &ki, &kind, &e), -1);
    CHECK(strstr(e.msg, ":1: a NUL byte") != NULL);
    key_index_free(&ki);
}

static int same_result(const char *line, size_t len) {
    stl_pair a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    const char *wa = NULL, *wb = NULL;
    int ra = pairs_parse_line(line, len, &a, &wa);
    int rb = pairs_parse_line_json(line, len, &b, &wb);
    if (ra != rb) {
        fprintf(stderr, "fast/json disagree (%d vs %d) on: %.*s\n", ra, rb, (int)len, line);
        return 0;
    }
    if (ra != 1) return 1;
    int same = strcmp(a.scene.s, b.scene.s) == 0 && strcmp(a.product.s, b.product.s) == 0 &&
               a.has_bbox == b.has_bbox;
    for (int i = 0; same && a.has_bbox && i < 4; i++) same = a.bbox[i] == b.bbox[i];
    if (!same) fprintf(stderr, "fast/json fields differ on: %.*s\n", (int)len, line);
    return same;
}

/* The hand-written fast path of pairs_parse_line must agree with jansson on
 * every line: typical ones, tricky ones, and thousands of random mutations. */
static void test_pairs_fast_path_agrees_with_jansson(void) {
    const char *lines[] = {
        "{\"product\": \"" K1 "\", \"scene\": \"" K2 "\", \"bbox\": [0.1, 0.2, 0.5, 0.9]}\n",
        "{\"scene\":\"" K2 "\",\"product\":\"" K1 "\"}",
        "  {\"bbox\": [0, 1, 1e-1, 5E-1], \"scene\": \"" K2 "\", \"product\": \"" K1 "\"}  \r\n",
        "{\"product\": \"" K1 "\", \"scene\": \"" K2 "\", \"bbox\": [-0, 0.0, 1.0, 1]}",
        "{\"product\": \"" K1 "\", \"scene\": \"" K2 "\", \"bbox\": [01, 0, 1, 1]}",
        "{\"product\": \"" K1 "\", \"scene\": \"" K2 "\", \"bbox\": [.5, 0, 1, 1]}",
        "{\"product\": \"" K1 "\", \"scene\": \"" K2 "\", \"bbox\": [1e400, 0, 1, 1]}",
        "{\"product\": \"" K1 "\", \"scene\": \"" K2 "\", \"bbox\": [0, 0, 1, 1],}",
        "{\"product\": \"" K1 "\", \"scene\": \"" K2 "\", \"scene\": \"" K3 "\"}",
        "{\"product\": \"" K1 "\", \"sc\\u0065ne\": \"" K2 "\"}",
        "{\"product\": \"" K1 "\", \"scene\": \"" K2 "\", \"extra\": {\"a\": [1, 2]}}",
        "{\"product\": \"" K1 "\", \"scene\": \"" K2 "\"} trailing",
        "{\"product\": \"" K1 "\", \"scene\": \"" K2 "\"",
        "{}", "[]", "", "   \n", "null", "{\"product\": 5, \"scene\": \"" K2 "\"}",
    };
    int ok = 1;
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) ok &= same_result(lines[i], strlen(lines[i]));
    CHECK(ok);
    /* random single-byte mutations of a valid line */
    const char *base = lines[0];
    size_t n = strlen(base);
    const char alphabet[] = "{}[],:.-+eE019af\"\\ xA\t\n";
    uint64_t x = 12345;
    char buf[256];
    int agree = 1, fast_hits = 0;
    for (int it = 0; it < 20000; it++) {
        memcpy(buf, base, n);
        size_t len = n;
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t pos = (size_t)(x >> 33) % n;
        char c = alphabet[(x >> 20) % (sizeof alphabet - 1)];
        switch ((x >> 10) % 3) {
        case 0: buf[pos] = c; break;                                                    /* replace */
        case 1: memmove(buf + pos, buf + pos + 1, n - pos - 1); len--; break;          /* delete */
        default: memmove(buf + pos + 1, buf + pos, n - pos); buf[pos] = c; len++; break; /* insert */
        }
        agree &= same_result(buf, len);
        stl_pair p;
        const char *why;
        fast_hits += pairs_parse_line(buf, len, &p, &why) == 1;
    }
    CHECK(agree);
    CHECK(fast_hits > 1000); /* many mutations stay valid (digits, spaces) */
}

/* The CDN rule of docs/dataset.md, written out by hand for one key. */
static void test_image_path(void) {
    const char *k = "0123456789abcdef0123456789abcdef";
    char buf[128];
    CHECK(image_path_build("imgs", IMAGE_PATH_FLAT, k, buf, sizeof buf) == 0);
    CHECK_STR_EQ(buf, "imgs/0123456789abcdef0123456789abcdef.jpg");
    CHECK(image_path_build("imgs", IMAGE_PATH_CDN, k, buf, sizeof buf) == 0);
    CHECK_STR_EQ(buf, "imgs/01/23/45/0123456789abcdef0123456789abcdef.jpg");
    CHECK(image_path_build(IMAGE_PATH_CDN_URL, IMAGE_PATH_CDN, k, buf, sizeof buf) == 0);
    CHECK_STR_EQ(buf, "http://i.pinimg.com/400x/01/23/45/0123456789abcdef0123456789abcdef.jpg");
    /* the longest path fits in strlen(base) + IMAGE_PATH_EXTRA, one less does not */
    size_t need = strlen("imgs/01/23/45/0123456789abcdef0123456789abcdef.jpg") + 1;
    CHECK(need <= strlen("imgs") + IMAGE_PATH_EXTRA);
    CHECK(image_path_build("imgs", IMAGE_PATH_CDN, k, buf, need) == 0);
    CHECK(image_path_build("imgs", IMAGE_PATH_CDN, k, buf, need - 1) == -1);
}

int main(void) {
    snprintf(path, sizeof path, "%s/stl-inputs-%d.json", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    RUN(test_key_validation);
    RUN(test_key_index);
    RUN(test_pairs_malformed_lines);
    RUN(test_pairs_fast_path_agrees_with_jansson);
    RUN(test_catalog_reader);
    RUN(test_keylist_detection);
    RUN(test_image_path);
    unlink(path);
    return check_summary();
}
