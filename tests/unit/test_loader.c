/* test_loader.c — the background batch loader (common/train/loader.h) on a fake
 * pixel source where image i is filled with the byte i, so every batch slot
 * says which triplet it holds. Checks: each epoch uses every triplet once
 * (a batch may straddle epochs), pixels come out as the crops' bytes, the
 * slices of 2 ranks put together are the 1-rank batch, a loader started from
 * a batch's `end` position continues exactly as the uninterrupted one, and
 * epochs are reshuffled (two epochs differ) deterministically in the seed;
 * every batch names its images by index, and with indices_only carries
 * nothing else; a streamed run's hooks (the buffers' allocator, the stage
 * callback with each batch's slot, a failing stage) do what loader.h says.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "train/loader.h"

enum { S = 4, N_ITEMS = 13, IMG = S * S * 3 };
static uint8_t pix[N_ITEMS * 3][IMG];
static loader_item items[N_ITEMS];

static const uint8_t *fake_pixels(void *ctx, uint32_t i) {
    (void)ctx;
    return pix[i];
}

static void setup(void) {
    for (int i = 0; i < N_ITEMS * 3; i++) memset(pix[i], i, IMG);
    for (int i = 0; i < N_ITEMS; i++)
        items[i] = (loader_item){(uint32_t)(3 * i), (uint32_t)(3 * i + 1), (uint32_t)(3 * i + 2)};
}

static int byte_of(const uint8_t *img) { return img[0]; }

/* Runs `nb` batches of global batch B on rank r of N from start; writes the
 * triplet index of each local slot into out (nb * B/N). */
static int run_loader(int B, int r, int N, const loader_pos *start, int nb, int *out,
                      loader_pos *end) {
    loader_config c = {.items = items, .n_items = N_ITEMS, .pixels = fake_pixels,
                       .image_size = S, .global_batch = B, .rank = r, .nranks = N, .depth = 2};
    loader *l;
    stl_error err;
    if (loader_create(&c, start, &l, &err) != 0) return -1;
    int bad = 0;
    for (int k = 0; k < nb; k++) {
        const loader_batch *b = loader_next(l);
        if ((int)b->index != k || b->n != B / N) bad = 1;
        for (int j = 0; j < b->n; j++) {
            int s = byte_of(b->scene + (size_t)j * IMG);
            int p = byte_of(b->pos + (size_t)j * IMG), q = byte_of(b->neg + (size_t)j * IMG);
            if (s % 3 != 0 || p != s + 1 || q != s + 2) bad = 1;
            /* the whole image is its source's bytes, the last one too */
            if (b->neg[(size_t)j * IMG + IMG - 1] != q) bad = 1;
            /* and the indices name those images */
            if (b->scene_idx[j] != (uint32_t)s || b->pos_idx[j] != (uint32_t)p ||
                b->neg_idx[j] != (uint32_t)q)
                bad = 1;
            out[k * b->n + j] = s / 3;
        }
        if (end) *end = b->end;
        loader_release(l);
    }
    loader_free(l);
    return bad ? -1 : 0;
}

static void test_epochs_are_permutations(void) {
    enum { B = 5, NB = 13 }; /* 65 = 5 epochs of 13: batches straddle epochs */
    int got[B * NB];
    loader_pos st;
    loader_pos_start(&st, 9);
    loader_pos end;
    CHECK_EQ_INT(run_loader(B, 0, 1, &st, NB, got, &end), 0);
    for (int e = 0; e < 5; e++) {
        int seen[N_ITEMS] = {0};
        for (int i = 0; i < N_ITEMS; i++) seen[got[e * N_ITEMS + i]]++;
        for (int i = 0; i < N_ITEMS; i++) CHECK_EQ_INT(seen[i], 1);
    }
    CHECK(memcmp(got, got + N_ITEMS, N_ITEMS * sizeof(int)) != 0); /* reshuffled */
    CHECK_EQ_INT(end.epoch, 5);
    CHECK_EQ_INT(end.offset, 0);
    int again[B * NB];
    CHECK_EQ_INT(run_loader(B, 0, 1, &st, NB, again, NULL), 0);
    CHECK(memcmp(got, again, sizeof got) == 0);
    loader_pos other;
    loader_pos_start(&other, 10);
    CHECK_EQ_INT(run_loader(B, 0, 1, &other, NB, again, NULL), 0);
    CHECK(memcmp(got, again, sizeof got) != 0);
}

static void test_rank_slices(void) {
    enum { B = 6, NB = 7 };
    int whole[B * NB], r0[B * NB / 2], r1[B * NB / 2];
    loader_pos st;
    loader_pos_start(&st, 3);
    CHECK_EQ_INT(run_loader(B, 0, 1, &st, NB, whole, NULL), 0);
    CHECK_EQ_INT(run_loader(B, 0, 2, &st, NB, r0, NULL), 0);
    CHECK_EQ_INT(run_loader(B, 1, 2, &st, NB, r1, NULL), 0);
    for (int k = 0; k < NB; k++)
        for (int j = 0; j < B / 2; j++) {
            CHECK_EQ_INT(r0[k * 3 + j], whole[k * B + j]);
            CHECK_EQ_INT(r1[k * 3 + j], whole[k * B + 3 + j]);
        }
}

static void test_resume_from_end_position(void) {
    enum { B = 4, NB = 20, CUT = 7 };
    int whole[B * NB], a[B * CUT], b[B * (NB - CUT)];
    loader_pos st, mid;
    loader_pos_start(&st, 77);
    CHECK_EQ_INT(run_loader(B, 0, 1, &st, NB, whole, NULL), 0);
    CHECK_EQ_INT(run_loader(B, 0, 1, &st, CUT, a, &mid), 0);
    CHECK_EQ_INT(mid.epoch, (uint64_t)(B * CUT) / N_ITEMS);
    CHECK_EQ_INT(mid.offset, (uint64_t)(B * CUT) % N_ITEMS);
    CHECK_EQ_INT(run_loader(B, 0, 1, &mid, NB - CUT, b, NULL), 0);
    CHECK(memcmp(a, whole, sizeof a) == 0);
    CHECK(memcmp(b, whole + B * CUT, sizeof b) == 0);
}

