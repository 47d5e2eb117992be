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

# cuda_build: true when $STL_BIN holds the CUDA build (make CUDA=1), whose
# --version names the CUDA runtime.
cuda_build() { "$STL_BIN/stl-topk" --version 2>/dev/null | grep -q '^  CUDA runtime '; }

# device_cuda_refused STAGE DESC CMD...: CMD (which passes --device cuda) is
# refused as this build must on a machine without a GPU (every CI machine): a
# usage error (exit 2) in the CPU build; in the CUDA build a runtime error
# (exit 1) naming the CUDA error.
device_cuda_refused() {
    local st=$1 desc=$2; shift 2
    if cuda_build; then
        fails_with 1 "^stl-$st: --device cuda: no usable GPU \(cudaGetDeviceCount: .+\)" \
            "$desc (CUDA build: exit 1)" "$@"
    else
        fails_with 2 "^stl-$st: --device cuda: this build has no CUDA path" "$desc (CPU build: exit 2)" "$@"
    fi
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
