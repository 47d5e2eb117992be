/* model_id.h — which model made an embeddings or top-k file.
 *
 * Scene embeddings of one model and product embeddings of another used to go
 * through stl-topk and stl-eval unnoticed (their scores mean nothing
 * together). A model's identity is 16 hex digits of a 64-bit hash of what an
 * embedding depends on: its parameters and BatchNorm running averages (not
 * the step or the Adam moments). stl-embed records it in every embeddings
 * file, stl-topk in every top-k file, and every reader of several of them
 * refuses a mixture. An empty identity is unknown (the book's JSON form, a
 * file of an older stlrec) and mixes with anything.
 */
#ifndef STL_MODEL_ID_H
#define STL_MODEL_ID_H

#include <stddef.h>

#include "base/error.h"
#include "model/params.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { MODEL_ID_LEN = 16 };

/* out: MODEL_ID_LEN lowercase hex digits and a NUL. */
void model_id_of(const model_state *m, char *out);
/* 1 when s is MODEL_ID_LEN lowercase hex digits. */
int model_id_valid(const char *s);
/* 1 when both identities are known and differ. */
int model_id_mixed(const char *a, const char *b);
/* The first known identity among ids, or "" (NULL entries are skipped). */
const char *model_id_known(const char *const *ids, size_t n);
/* 0 when every known identity of ids (n files, named by what) is the same;
 * else -1 with err naming two that differ. */
int model_id_check_same(const char *const *ids, const char *const *what, size_t n,
                        stl_error *err);

#ifdef __cplusplus
}
#endif

#endif
