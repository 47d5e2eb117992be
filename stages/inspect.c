/* inspect.c — stl-inspect: look inside any stlrec file without writing code.
 *
 * `stl-inspect FILE` prints the format, version and each header field with a
 * short summary (values of scalars, lengths of strings, arrays, maps and
 * binary blobs); `--json` dumps the whole content as JSON (binary blobs are
 * summarised by their size). Formats with their own inspector (listed in
 * inspect_formats below) print a format-aware summary instead. Flax model
 * files (no stlrec header: a TrainState map) are recognised and summarised
 * by their tensors. `--crop KEY --out FILE.ppm` on a crop directory writes
 * one stored crop as a binary PPM.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/cli.h"
#include "formats/embeddings.h"
#include "formats/inspect_formats.h"
#include "base/log.h"
#include "io/mapped_file.h"
#include "io/mpk.h"
#include "io/mpk_json.h"
#include "formats/embeddings_npy.h"
#include "formats/json_inspect.h"

static void describe(const msgpack_object *o) {
    switch (o->type) {
    case MSGPACK_OBJECT_STR:
        if (o->via.str.size <= 80) printf("\"%.*s\"", (int)o->via.str.size, o->via.str.ptr);
        else printf("string of %u bytes", o->via.str.size);
        break;
    case MSGPACK_OBJECT_BIN: printf("binary, %u bytes", o->via.bin.size); break;
    case MSGPACK_OBJECT_ARRAY: printf("array of %u", o->via.array.size); break;
    case MSGPACK_OBJECT_MAP: printf("map of %u entries", o->via.map.size); break;
    case MSGPACK_OBJECT_EXT: printf("ext type %d, %u bytes", o->via.ext.type, o->via.ext.size); break;
    default: mpk_json_print(stdout, o, -1);
    }
}

static void print_fields(const msgpack_object *root) {
    for (uint32_t i = 0; i < root->via.map.size; i++) {
        const msgpack_object_kv *kv = &root->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR) continue;
        printf("  %-22.*s ", (int)kv->key.via.str.size, kv->key.via.str.ptr);
        describe(&kv->val);
        printf("\n");
    }
}

/* Counts ndarrays (ext type 1) and their bytes in a Flax state tree. */
static void count_arrays(const msgpack_object *o, size_t *n, size_t *bytes) {
    if (o->type == MSGPACK_OBJECT_EXT && o->via.ext.type == 1) {
        (*n)++;
        *bytes += o->via.ext.size;
    } else if (o->type == MSGPACK_OBJECT_MAP) {
        for (uint32_t i = 0; i < o->via.map.size; i++) count_arrays(&o->via.map.ptr[i].val, n, bytes);
    } else if (o->type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < o->via.array.size; i++) count_arrays(&o->via.array.ptr[i], n, bytes);
    }
}

/* Files without the stlrec header: Flax model files or plain msgpack. */
static int inspect_plain(const char *path, int json, stl_error *err) {
    mapped_file mf;
    if (mapped_file_open(&mf, path, err) != 0) return -1;
    msgpack_unpacked up;
    if (mpk_unpack_buffer(mf.data, mf.size, &up, path, err) != 0) {
        mapped_file_close(&mf);
        return stl_fail_prefix(err, "not an stlrec file");
    }
    const msgpack_object *root = &up.data;
    if (json) {
        mpk_json_print(stdout, root, 2);
        printf("\n");
    } else if (root->type == MSGPACK_OBJECT_MAP && mpk_get(root, "params") && mpk_get(root, "opt_state")) {
        size_t n = 0, bytes = 0;
        count_arrays(mpk_get(root, "params"), &n, &bytes);
        printf("%s: model file (Flax TrainState msgpack: step, params, opt_state)\n", path);
        printf("  params+batch_stats    %zu arrays, %zu bytes\n", n, bytes);
        print_fields(root);
    } else {
        printf("%s: msgpack without an stlrec header\n", path);
        if (root->type == MSGPACK_OBJECT_MAP) print_fields(root);
    }
    msgpack_unpacked_destroy(&up);
    mapped_file_close(&mf);
    return 0;
}

