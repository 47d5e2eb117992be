/* crops_write.h — writing the crop shards and index of one part (stl-decode).
 *
 * A part (`--shard i/N`, or 0/1 unsharded) is a set of shard files, each
 * holding one batch of S x S x 3 uint8 crops (64 MiB by default), plus one index
 * file that lists the shards in order, every stored key and every rejected
 * key with its reason. Shards are written as they fill; the index is
 * written last, so a reader (crops.h) never sees a part whose shards are
 * not all in place. Every file goes through mpk.h's atomic writer. Names
 * and fields are documented in docs/formats.md ("Crop shards").
 *
 * The writer owns copies of everything passed to it; free with
 * crops_writer_free (also after a failed commit).
 */
#ifndef STL_CROPS_WRITE_H
#define STL_CROPS_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "dataset/keys.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CROPS_INDEX_FORMAT "stlrec-crops-index"
#define CROPS_SHARD_FORMAT "stlrec-crops-shard"
#define CROPS_VERSION 1
/* Pixel bytes per shard are kept below this (msgpack bin32 and 32-bit
 * readers need < 2 GiB); the default budget is much smaller. */
#define CROPS_MAX_SHARD_BYTES ((size_t)2000 << 20)

typedef struct crops_writer crops_writer;

/* "part-PPPPP-of-NNNNN.index.mpk" / "part-PPPPP-of-NNNNN.shard-SSSSS.mpk" */
void crops_index_name(char *buf, size_t cap, long part, long parts);
void crops_shard_name(char *buf, size_t cap, long part, long parts, long shard);

/* mode: "crop" (crop-or-pad) or "resize". Creates dir if needed and removes
 * this part's index from an earlier run, so that until crops_writer_commit
 * succeeds no index names shards of two runs, and a failed or killed run
 * leaves no index behind. */
int crops_writer_open(crops_writer **out, const char *dir, int size, const char *mode,
                      long part, long parts, stl_error *err);
/* Writes the next shard file: n images, keys[i] with pixels
 * pixels[i*S*S*3 .. (i+1)*S*S*3). n may be 0 (an empty shard keeps the
 * numbering tied to the batch). */
int crops_writer_add_shard(crops_writer *w, const stl_key *keys, const uint8_t *pixels,
                           size_t n, stl_error *err);

/* The two halves of crops_writer_add_shard, for writers that produce shards
 * in parallel: crops_shard_write() writes shard file number `shard` and
 * touches no writer state (safe from any thread); crops_writer_record_shard()
 * then records it, in shard order, as the writer's next shard. */
int crops_shard_write(const char *dir, int size, long part, long parts, long shard,
                      const stl_key *keys, const uint8_t *pixels, size_t n, stl_error *err);
int crops_writer_record_shard(crops_writer *w, const stl_key *keys, size_t n, stl_error *err);
/* Records a key that was not stored; reason is a jpeg_status name. */
int crops_writer_reject(crops_writer *w, const char *key, const char *reason,
                        const char *detail, stl_error *err);
/* Writes the index, then removes shard files of this part left over from an
 * earlier run with more shards. */
int crops_writer_commit(crops_writer *w, stl_error *err);
void crops_writer_free(crops_writer *w);
/* After a failed run: removes this part's shard files 0..n-1 (those the run
 * may have written, in any order) and those numbered after them (an earlier,
 * larger run's, no longer named by any index), so a failed run leaves no
 * file under a final name. */
void crops_remove_shards(const char *dir, long part, long parts, size_t n);

size_t crops_writer_stored(const crops_writer *w);
size_t crops_writer_rejected(const crops_writer *w);

#ifdef __cplusplus
}
#endif

#endif