/* indices_only: the same images named, no pixels copied (none to read:
 * pixels NULL) or allocated; augmentation, which needs pixels, refused. */
static void test_indices_only(void) {
    enum { B = 6, NB = 9 };
    loader_pos st;
    loader_pos_start(&st, 5);
    int whole[B * NB];
    CHECK_EQ_INT(run_loader(B, 0, 1, &st, NB, whole, NULL), 0);
    loader_config c = {.items = items, .n_items = N_ITEMS, .image_size = S, .global_batch = B,
                       .rank = 0, .nranks = 1, .depth = 2, .indices_only = 1};
    loader *l;
    stl_error err;
    CHECK_EQ_INT(loader_create(&c, &st, &l, &err), 0);
    for (int k = 0; k < NB; k++) {
        const loader_batch *b = loader_next(l);
        CHECK(b->scene == NULL && b->pos == NULL && b->neg == NULL);
        for (int j = 0; j < B; j++) {
            uint32_t t = (uint32_t)whole[k * B + j];
            CHECK(b->scene_idx[j] == 3 * t && b->pos_idx[j] == 3 * t + 1 &&
                  b->neg_idx[j] == 3 * t + 2);
        }
        loader_release(l);
    }
    loader_free(l);
    c.augment = 1;
    CHECK_EQ_INT(loader_create(&c, &st, &l, &err), -1);
    CHECK(strstr(err.msg, "augmentation") != NULL);
}

/* The hooks of a streamed run: pixel buffers from the configured
 * allocator (and back to it), each filled batch handed to the stage
 * callback with its slot (slots in ring order; the callback's index
 * rewrite is what comes out), a failing stage marks its batch. */
typedef struct {
    int allocs, frees, calls, fail_at;
    int slots[16];
} hooks;
static void *h_alloc(void *ctx, size_t bytes) {
    ((hooks *)ctx)->allocs++;
    return malloc(bytes);
}
static void h_free(void *ctx, void *p) {
    ((hooks *)ctx)->frees++;
    free(p);
}
static int h_stage(void *ctx, int slot, loader_batch *b, stl_error *why) {
    hooks *h = ctx;
    if (h->calls < 16) h->slots[h->calls] = slot;
    if (h->calls++ == h->fail_at) return stl_fail(why, "staging failed on purpose");
    for (int j = 0; j < b->n; j++) b->scene_idx[j] = 1000u * (uint32_t)slot + (uint32_t)j;
    return 0;
}
static void test_stage_hooks(void) {
    enum { B = 4, NB = 6, DEPTH = 3 };
    loader_pos st;
    loader_pos_start(&st, 2);
    hooks h = {.fail_at = 4};
    loader_config c = {.items = items, .n_items = N_ITEMS, .pixels = fake_pixels, .image_size = S,
                       .global_batch = B, .rank = 0, .nranks = 1, .depth = DEPTH,
                       .buf_alloc = h_alloc, .buf_free = h_free, .buf_ctx = &h,
                       .stage = h_stage, .stage_ctx = &h};
    loader *l;
    stl_error err;
    CHECK_EQ_INT(loader_create(&c, &st, &l, &err), 0);
    for (int k = 0; k < NB; k++) {
        const loader_batch *b = loader_next(l);
        CHECK(b->failed == (k == 4));
        if (k == 4) CHECK(strstr(b->error.msg, "on purpose") != NULL);
        else CHECK(b->scene_idx[1] == 1000u * (uint32_t)(k % DEPTH) + 1);
        /* the pixels are still the batch's, whatever the stage did */
        CHECK(byte_of(b->pos) == byte_of(b->scene) + 1);
        loader_release(l);
    }
    loader_free(l);
    CHECK_EQ_INT(h.allocs, 3 * DEPTH);
    CHECK_EQ_INT(h.frees, 3 * DEPTH);
    for (int k = 0; k < NB; k++) CHECK_EQ_INT(h.slots[k], k % DEPTH);
    c.indices_only = 1; /* staging needs pixels */
    CHECK_EQ_INT(loader_create(&c, &st, &l, &err), -1);
    CHECK(strstr(err.msg, "staging") != NULL);
}

static void test_bad_config(void) {
    loader_pos st;
    loader_pos_start(&st, 1);
    loader_config c = {.items = items, .n_items = N_ITEMS, .pixels = fake_pixels,
                       .image_size = S, .global_batch = 5, .rank = 0, .nranks = 2, .depth = 2};
    loader *l = NULL;
    stl_error err;
    CHECK_EQ_INT(loader_create(&c, &st, &l, &err), -1);
    CHECK(strstr(err.msg, "cannot be split") != NULL);
    c.global_batch = 4;
    c.n_items = 0;
    CHECK_EQ_INT(loader_create(&c, &st, &l, &err), -1);
    c.n_items = N_ITEMS;
    st.offset = N_ITEMS;
    CHECK_EQ_INT(loader_create(&c, &st, &l, &err), -1);
    CHECK(l == NULL);
}

int main(void) {
    setup();
    RUN(test_epochs_are_permutations);
    RUN(test_rank_slices);
    RUN(test_resume_from_end_position);
    RUN(test_indices_only);
    RUN(test_stage_hooks);
    RUN(test_bad_config);
    return check_summary();
}
