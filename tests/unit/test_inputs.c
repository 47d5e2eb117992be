/* test_inputs.c — the JSON inputs: key validation, the key table, the pairs
 * JSON-lines reader on malformed input, the catalog reader's errors, and the
 * key-list reader's detection of pairs / catalog / plain files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "check.h"
#include "keylist.h"
#include "keys.h"
#include "pairs.h"

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
}

int main(void) {
    snprintf(path, sizeof path, "%s/stl-inputs-%d.json", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    RUN(test_key_validation);
    RUN(test_key_index);
    RUN(test_pairs_malformed_lines);
    RUN(test_catalog_reader);
    RUN(test_keylist_detection);
    unlink(path);
    return check_summary();
}
