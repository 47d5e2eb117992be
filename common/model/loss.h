/* loss.h — the triplet loss of docs/model.md on embeddings, with its gradient.
 *
 * For B triplets of D-dimensional embeddings s, p, n (B, D):
 *   loss = (sum_b relu(1 + s_b.n_b - s_b.p_b)
 *           + reg * sum_{e in s, p, n rows} relu(||e|| - 1)) / denom
 * (denom: the global batch). relu'(0) = 0, as JAX.
 */
#ifndef STL_LOSS_H
#define STL_LOSS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Returns the loss; ds, dp, dn (B, D) receive d loss / d embedding
 * (any may be NULL for forward only). */
double loss_triplet(const float *s, const float *p, const float *n, int B, int D, float reg,
                    int denom, float *ds, float *dp, float *dn);

#ifdef __cplusplus
}
#endif

#endif
