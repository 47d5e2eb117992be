/* version.c — the --version text (version.h). */
#include "base/version.h"

#include <cblas.h>
#include <curl/curl.h>
#include <jansson.h>
#include <jconfig.h>
#include <msgpack.h>
#if STL_CUDA
#include <cuda_runtime_api.h>
#endif

/* Weak: a program that does no matrix work (stl-fetch, stl-synth, ...) is
 * linked without OpenBLAS (the Makefile links --as-needed), and so does not
 * pay for the thread pool OpenBLAS starts when it is loaded; --version then
 * says so. A weak reference does not make the linker keep the library. */
#pragma weak openblas_get_config

#define STR_(x) #x
#define STR(x) STR_(x)

void version_print(FILE *out, const char *program) {
    fprintf(out, "%s (stlrec %s)\n", program, STLREC_VERSION);
    fprintf(out, "built with:\n");
    fprintf(out, "  libjpeg-turbo %s\n", STR(LIBJPEG_TURBO_VERSION));
    fprintf(out, "  msgpack-c %s (run time %s)\n", MSGPACK_VERSION, msgpack_version());
    fprintf(out, "  jansson %s (run time %s)\n", JANSSON_VERSION, jansson_version_str());
    if (openblas_get_config)
        fprintf(out, "  %s\n", openblas_get_config());
    else
        fprintf(out, "  OpenBLAS: not linked (this program does no matrix work)\n");
    fprintf(out, "  libcurl %s (run time %s)\n", LIBCURL_VERSION, curl_version_info(CURLVERSION_NOW)->version);
#if STL_CUDA
    /* The CUDA build (make CUDA=1); tests/stage/lib.sh tells the builds
     * apart by this line. */
    fprintf(out, "  CUDA runtime %d.%d (static)\n", CUDART_VERSION / 1000,
            CUDART_VERSION % 1000 / 10);
#endif
}
