/* emb_cat.c — test and pipeline helper: reads embeddings in any form the
 * readers accept (stlrec file, the book's JSON, or a comma-separated list of
 * shard parts) and writes them as one stlrec embeddings file, or with --json
 * as the book's JSON. Concatenates stl-embed --shard parts in the order given.
 *
 *   emb_cat [--json] [--kind scene|product] OUT IN[,IN...]
 */
#include <stdio.h>
#include <string.h>

#include "formats/embeddings.h"

int main(int argc, char **argv) {
    int json = 0, a = 1;
    const char *kind = NULL;
    for (; a < argc && strncmp(argv[a], "--", 2) == 0; a++) {
        if (strcmp(argv[a], "--json") == 0) json = 1;
        else if (strcmp(argv[a], "--kind") == 0 && a + 1 < argc) kind = argv[++a];
        else break;
    }
    if (argc - a != 2) {
        fprintf(stderr, "usage: emb_cat [--json] [--kind scene|product] OUT IN[,IN...]\n");
        return 2;
    }
    embeddings e;
    stl_error err;
    if (embeddings_read(argv[a + 1], &e, &err) != 0) {
        fprintf(stderr, "emb_cat: %s\n", err.msg);
        return 1;
    }
    const char *k = kind ? kind : (e.kind[0] ? e.kind : NULL);
    int rc = json ? embeddings_write_json(argv[a], e.keys, e.n, e.dim, e.data, &err)
                  : embeddings_write_kind(argv[a], k, e.keys, e.n, e.dim, e.data, &err);
    if (rc != 0) fprintf(stderr, "emb_cat: %s\n", err.msg);
    embeddings_free(&e);
    return rc != 0;
}
