/* testhook.c — STL_TEST_DIE_AT crash points (testhook.h). */
#include "base/testhook.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int testhook_armed(const char *point, int64_t step) {
    const char *v = getenv("STL_TEST_DIE_AT");
    if (!v || !*v) return 0;
    const char *colon = strrchr(v, ':');
    if (!colon) return 0;
    size_t n = (size_t)(colon - v);
    if (n != strlen(point) || strncmp(v, point, n) != 0) return 0;
    char *end;
    long long s = strtoll(colon + 1, &end, 10);
    return *end == '\0' && s == (long long)step;
}

void testhook_point(const char *point, int64_t step) {
    if (!testhook_armed(point, step)) return;
    fprintf(stderr, "STL_TEST_DIE_AT: dying at %s:%lld\n", point, (long long)step);
    fflush(stderr);
    kill(getpid(), SIGKILL);
    _exit(137); /* not reached */
}

int testhook_at(const char *var, int64_t step) {
    const char *v = getenv(var);
    if (!v || !*v) return 0;
    char *end;
    long long s = strtoll(v, &end, 10);
    return *end == '\0' && s == (long long)step;
}
