/* model_id.c — a model's identity and the check that files agree on it
 * (model_id.h).
 */
#include "formats/model_id.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/rng.h"

/* Any fixed value: the identity only has to be the same for the same model. */
#define MODEL_ID_SEED 0x6d6f64656c2d6964ull

void model_id_of(const model_state *m, char *out) {
    uint64_t h = rng_hash(MODEL_ID_SEED, m->params, m->table.n_params * sizeof *m->params);
    h = rng_hash(h, m->stats, m->table.n_stats * sizeof *m->stats);
    snprintf(out, MODEL_ID_LEN + 1, "%016" PRIx64, h);
}

int model_id_valid(const char *s) {
    if (strlen(s) != MODEL_ID_LEN) return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return 0;
    return 1;
}

int model_id_mixed(const char *a, const char *b) {
    return a && b && a[0] && b[0] && strcmp(a, b) != 0;
}

const char *model_id_known(const char *const *ids, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (ids[i] && ids[i][0]) return ids[i];
    return "";
}

int model_id_check_same(const char *const *ids, const char *const *what, size_t n,
                        stl_error *err) {
    size_t first = n;
    for (size_t i = 0; i < n; i++) {
        if (!ids[i] || !ids[i][0]) continue;
        if (first == n) {
            first = i;
        } else if (strcmp(ids[i], ids[first]) != 0) {
            return stl_fail(err, "%s was made by model %s, but %s by model %s: outputs of "
                            "different models do not mix (rerun the stages downstream of the "
                            "model)", what[first], ids[first], what[i], ids[i]);
        }
    }
    return 0;
}
