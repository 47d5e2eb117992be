/* loss.c — triplet hinge loss plus norm penalty, forward and backward (loss.h). */
#include "model/loss.h"

#include <math.h>

static double dot(const float *a, const float *b, int D) {
    double s = 0;
    for (int i = 0; i < D; i++) s += (double)a[i] * b[i];
    return s;
}

/* reg * relu(||e|| - 1) added to the loss; its gradient added to de. */
static double norm_penalty(const float *e, int D, double k, float *de) {
    double nrm = sqrt(dot(e, e, D));
    if (!(nrm > 1.0)) return 0.0;
    if (de)
        for (int i = 0; i < D; i++) de[i] += (float)(k * e[i] / nrm);
    return nrm - 1.0;
}

double loss_triplet(const float *s, const float *p, const float *n, int B, int D, float reg,
                    int denom, float *ds, float *dp, float *dn) {
    double inv = 1.0 / denom, total = 0.0;
    for (int b = 0; b < B; b++) {
        const float *sb = s + (long)b * D, *pb = p + (long)b * D, *nb = n + (long)b * D;
        float *dsb = ds ? ds + (long)b * D : 0, *dpb = dp ? dp + (long)b * D : 0,
              *dnb = dn ? dn + (long)b * D : 0;
        for (int i = 0; i < D; i++) {
            if (dsb) dsb[i] = 0;
            if (dpb) dpb[i] = 0;
            if (dnb) dnb[i] = 0;
        }
        double h = 1.0 + dot(sb, nb, D) - dot(sb, pb, D);
        if (h > 0) {
            total += h;
            for (int i = 0; i < D; i++) {
                if (dsb) dsb[i] += (float)(inv * ((double)nb[i] - pb[i]));
                if (dpb) dpb[i] -= (float)(inv * sb[i]);
                if (dnb) dnb[i] += (float)(inv * sb[i]);
            }
        }
        double k = (double)reg * inv;
        total += reg * (norm_penalty(sb, D, k, dsb) + norm_penalty(pb, D, k, dpb) +
                        norm_penalty(nb, D, k, dnb));
    }
    return total * inv;
}
