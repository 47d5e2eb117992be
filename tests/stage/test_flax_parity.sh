#!/usr/bin/env bash
# test_flax_parity.sh — stlrec's model against the same model in Flax (issue 3).
#
# Runs tests/parity/test_flax_parity.py with the project venv: an stlrec model
# file loaded by flax.serialization.from_bytes, one and five training steps on
# a fixed batch compared tensor by tensor (loss, embeddings, every gradient,
# BatchNorm running averages, parameters, Adam moments), and a Flax model file
# read by stlrec giving Flax's inference embeddings. The Python test prints
# one line per check and the closing "N passed, N failed". A missing venv or
# tool is a failure, not a skip: `make test` installs the venv.
source "$(dirname "$0")/lib.sh"
PY=$STL_ROOT/.venv/bin/python
: "${STL_BUILD:=$STL_ROOT/build/rel}"
TOOL=$STL_BUILD/tools/parity_step

if [ ! -x "$PY" ]; then
    fail "the Flax venv $PY is missing (run scripts/install-deps --test)"
    finish
    exit 1
fi
if [ ! -x "$TOOL" ]; then
    fail "the parity tool $TOOL is not built (make $TOOL)"
    finish
    exit 1
fi

# JAX on the CPU, two threads for stlrec (the model's threaded path).
export JAX_PLATFORMS=cpu
export STL_THREADS=${STL_THREADS:-2}
"$PY" "$STL_ROOT/tests/parity/test_flax_parity.py" "$TOOL" "$T/parity"
rc=$?
# The Python test printed the summary line; a crash before it counts as a failure.
exit $rc
