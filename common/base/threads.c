/* threads.c — resolving `--threads 0` (threads.h): $STL_THREADS, else the
 * process's share of the cores it may run on.
 */
#include "base/threads.h"

#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

static int clamp(long n) { return n > THREADS_MAX ? THREADS_MAX : (int)n; }

static long online_cpus(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? n : 1;
}

/* Cores in the affinity mask, or 0 when it cannot be read. */
static long bound_cpus(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
    return CPU_COUNT(&set);
}

int threads_available(void) {
    long bound = bound_cpus();
    return clamp(bound >= 1 ? bound : online_cpus());
}

int threads_resolve(long requested, int sharers) {
    if (requested > 0) return clamp(requested);
    const char *env = getenv("STL_THREADS");
    if (env && *env) {
        char *end;
        long n = strtol(env, &end, 10);
        if (*end == '\0' && n > 0) return clamp(n);
    }
    long online = online_cpus(), bound = bound_cpus();
    if (bound >= 1 && bound < online) return clamp(bound); /* the launcher chose these */
    long avail = bound >= 1 ? bound : online;
    long per = avail / (sharers > 0 ? sharers : 1);
    return per >= 1 ? clamp(per) : 1;
}
