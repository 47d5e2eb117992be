/* cli.c — the table-driven command-line parser (see cli.h).
 *
 * One pass over argv: options are `--name=value` or `--name value`, flags take
 * no value, at most one positional argument when the spec names one. Values
 * are converted and range-checked as they are read; required options and the
 * positional are checked at the end. --help and --cli-spec print from the
 * same table, so the help text cannot drift from what the parser accepts.
 */
#include "base/cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/version.h"

static cli_option *cli_find(cli_spec *spec, const char *name, size_t len) {
    for (int i = 0; i < spec->n_opts; i++)
        if (strlen(spec->opts[i].name) == len && strncmp(spec->opts[i].name, name, len) == 0)
            return &spec->opts[i];
    return NULL;
}

/* Edit distance (insertions, deletions, substitutions, adjacent swaps)
 * between a[0..n) and b, capped at 9. */
static int distance(const char *a, size_t n, const char *b) {
    size_t m = strlen(b);
    if (n > 40 || m > 40) return 9;
    int d[41][41];
    for (size_t i = 0; i <= n; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[n][m] > 9 ? 9 : d[n][m];
}

/* The option an unknown name most likely meant: a unique option it is a
 * prefix of (--thread for --threads), else the nearest by edit distance
 * when at most 2 edits and less than a third of the name; or NULL. */
static const char *closest(const cli_spec *spec, const char *name, size_t len) {
    const char *prefix_of = NULL;
    int prefixes = 0;
    for (int i = 0; i < spec->n_opts; i++)
        if (len >= 3 && strncmp(spec->opts[i].name, name, len) == 0) {
            prefix_of = spec->opts[i].name;
            prefixes++;
        }
    if (prefixes == 1) return prefix_of;
    const char *best = NULL;
    int best_d = 9, ties = 0;
    for (int i = 0; i < spec->n_opts; i++) {
        int dist = distance(name, len, spec->opts[i].name);
        if (dist < best_d) {
            best_d = dist;
            best = spec->opts[i].name;
            ties = 0;
        } else if (dist == best_d) {
            ties++;
        }
    }
    if (best && !ties && best_d <= 2 && (size_t)best_d * 3 < len) return best;
    return NULL;
}

static const char *type_name(cli_type t) {
    switch (t) {
    case CLI_STRING: return "string";
    case CLI_INT: return "int";
    case CLI_DOUBLE: return "double";
    case CLI_FLAG: return "flag";
    case CLI_CHOICE: return "choice";
    case CLI_SHARD: return "shard";
    }
    return "?";
}

static const char *metavar(const cli_option *o) {
    if (o->metavar) return o->metavar;
    switch (o->type) {
    case CLI_INT: return "N";
    case CLI_DOUBLE: return "X";
    case CLI_CHOICE: return o->choices;
    case CLI_SHARD: return "i/N";
    default: return "VALUE";
    }
}

static int choice_ok(const char *choices, const char *v) {
    size_t n = strlen(v);
    const char *p = choices;
    while (p && *p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0) return 1;
        p = bar ? bar + 1 : NULL;
    }
    return 0;
}

int cli_parse_shard(const char *s, cli_shard *out, stl_error *err) {
    char *end;
    errno = 0;
    long i = strtol(s, &end, 10);
    if (end == s || *end != '/' || errno) goto bad;
    const char *q = end + 1;
    long n = strtol(q, &end, 10);
    if (end == q || *end != '\0' || errno) goto bad;
    if (n < 1 || i < 0 || i >= n) goto bad;
    out->index = i;
    out->count = n;
    return 0;
bad:
    return stl_fail(err, "'%s': expected i/N with 0 <= i < N", s);
}

static int cli_set(cli_option *o, const char *v, stl_error *err) {
    char *end;
    switch (o->type) {
    case CLI_STRING:
        if (!*v) return stl_fail(err, "--%s: empty value", o->name);
        *(const char **)o->target = v;
        return 0;
    case CLI_CHOICE:
        if (!choice_ok(o->choices, v))
            return stl_fail(err, "--%s: '%s' is not one of %s", o->name, v, o->choices);
        *(const char **)o->target = v;
        return 0;
    case CLI_INT: {
        errno = 0;
        long x = strtol(v, &end, 10);
        if (end == v || *end || errno)
            return stl_fail(err, "--%s: '%s' is not an integer", o->name, v);
        if (o->min < o->max && (x < o->min || x > o->max))
            return stl_fail(err, "--%s: %ld is out of range [%.0f, %.0f]", o->name, x, o->min, o->max);
        *(long *)o->target = x;
        return 0;
    }
    case CLI_DOUBLE: {
        errno = 0;
        double x = strtod(v, &end);
        if (end == v || *end || errno || !isfinite(x))
            return stl_fail(err, "--%s: '%s' is not a number", o->name, v);
        if (o->min < o->max && (x < o->min || x > o->max))
            return stl_fail(err, "--%s: %g is out of range [%g, %g]", o->name, x, o->min, o->max);
        *(double *)o->target = x;
        return 0;
    }
    case CLI_SHARD:
        if (cli_parse_shard(v, (cli_shard *)o->target, err) != 0)
            return stl_fail_prefix(err, "--%s", o->name);
        return 0;
    case CLI_FLAG:
        *(int *)o->target = 1;
        return 0;
    }
    return stl_fail(err, "--%s: bad option type", o->name);
}

