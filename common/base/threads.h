/* threads.h — the one meaning of `--threads 0` for every stage and library.
 *
 * A stage's --threads N (N > 0) is used as given. 0, the default everywhere,
 * resolves in this order: $STL_THREADS when it is a positive number; else the
 * cores this process may run on (its CPU affinity mask, which taskset, mpirun
 * --bind-to or Slurm's cpu binding narrow), shared evenly by the `sharers`
 * processes started side by side on this node (the MPI ranks of stl-train; 1
 * for everything else), at least 1. When a launcher has already narrowed the
 * mask to fewer cores than the machine has, those cores are this process's
 * own and are not divided again.
 */
#ifndef STL_THREADS_H
#define STL_THREADS_H

#ifdef __cplusplus
extern "C" {
#endif

/* The most threads any stage starts (a larger request is clamped). */
enum { THREADS_MAX = 1024 };

/* requested > 0: min(requested, THREADS_MAX); else the default above. */
int threads_resolve(long requested, int sharers);

/* The cores this process may run on (affinity mask; else the online CPUs). */
int threads_available(void);

#ifdef __cplusplus
}
#endif

#endif
