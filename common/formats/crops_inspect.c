/* crops_inspect.c — stl-inspect's view of crop shards: a summary of an index
 * file, a shard file or a whole crop directory (text or one JSON object),
 * and the export of one stored crop as a P6 PPM. See crops_inspect.h. */
#include "formats/crops_inspect.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/atomic.h"
#include "formats/crops.h"
#include "formats/crops_write.h"
#include "image/jpeg_decode.h"
#include "io/mpk.h"

static void json_str(FILE *out, const char *s, size_t n) {
    fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') fprintf(out, "\\%c", ch);
        else if (ch < 0x20) fprintf(out, "\\u%04x", ch);
        else fputc(ch, out);
    }
    fputc('"', out);
}

static int inspect_dir(const char *path, int json, FILE *out, stl_error *err) {
    crops_set *c;
    if (crops_open(path, &c, err) != 0) return -1;
    int S = crops_size(c);
    size_t n = crops_count(c);
    if (json) {
        fputs("{\"dir\":", out);
        json_str(out, path, strlen(path));
        fprintf(out, ",\"format\":\"%s\",\"size\":%d,\"channels\":3,\"images\":%zu}\n",
                CROPS_INDEX_FORMAT, S, n);
    } else {
        fprintf(out, "crop directory: %s\nsize: %d x %d x 3 (uint8 RGB)\nimages: %zu\n", path, S,
                S, n);
        if (n) fprintf(out, "first key: %s\n", crops_key(c, 0));
    }
    crops_close(c);
    return 0;
}

static int inspect_index(const mpk_file *f, int json, FILE *out, stl_error *err) {
    uint64_t size, part, parts, requested;
    const char *mode;
    size_t mode_len;
    const msgpack_object_array *shards, *keys, *rejects;
    if (mpk_get_u64(f, f->root, "size", &size, err) ||
        mpk_get_str(f, f->root, "mode", &mode, &mode_len, err) ||
        mpk_get_u64(f, f->root, "part", &part, err) ||
        mpk_get_u64(f, f->root, "parts", &parts, err) ||
        mpk_get_u64(f, f->root, "requested", &requested, err) ||
        mpk_get_array(f, f->root, "shards", &shards, err) ||
        mpk_get_array(f, f->root, "keys", &keys, err) ||
        mpk_get_array(f, f->root, "rejects", &rejects, err))
        return -1;
    size_t by[JPEG_STATUS_COUNT + 1] = {0};
    for (uint32_t i = 0; i < rejects->size; i++) {
        const char *r;
        size_t rl;
        if (mpk_get_str(f, &rejects->ptr[i], "reason", &r, &rl, err) != 0) return -1;
        int k = 1;
        while (k < JPEG_STATUS_COUNT &&
               !(strlen(jpeg_status_name(k)) == rl && memcmp(jpeg_status_name(k), r, rl) == 0))
            k++;
        by[k]++; /* k == JPEG_STATUS_COUNT: a reason this version does not know */
    }
    if (json) {
        fputs("{\"file\":", out);
        json_str(out, f->path, strlen(f->path));
        fprintf(out, ",\"format\":\"%s\",\"version\":%u,\"size\":%llu,\"channels\":3,\"mode\":",
                f->format, f->version, (unsigned long long)size);
        json_str(out, mode, mode_len);
        fprintf(out, ",\"part\":%llu,\"parts\":%llu,\"images\":%u,\"requested\":%llu,\"shards\":[",
                (unsigned long long)part, (unsigned long long)parts, keys->size,
                (unsigned long long)requested);
        for (uint32_t s = 0; s < shards->size; s++) {
            const char *fn;
            size_t fl;
            uint64_t cnt;
            if (mpk_get_str(f, &shards->ptr[s], "file", &fn, &fl, err) ||
                mpk_get_u64(f, &shards->ptr[s], "count", &cnt, err))
                return -1;
            fputs(s ? ",{\"file\":" : "{\"file\":", out);
            json_str(out, fn, fl);
            fprintf(out, ",\"count\":%llu}", (unsigned long long)cnt);
        }
        fprintf(out, "],\"rejected\":%u,\"rejects\":{", rejects->size);
        int first = 1;
        for (int k = 1; k <= JPEG_STATUS_COUNT; k++) {
            if (!by[k]) continue;
            fprintf(out, "%s\"%s\":%zu", first ? "" : ",",
                    k < JPEG_STATUS_COUNT ? jpeg_status_name(k) : "other", by[k]);
            first = 0;
        }
        fputs("}}\n", out);
        return 0;
    }
    fprintf(out, "file: %s\nformat: %s (version %u)\nsize: %llu x %llu x 3 (uint8 RGB)\n"
            "mode: %.*s\npart: %llu of %llu\nimages: %u (of %llu requested)\nshards: %u\n",
            f->path, f->format, f->version, (unsigned long long)size,
            (unsigned long long)size, (int)mode_len, mode, (unsigned long long)part,
            (unsigned long long)parts, keys->size, (unsigned long long)requested, shards->size);
    for (uint32_t s = 0; s < shards->size; s++) {
        const char *fn;
        size_t fl;
        uint64_t cnt;
        if (mpk_get_str(f, &shards->ptr[s], "file", &fn, &fl, err) ||
            mpk_get_u64(f, &shards->ptr[s], "count", &cnt, err))
            return -1;
        fprintf(out, "  %.*s: %llu images\n", (int)fl, fn, (unsigned long long)cnt);
    }
    fprintf(out, "rejected: %u", rejects->size);
    for (int k = 1; k <= JPEG_STATUS_COUNT; k++)
        if (by[k])
            fprintf(out, " %s=%zu", k < JPEG_STATUS_COUNT ? jpeg_status_name(k) : "other", by[k]);
    fputc('\n', out);
    return 0;
}

