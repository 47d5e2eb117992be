/* version.h — what every stage's --version prints: the project's version and
 * the libraries it was built with (as their headers said at build time) and
 * runs with (where the library can say at run time).
 */
#ifndef STL_VERSION_H
#define STL_VERSION_H

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The stlrec release this tree is (bumped with each release of the formats or
 * command lines, docs/cli.md). */
#define STLREC_VERSION "0.4.0"

/* "stl-x (stlrec 0.4.0)" and one line per library, to out. */
void version_print(FILE *out, const char *program);

#ifdef __cplusplus
}
#endif

#endif