/* Does the file's first non-blank byte open a JSON object? */
int main(int argc, char **argv) {
    log_set_program("stl-inspect");
    int json = 0;
    const char *crop = NULL, *out = NULL, *npy = NULL;
    cli_option opts[] = {
        {.name = "json", .type = CLI_FLAG, .target = &json, .help = "dump the whole content as JSON"},
        {.name = "crop", .type = CLI_STRING, .target = &crop, .metavar = "KEY",
         .help = "with a crop directory: export the stored crop of KEY (needs --out)"},
        {.name = "out", .type = CLI_STRING, .target = &out, .metavar = "FILE.ppm",
         .help = "where --crop writes its binary PPM (P6)"},
        {.name = "npy", .type = CLI_STRING, .target = &npy, .metavar = "FILE.npy",
         .help = "with embeddings (a file, a part or a comma list of parts): write the matrix "
                 "for numpy and the keys beside it (FILE.keys.txt)"},
    };
    cli_spec spec = {
        .program = "stl-inspect",
        .summary = "Print the format, version, header fields and a summary of any stlrec file\n"
                   "(crop shards or directory, triplets, embeddings, top-k lists, model files)\n"
                   "and of the JSON files around them (pairs JSONL, catalog, stl-eval's metrics,\n"
                   "a model's sidecar, the book's JSON embeddings).",
        .positional = "FILE",
        .opts = opts,
        .n_opts = (int)(sizeof opts / sizeof opts[0]),
    };
    int code;
    if (cli_run(&spec, argc, argv, &code) != 0) return code;
    const char *path = spec.positional_value;
    stl_error err;
    if ((crop != NULL) != (out != NULL)) {
        log_errorf("--crop and --out go together");
        return STL_EXIT_USAGE;
    }
    if (npy) {
        embeddings e;
        int rc = strchr(path, ',') ? embeddings_read(path, &e, &err)
                                   : embeddings_read_part(path, &e, &err);
        if (rc == 0) rc = embeddings_write_npy(npy, e.keys, e.n, e.dim, e.data, &err);
        if (rc == 0) embeddings_free(&e);
        if (rc != 0) {
            log_error(&err);
            return STL_EXIT_FAIL;
        }
        return STL_EXIT_OK;
    }
    if (crop) {
        if (inspect_export_crop(path, crop, out, &err) != 0) {
            log_error(&err);
            return STL_EXIT_FAIL;
        }
        return STL_EXIT_OK;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        stl_fail(&err, "%s: no such file or directory", path);
        log_error(&err);
        return STL_EXIT_FAIL;
    }
    if (S_ISDIR(st.st_mode)) {
        if (inspect_directory(path, json, stdout, &err) != 0) {
            log_error(&err);
            return STL_EXIT_FAIL;
        }
        return STL_EXIT_OK;
    }
    mpk_file f;
    if (mpk_file_open(&f, path, NULL, 0, &err) != 0) {
        if (embeddings_is_json(path, NULL) == 1) { /* pairs, catalog, metrics, sidecar, embeddings */
            if (json_inspect(path, json, stdout, &err) != 0) {
                log_error(&err);
                return STL_EXIT_FAIL;
            }
            return fflush(stdout) == 0 ? STL_EXIT_OK : STL_EXIT_FAIL;
        }
        if (inspect_plain(path, json, &err) != 0) {
            log_error(&err);
            return STL_EXIT_FAIL;
        }
        return fflush(stdout) == 0 ? STL_EXIT_OK : STL_EXIT_FAIL;
    }
    int rc = 0, handled = 0;
    if (inspect_format(&f, json, stdout, &handled, &err) != 0) rc = -1;
    if (!handled && rc == 0) {
        if (json) {
            mpk_json_print(stdout, f.root, 2);
            printf("\n");
        } else {
            printf("%s: %s version %u, %zu bytes\n", path, f.format, f.version, f.size);
            print_fields(f.root);
        }
    }
    mpk_file_close(&f);
    if (rc != 0) {
        log_error(&err);
        return STL_EXIT_FAIL;
    }
    return fflush(stdout) == 0 ? STL_EXIT_OK : STL_EXIT_FAIL;
}
