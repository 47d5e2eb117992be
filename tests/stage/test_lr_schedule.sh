#!/usr/bin/env bash
# test_lr_schedule.sh — stl-train's learning-rate schedules against optax
# itself (the pinned .venv): constant as optax.adam(lr) takes it, and
# warmup-cosine as optax.warmup_cosine_decay_schedule(0, lr, W, D, end), for
# every update count 0..N-1 including past D. optax computes in float32, so
# a value may differ by float32 rounding: 2 ulps of the peak rate.
. "$(dirname "$0")/lib.sh"
: "${STL_BUILD:?STL_BUILD must point at the build directory}"
VPY=$STL_ROOT/.venv/bin/python
TOOL=$STL_BUILD/tools/lr_values
check "the pinned .venv with optax" "$VPY" -c 'import optax'
compare() { # DESC optax-expression ARGS...: stlrec's values against optax's
    local desc=$1 expr=$2; shift 2
    "$TOOL" "$@" > "$T/ours" 2>"$T/err" || { fail "$desc: lr_values failed: $(cat "$T/err")"; return; }
    check "$desc" "$VPY" - "$T/ours" "$expr" <<'EOF'
import sys
import numpy as np
import optax
ours = np.loadtxt(sys.argv[1], ndmin=1)
sched = eval(sys.argv[2], {"optax": optax})
theirs = np.array([float(sched(i)) for i in range(len(ours))])
peak = max(abs(theirs).max(), 1e-30)
bad = np.abs(ours - theirs) > 2 * np.finfo(np.float32).eps * peak
if bad.any():
    i = int(np.argmax(bad))
    sys.exit(f"update {i}: stlrec {ours[i]!r}, optax {theirs[i]!r}")
EOF
}
compare "constant equals optax.constant_schedule" "optax.constant_schedule(1.6e-4)" \
    constant 1.6e-4 50
compare "warmup-cosine equals optax, W 10 of D 100, to 1e-5, past the end" \
    "optax.warmup_cosine_decay_schedule(0.0, 1e-3, 10, 100, 1e-5)" \
    warmup-cosine 1e-3 10 100 1e-5 130
compare "warmup-cosine without a warmup, down to 0" \
    "optax.warmup_cosine_decay_schedule(0.0, 3e-4, 0, 2000, 0.0)" \
    warmup-cosine 3e-4 0 2000 0 2000
compare "a long warmup" "optax.warmup_cosine_decay_schedule(0.0, 2e-3, 700, 1000, 1e-4)" \
    warmup-cosine 2e-3 700 1000 1e-4 1000
fails_with 1 "warmup .* must be shorter than the schedule" "a warmup as long as the schedule is refused" \
    "$TOOL" warmup-cosine 1e-3 100 100 0 5
finish
