/* loss.c — triplet hinge loss plus norm penalty, forward and backward (loss.h). */
#include "model/loss.h"

#include "model/gpu_kernels.h"

/* Each triplet through the GPU kernels' body (gpu_kernels.h: its hinge and
 * penalty terms and its gradient rows), the terms summed in triplet order:
 * the CPU and the GPU compute the loss with the same code. */
double loss_triplet(const float *s, const float *p, const float *n, int B, int D, float reg,
                    int denom, float *ds, float *dp, float *dn) {
    double total = 0.0, terms[2];
    for (int b = 0; b < B; b++) {
        gm_triplet_at(s, p, n, D, reg, denom, b, ds, dp, dn, terms);
        total += terms[0];
        total += reg * terms[1];
    }
    return total * (1.0 / denom);
}
