/* test_cli.c — the shared command-line parser: both value forms, types,
 * ranges, choices, shards, required options, unknown and repeated flags. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "base/cli.h"

typedef struct {
    const char *out, *mode;
    long n;
    double lr;
    int flag;
    cli_shard shard;
} opts_t;

static cli_spec make_spec(opts_t *o, cli_option *opt) {
    o->out = NULL;
    o->mode = "pairs";
    o->n = 10;
    o->lr = 1.6e-4;
    o->flag = 0;
    o->shard = (cli_shard){0, 1};
    cli_option tmp[] = {
        {.name = "out", .type = CLI_STRING, .target = &o->out, .required = 1, .help = "output"},
        {.name = "n", .type = CLI_INT, .target = &o->n, .min = 1, .max = 100, .help = "count"},
        {.name = "lr", .type = CLI_DOUBLE, .target = &o->lr, .min = 0, .max = 1, .help = "rate"},
        {.name = "mode", .type = CLI_CHOICE, .target = &o->mode, .choices = "pairs|uniform"},
        {.name = "resize", .type = CLI_FLAG, .target = &o->flag},
        {.name = "shard", .type = CLI_SHARD, .target = &o->shard},
    };
    memcpy(opt, tmp, sizeof tmp);
    return (cli_spec){.program = "stl-test", .summary = "test", .opts = opt, .n_opts = 6};
}

static int parse(opts_t *o, stl_error *err, int argc, char **argv) {
    cli_option opt[6];
    cli_spec s = make_spec(o, opt);
    return cli_parse(&s, argc, argv, err);
}

#define ARGV(...) ((char *[]){"stl-test", __VA_ARGS__}), (int)(sizeof((char *[]){"stl-test", __VA_ARGS__}) / sizeof(char *))

static int run(opts_t *o, stl_error *e, char **argv, int argc) { return parse(o, e, argc, argv); }

static void test_both_value_forms(void) {
    opts_t o;
    stl_error e;
    CHECK_EQ_INT(run(&o, &e, ARGV("--out", "a.txt", "--n=5", "--lr", "0.5", "--mode=uniform")), CLI_PARSED);
    CHECK_STR_EQ(o.out, "a.txt");
    CHECK_EQ_INT(o.n, 5);
    CHECK_CLOSE(o.lr, 0.5, 0, 0);
    CHECK_STR_EQ(o.mode, "uniform");
    CHECK_EQ_INT(o.flag, 0);
}

static void test_defaults_kept(void) {
    opts_t o;
    stl_error e;
    CHECK_EQ_INT(run(&o, &e, ARGV("--out=x")), CLI_PARSED);
    CHECK_EQ_INT(o.n, 10);
    CHECK_STR_EQ(o.mode, "pairs");
    CHECK_EQ_INT(o.shard.count, 1);
}

static void test_flags_and_shard(void) {
    opts_t o;
    stl_error e;
    CHECK_EQ_INT(run(&o, &e, ARGV("--out=x", "--resize", "--shard", "2/4")), CLI_PARSED);
    CHECK_EQ_INT(o.flag, 1);
    CHECK_EQ_INT(o.shard.index, 2);
    CHECK_EQ_INT(o.shard.count, 4);
    CHECK_EQ_INT(run(&o, &e, ARGV("--out=x", "--resize=1")), CLI_USAGE);
    CHECK_EQ_INT(run(&o, &e, ARGV("--out=x", "--shard=4/4")), CLI_USAGE);
    CHECK_EQ_INT(run(&o, &e, ARGV("--out=x", "--shard=1")), CLI_USAGE);
    CHECK_EQ_INT(run(&o, &e, ARGV("--out=x", "--shard=-1/2")), CLI_USAGE);
}

static void test_errors(void) {
    opts_t o;
    stl_error e;
    CHECK_EQ_INT(run(&o, &e, ARGV("--n=5")), CLI_USAGE);
    CHECK(strstr(e.msg, "--out") != NULL);
    CHECK_EQ_INT(run(&o, &e, ARGV("--out=x", "--bogus=1")), CLI_USAGE);
    CHECK(strstr(e.msg, "--bogus") != NULL);
    CHECK_EQ_INT(run(&o, &e, ARGV("--out=x", "--n=0")), CLI_USAGE);
    CHECK(strstr(e.msg, "range") != NULL);
    CHECK_EQ_INT(run(&o, &e, ARGV("--out=x", "--n=101")), CLI_USAGE);
    CHECK_EQ_INT(run(&o, &e, ARGV("--out=x", "--n=5x")), CLI_USAGE);
    CHECK_EQ_INT(run(&o, &e, ARGV("--out=x", "--lr=abc")), CLI_USAGE);
    CHECK_EQ_INT(run(&o, &e, ARGV("--out=x", "--lr=nan")), CLI_USAGE);
    CHECK_EQ_INT(run(&o, &e, ARGV("--out=x", "--mode=other")), CLI_USAGE);
    CHECK_EQ_INT(run(&o, &e, ARGV("--out=x", "--out=y")), CLI_USAGE);
    CHECK_EQ_INT(run(&o, &e, ARGV("--out")), CLI_USAGE);
    CHECK_EQ_INT(run(&o, &e, ARGV("--out=x", "stray")), CLI_USAGE);
    CHECK_EQ_INT(run(&o, &e, ARGV("--out=x", "-n")), CLI_USAGE);
}

static void test_help_exits_ok(void) {
    opts_t o;
    stl_error e;
    FILE *saved = stdout;
    stdout = fopen("/dev/null", "w");
    int r1 = run(&o, &e, ARGV("--help"));
    int r2 = run(&o, &e, ARGV("--n=0", "--help"));
    int r3 = run(&o, &e, ARGV("--cli-spec"));
    fclose(stdout);
    stdout = saved;
    CHECK_EQ_INT(r1, CLI_EXIT_OK);
    CHECK_EQ_INT(r2, CLI_USAGE); /* an error before --help is still an error */
    CHECK_EQ_INT(r3, CLI_EXIT_OK);
}

static void test_positional(void) {
    const char *json = NULL;
    int as_json = 0;
    cli_option opt[] = {{.name = "json", .type = CLI_FLAG, .target = &as_json}};
    cli_spec s = {.program = "stl-x", .summary = "x", .positional = "FILE", .opts = opt, .n_opts = 1};
    stl_error e;
    char *a1[] = {"stl-x", "f.bin", "--json"};
    CHECK_EQ_INT(cli_parse(&s, 3, a1, &e), CLI_PARSED);
    CHECK_STR_EQ(s.positional_value, "f.bin");
    CHECK_EQ_INT(as_json, 1);
    char *a2[] = {"stl-x", "--json"};
    CHECK_EQ_INT(cli_parse(&s, 2, a2, &e), CLI_USAGE);
    char *a3[] = {"stl-x", "a", "b"};
    CHECK_EQ_INT(cli_parse(&s, 3, a3, &e), CLI_USAGE);
    (void)json;
}

int main(void) {
    RUN(test_both_value_forms);
    RUN(test_defaults_kept);
    RUN(test_flags_and_shard);
    RUN(test_errors);
    RUN(test_help_exits_ok);
    RUN(test_positional);
    return check_summary();
}
