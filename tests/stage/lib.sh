# lib.sh — helpers for the shell tests of stage binaries (sourced, not run).
#
# Each test script sources this, calls `ok`, `fails_with` or `check` per
# assertion, and ends with `finish`, which prints "N passed, N failed" and
# exits non-zero when anything failed. $STL_BIN is the directory of the stage
# binaries; $T is a fresh scratch directory removed at exit.
set -u
: "${STL_BIN:?STL_BIN must point at the stage binaries (make test sets it)}"
STL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STL_SHARED=${STL_SHARED:-$STL_ROOT/../shared}
T=$(mktemp -d "${TMPDIR:-/tmp}/stltest.XXXXXX")
trap 'rm -rf "$T"' EXIT
export STL_QUIET=1
_passed=0
_failed=0

pass() { _passed=$((_passed + 1)); echo "ok $1"; }
fail() { _failed=$((_failed + 1)); echo "not ok $1" >&2; }

# ok DESC CMD...: CMD must exit 0.
ok() {
    local desc=$1; shift
    if "$@" >"$T/.out" 2>"$T/.err"; then pass "$desc"; else
        fail "$desc (exit $?: $(head -c 400 "$T/.err"))"; fi
}

# fails_with CODE PATTERN DESC CMD...: CMD must exit CODE and print one
# stderr line matching the extended regex PATTERN.
fails_with() {
    local code=$1 pat=$2 desc=$3; shift 3
    "$@" >"$T/.out" 2>"$T/.err"
    local rc=$?
    if [ "$rc" -ne "$code" ]; then
        fail "$desc (exit $rc, want $code: $(head -c 400 "$T/.err"))"
    elif ! grep -Eq -- "$pat" "$T/.err"; then
        fail "$desc (stderr does not match /$pat/: $(head -c 400 "$T/.err"))"
    else pass "$desc"; fi
}

# check DESC CONDITION...: CONDITION (a command, e.g. `[ a = a ]`) must succeed.
check() {
    local desc=$1; shift
    if "$@"; then pass "$desc"; else fail "$desc"; fi
}

finish() {
    echo "$_passed passed, $_failed failed"
    [ "$_failed" -eq 0 ]
}