static int inspect_shard(const mpk_file *f, int json, FILE *out, stl_error *err) {
    uint64_t size, part, parts, shard, count;
    const void *pix;
    size_t plen;
    if (mpk_get_u64(f, f->root, "size", &size, err) ||
        mpk_get_u64(f, f->root, "part", &part, err) ||
        mpk_get_u64(f, f->root, "parts", &parts, err) ||
        mpk_get_u64(f, f->root, "shard", &shard, err) ||
        mpk_get_u64(f, f->root, "count", &count, err) ||
        mpk_get_bin(f, f->root, "pixels", &pix, &plen, (size_t)-1, err))
        return -1;
    if (json) {
        fputs("{\"file\":", out);
        json_str(out, f->path, strlen(f->path));
        fprintf(out, ",\"format\":\"%s\",\"version\":%u,\"size\":%llu,\"channels\":3,"
                "\"part\":%llu,\"parts\":%llu,\"shard\":%llu,\"images\":%llu,"
                "\"pixel_bytes\":%zu,\"file_bytes\":%zu}\n",
                f->format, f->version, (unsigned long long)size, (unsigned long long)part,
                (unsigned long long)parts, (unsigned long long)shard,
                (unsigned long long)count, plen, f->size);
        return 0;
    }
    fprintf(out, "file: %s\nformat: %s (version %u)\nsize: %llu x %llu x 3 (uint8 RGB)\n"
            "part: %llu of %llu, shard %llu\nimages: %llu\npixel bytes: %zu (file %zu bytes)\n",
            f->path, f->format, f->version, (unsigned long long)size, (unsigned long long)size,
            (unsigned long long)part, (unsigned long long)parts, (unsigned long long)shard,
            (unsigned long long)count, plen, f->size);
    return 0;
}

int crops_inspect(const char *path, int json, FILE *out, stl_error *err) {
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return inspect_dir(path, json, out, err);
    mpk_file f;
    if (mpk_file_open(&f, path, NULL, CROPS_VERSION, err) != 0) return -1;
    int rc;
    if (strcmp(f.format, CROPS_INDEX_FORMAT) == 0) rc = inspect_index(&f, json, out, err);
    else if (strcmp(f.format, CROPS_SHARD_FORMAT) == 0) rc = inspect_shard(&f, json, out, err);
    else rc = stl_fail(err, "%s: is a %s file, not a crop index or shard", path, f.format);
    mpk_file_close(&f);
    if (rc == 0 && (fflush(out) != 0 || ferror(out)))
        rc = stl_fail(err, "writing the description failed");
    return rc;
}

int crops_export_ppm(const char *dir, const char *key, const char *out_ppm, stl_error *err) {
    crops_set *c;
    if (crops_open(dir, &c, err) != 0) return -1;
    long i = crops_find(c, key);
    if (i < 0) {
        crops_close(c);
        return stl_fail(err, "%s: key '%s' is not in the crop set (rejected or not requested: "
                        "see stl-inspect on its index)", dir, key);
    }
    int S = crops_size(c);
    atomic_file af;
    if (atomic_open(&af, out_ppm, err) != 0) {
        crops_close(c);
        return -1;
    }
    atomic_printf(&af, "P6\n%d %d\n255\n", S, S);
    atomic_write(&af, crops_pixels(c, (size_t)i), (size_t)S * S * 3, NULL);
    int rc = atomic_commit(&af, err);
    crops_close(c);
    return rc;
}
