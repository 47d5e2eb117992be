/* topk_select.c — the host's form of the top-k selection (topk_select.h). */
#include "retrieval/topk_select.h"

int topk_select_host(const float *scores, long rows, long n, long ld, uint32_t base0, int k,
                     int first, float *bs, uint32_t *bi, void *stream) {
    (void)stream;
    if (rows < 0 || n < 0 || ld < n || k < 1) return -1;
    for (long r = 0; r < rows; r++)
        gm_topk_select_row(scores + r * ld, n, base0, k, first, bs + r * k, bi + r * k);
    return 0;
}