static void print_spec(const cli_spec *spec) {
    printf("help flag 0\n");
    printf("version flag 0\n");
    for (int i = 0; i < spec->n_opts; i++) {
        const cli_option *o = &spec->opts[i];
        printf("%s %s %d\n", o->name, type_name(o->type), o->required);
    }
    if (spec->positional) printf("%s positional 1\n", spec->positional);
}

static void print_default(const cli_option *o) {
    switch (o->type) {
    case CLI_STRING:
    case CLI_CHOICE: {
        const char *s = *(const char **)o->target;
        if (s) printf(" (default %s)", s);
        break;
    }
    case CLI_INT: printf(" (default %ld)", *(long *)o->target); break;
    case CLI_DOUBLE: printf(" (default %g)", *(double *)o->target); break;
    default: break;
    }
}

void cli_print_help(const cli_spec *spec) {
    printf("Usage: %s", spec->program);
    if (spec->positional) printf(" %s", spec->positional);
    for (int i = 0; i < spec->n_opts; i++)
        if (spec->opts[i].required) printf(" --%s %s", spec->opts[i].name, metavar(&spec->opts[i]));
    printf(" [options]\n\n%s\n\nOptions:\n", spec->summary);
    for (int i = 0; i < spec->n_opts; i++) {
        const cli_option *o = &spec->opts[i];
        char left[96];
        if (o->type == CLI_FLAG) snprintf(left, sizeof left, "--%s", o->name);
        else snprintf(left, sizeof left, "--%s %s", o->name, metavar(o));
        printf("  %-28s %s", left, o->help ? o->help : "");
        if (o->required) printf(" (required)");
        else if (!o->seen) print_default(o);
        printf("\n");
    }
    printf("  %-28s %s\n", "--help", "print this help and exit");
    printf("  %-28s %s\n", "--version", "print the version and the libraries built with, and exit");
    printf("\nExit status: 0 success, 1 runtime or data error, 2 usage error.\n");
}

int cli_parse(cli_spec *spec, int argc, char **argv, stl_error *err) {
    spec->positional_value = NULL;
    spec->n_positional = 0;
    for (int i = 0; i < spec->n_opts; i++) spec->opts[i].seen = 0;
    int only_positional = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!only_positional && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            cli_print_help(spec);
            return CLI_EXIT_OK;
        }
        if (!only_positional && strcmp(a, "--version") == 0) {
            version_print(stdout, spec->program);
            if (spec->version_extra) printf("%s\n", spec->version_extra);
            return CLI_EXIT_OK;
        }
        if (!only_positional && strcmp(a, "--cli-spec") == 0) {
            print_spec(spec);
            return CLI_EXIT_OK;
        }
        if (!only_positional && strcmp(a, "--") == 0) {
            only_positional = 1;
            continue;
        }
        if (!only_positional && a[0] == '-' && a[1] != '\0') {
            if (a[1] != '-') return stl_fail(err, "unknown option '%s' (options are --name; see --help)", a);
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            cli_option *o = cli_find(spec, name, len);
            if (!o) {
                const char *near = closest(spec, name, len);
                if (near)
                    return stl_fail(err, "unknown option '--%.*s' (did you mean --%s? see --help)",
                                    (int)len, name, near);
                return stl_fail(err, "unknown option '--%.*s' (see --help)", (int)len, name);
            }
            if (o->seen) return stl_fail(err, "--%s given more than once", o->name);
            o->seen = 1;
            const char *v;
            if (o->type == CLI_FLAG) {
                if (eq) return stl_fail(err, "--%s takes no value", o->name);
                v = "1";
            } else if (eq) {
                v = eq + 1;
            } else {
                if (i + 1 >= argc) return stl_fail(err, "--%s needs a value (%s)", o->name, metavar(o));
                v = argv[++i];
            }
            if (cli_set(o, v, err) != 0) return CLI_USAGE;
            continue;
        }
        if (!spec->positional) return stl_fail(err, "unexpected argument '%s' (see --help)", a);
        if (spec->positional_list) {
            if (spec->n_positional >= spec->positional_cap)
                return stl_fail(err, "more than %d %s given", spec->positional_cap, spec->positional);
            spec->positional_list[spec->n_positional++] = a;
            if (!spec->positional_value) spec->positional_value = a;
            continue;
        }
        if (spec->positional_value) return stl_fail(err, "more than one %s given ('%s')", spec->positional, a);
        spec->positional_value = a;
    }
    for (int i = 0; i < spec->n_opts; i++)
        if (spec->opts[i].required && !spec->opts[i].seen)
            return stl_fail(err, "missing required option --%s (see --help)", spec->opts[i].name);
    if (spec->positional && !spec->positional_value)
        return stl_fail(err, "missing %s (see --help)", spec->positional);
    return CLI_PARSED;
}

int cli_run(cli_spec *spec, int argc, char **argv, int *exit_code) {
    stl_error err;
    int r = cli_parse(spec, argc, argv, &err);
    if (r == CLI_PARSED) return 0;
    if (r == CLI_EXIT_OK) {
        *exit_code = STL_EXIT_OK;
        if (fflush(stdout) != 0 || ferror(stdout)) *exit_code = STL_EXIT_FAIL;
        return -1;
    }
    log_error(&err);
    *exit_code = STL_EXIT_USAGE;
    return -1;
}

int cli_given(const cli_spec *spec, const char *name) {
    for (int i = 0; i < spec->n_opts; i++)
        if (strcmp(spec->opts[i].name, name) == 0) return spec->opts[i].seen;
    return 0;
}
