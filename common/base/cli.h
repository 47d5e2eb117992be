/* cli.h — the command-line parser every stage uses.
 *
 * A stage describes its flags once in a table of cli_option; the same table
 * parses argv (`--name=value` and `--name value`), checks types, ranges,
 * choices and required flags, prints `--help` (stdout, exit 0) and, for the
 * tests, `--cli-spec` (one machine-readable line per flag, so a test can check
 * that --help tells the truth about the parser). Unknown flags are usage
 * errors (exit 2). Targets keep their initial values as defaults.
 */
#ifndef STL_CLI_H
#define STL_CLI_H

#include <stdint.h>

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    CLI_STRING, /* const char **            */
    CLI_INT,    /* long *    (range min..max) */
    CLI_DOUBLE, /* double *  (range min..max) */
    CLI_FLAG,   /* int *     (set to 1; takes no value) */
    CLI_CHOICE, /* const char ** (one of `choices`, "a|b|c") */
    CLI_SHARD,  /* cli_shard * ("i/N", 0 <= i < N) */
} cli_type;

typedef struct {
    long index; /* 0-based part */
    long count; /* number of parts; 1 = unsharded */
} cli_shard;

typedef struct {
    const char *name;    /* without the leading "--" */
    cli_type type;
    void *target;
    const char *metavar; /* e.g. "FILE", "N" (NULL: derived from the type) */
    const char *help;    /* one line; the default is appended by --help */
    int required;
    double min, max;     /* CLI_INT / CLI_DOUBLE; min == max means no range */
    const char *choices; /* CLI_CHOICE */
    int seen;            /* set by the parser */
} cli_option;

typedef struct {
    const char *program;    /* "stl-decode" */
    const char *summary;    /* one paragraph, shown by --help */
    const char *positional; /* e.g. "FILE" (required), or NULL for none */
    cli_option *opts;
    int n_opts;
    const char *positional_value; /* out: the positional argument (the first, when many) */
    /* Many positional arguments (IMAGE...): a caller's array of
     * positional_cap entries; the parser fills it and n_positional. */
    const char **positional_list;
    int positional_cap;
    int n_positional;             /* out */
    const char *version_extra;    /* more --version lines (a stage's own libraries), or NULL */
} cli_spec;

enum { CLI_PARSED = 0, CLI_EXIT_OK = 1, CLI_USAGE = -1 };

/* Returns CLI_PARSED, CLI_EXIT_OK (help/spec printed: exit 0) or CLI_USAGE
 * (err filled: print and exit 2). */
int cli_parse(cli_spec *spec, int argc, char **argv, stl_error *err);

/* Handles the whole protocol for a stage main: parses, prints help or the
 * error, and returns -1 when main should exit with *exit_code. */
int cli_run(cli_spec *spec, int argc, char **argv, int *exit_code);

void cli_print_help(const cli_spec *spec);

/* Was the option given on the command line? */
int cli_given(const cli_spec *spec, const char *name);

/* Parses "i/N" (used for --shard). */
int cli_parse_shard(const char *s, cli_shard *out, stl_error *err);

#ifdef __cplusplus
}
#endif

#endif
