#!/usr/bin/env bash
# test_cli_contract.sh — every stage's command line against its parser and
# against docs/cli.md: --help (stdout, exit 0) lists exactly the flags the
# parser accepts (--cli-spec), unknown flags exit 2 with a one-line error,
# and the flags of the docs/cli.md contract exist with the right required-ness.
. "$(dirname "$0")/lib.sh"

# docs/cli.md, "The stages": stage -> "required flags | optional flags that must exist"
declare -A contract=(
  [synth]="out | scenes products seed"
  [random]="catalog out | n seed images"
  [fetch]="keys out | base-url layout concurrency rate max-retries timeout max-bytes log"
  [decode]="keys images out | size resize max-pixels threads shard"
  [triplets]="pairs crops out | num-neg test-fraction split negatives seed"
  [train]="triplets crops model | workdir lr reg output-size batch-size max-steps eval-every log-every checkpoint-every keep resume seed metrics device threads"
  [embed]="model crops kind keys out | json npy batch-size device threads shard"
  [topk]="scenes products out | k json device threads shard"
  [eval]="topk triplets scenes products out | seed"
  [report]="out | metrics train-metrics topk triplets images random max-scenes pairs"
  [inspect]=" | json crop out npy"
  [recommend]="model products | k json html images size resize batch-size threads device"
)

n_stages=0
for exe in "$STL_BIN"/stl-*; do
    [ -x "$exe" ] || continue
    st=$(basename "$exe")
    st=${st#stl-}
    n_stages=$((n_stages + 1))
    "$exe" --help >"$T/help" 2>"$T/help.err"
    check "$st: --help exits 0 on stdout" [ $? -eq 0 -a -s "$T/help" -a ! -s "$T/help.err" ]
    check "$st: --help starts with Usage: stl-$st" grep -q "^Usage: stl-$st" "$T/help"
    "$exe" --cli-spec >"$T/spec" 2>/dev/null
    # flags the parser accepts vs flags the help shows
    awk '$2 != "positional" {print $1}' "$T/spec" | grep -v -E '^help$' | sort >"$T/spec.flags"
    grep -oE '^  --[a-z0-9-]+' "$T/help" | sed 's/^  --//' | grep -v '^help$' | sort >"$T/help.flags"
    check "$st: --help lists exactly the parser's flags" diff -u "$T/spec.flags" "$T/help.flags"
    while read -r name type req; do
        [ "$type" = positional ] && continue
        if [ "$req" = 1 ]; then
            check "$st: --$name marked required in --help" grep -qE "^  --$name .*\(required\)" "$T/help"
        fi
    done <"$T/spec"
    fails_with 2 "^stl-$st: unknown option '--no-such-flag'" "$st: unknown flag exits 2" "$exe" --no-such-flag
    c=${contract[$st]-}
    if [ -z "${contract[$st]+x}" ]; then
        fail "$st: not in the docs/cli.md contract table of this test"
        continue
    fi
    req=${c%%|*}
    opt=${c#*|}
    for r in $req; do
        check "$st: contract (docs/cli.md) required --$r" grep -qE "^$r [a-z]+ 1$" "$T/spec"
    done
    for o in $opt; do
        check "$st: contract (docs/cli.md) option --$o" grep -qE "^$o [a-z]+ 0$" "$T/spec"
    done
    if [ -n "${req// /}" ]; then
        fails_with 2 "^stl-$st: missing required option" "$st: missing required flag exits 2" "$exe"
    fi
    "$exe" --version >"$T/version" 2>"$T/version.err"
    check "$st: --version exits 0 naming the stage, stlrec's version and the libraries" \
        sh -c "[ \$? -eq 0 ] && grep -qE '^stl-$st \\(stlrec [0-9]+\\.[0-9]+\\.[0-9]+\\)$' '$T/version' &&
               grep -q 'libjpeg-turbo' '$T/version' && grep -q 'msgpack-c' '$T/version' &&
               grep -q 'OpenBLAS' '$T/version' && [ ! -s '$T/version.err' ]"
    # a near miss of a real option is answered with it: one letter dropped, two swapped
    long=$(awk '$2 != "positional" && length($1) >= 6 && $1 != "version" {print $1; exit}' "$T/spec")
    if [ -n "$long" ]; then
        fails_with 2 "unknown option '--${long%?}' \(did you mean --$long\?" \
            "$st: --${long%?} suggests --$long" "$exe" "--${long%?}"
        swapped=$(echo "$long" | sed -E 's/^(.)(.)/\2\1/')
        fails_with 2 "unknown option '--$swapped' \(did you mean --$long\?" \
            "$st: --$swapped suggests --$long" "$exe" "--$swapped"
    fi
    fails_with 2 "unknown option '--qqqqqqq' \(see --help\)" "$st: a far miss suggests nothing" \
        "$exe" --qqqqqqq
    # A failed write to standard output is a failure, not a silent exit 0.
    fails_with 1 "^stl-$st: standard output: " "$st: --help into a full disk exits 1" \
        sh -c '"$0" --help > /dev/full' "$exe"
    fails_with 1 "^stl-$st: standard output: " "$st: --help with stdout closed exits 1" \
        sh -c '"$0" --help >&-' "$exe"
done
check "found the stage binaries" [ "$n_stages" -ge 2 ]
finish
