#!/usr/bin/env bash
# run.sh — runs every stlrec test and prints one closing "N passed, N failed".
#
# Runs each unit-test binary ($STL_BUILD/tests/test_*) and each shell test
# (tests/stage/test_*.sh), each under a time limit, with its output in
# $STL_BUILD/test-logs/<name>.log. The unit tests of the model's kernels
# (ISA_TESTS) run once per kernel variant this machine executes, with
# STL_ISA set (common/base/isa.h), as <name>.<variant>: an AVX-512 machine also
# tests the AVX2 and baseline kernels. Every test prints its own "N passed,
# N failed" line; those are summed. A test that exits non-zero without
# reporting a failure, or prints no summary, counts as one failure.
# Usage: tests/run.sh [NAME-PATTERN]   (make test-run sets STL_BIN/STL_BUILD)
set -u
cd "$(dirname "$0")/.."
: "${STL_BIN:?set STL_BIN (make test does)}"
: "${STL_BUILD:?set STL_BUILD (make test does)}"
export STL_BIN STL_BUILD STL_ROOT=$PWD
export STL_SHARED=${STL_SHARED:-$PWD/../shared}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_oob_tcp_if_include=lo OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_btl=self,vader
# Leak checking is not part of the contract (jansson/msgpack zones at exit);
# address and UB errors are.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pattern=${1:-}
limit=${STL_TEST_TIMEOUT:-600}
logs=$STL_BUILD/test-logs
mkdir -p "$logs"

ISA_TESTS=" test_ops_grad test_model test_gpu_math test_gpu_kernels test_gpu_step_kernels test_gpu_update_kernels "
variants=$("$STL_BUILD/tools/parity_step" isa) || { echo "run.sh: $STL_BUILD/tools/parity_step isa failed"; exit 1; }

# Entries are PATH or PATH@VARIANT (run with STL_ISA=VARIANT).
tests=()
for t in "$STL_BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    if [[ $ISA_TESTS == *" $(basename "$t") "* ]]; then
        for v in $variants; do tests+=("$t@$v"); done
    else
        tests+=("$t")
    fi
done
for t in tests/stage/test_*.sh; do [ -f "$t" ] && tests+=("$t"); done

total_pass=0
total_fail=0
failed_names=()
t0=$(date +%s)
for entry in "${tests[@]}"; do
    t=${entry%@*}
    variant=
    [[ $entry == *@* ]] && variant=${entry##*@}
    name=$(basename "$t")
    name=${name%.sh}${variant:+.$variant}
    if [ -n "$pattern" ] && [[ $name != *$pattern* ]]; then continue; fi
    s=$(date +%s)
    if [[ $t == *.sh ]]; then
        timeout "$limit" bash "$t" >"$logs/$name.log" 2>&1
    elif [ -n "$variant" ]; then
        STL_ISA=$variant timeout "$limit" "$t" >"$logs/$name.log" 2>&1
    else
        timeout "$limit" "$t" >"$logs/$name.log" 2>&1
    fi
    rc=$?
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$logs/$name.log" | tail -n 1)
    p=0
    f=0
    if [ -n "$line" ]; then
        p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
        f=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
    fi
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    if [ "$rc" -eq 0 ] && [ -z "$line" ]; then f=1; fi
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
    status=ok
    if [ "$f" -ne 0 ]; then
        status=FAIL
        failed_names+=("$name")
    fi
    [ "$rc" -eq 124 ] && status="FAIL (timed out after ${limit}s)"
    printf '%-28s %4d passed %3d failed  %4ds  %s\n' "$name" "$p" "$f" $(( $(date +%s) - s )) "$status"
    if [ "$f" -ne 0 ]; then
        echo "---- last lines of $logs/$name.log"
        grep -E 'FAIL|not ok|error|Error' "$logs/$name.log" | head -n 20
        tail -n 15 "$logs/$name.log"
        echo "----"
    fi
done
echo "tests took $(( $(date +%s) - t0 )) s; logs in $logs"
[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ] && [ "$total_pass" -gt 0 ]
