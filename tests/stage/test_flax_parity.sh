#!/usr/bin/env bash
# test_flax_parity.sh — stlrec's model against the same model in Flax.
#
# Runs tests/parity/test_flax_parity.py with the project venv: an stlrec model
# file loaded by flax.serialization.from_bytes, one and five training steps on
# a fixed batch compared tensor by tensor (loss, embeddings, every gradient,
# BatchNorm running averages, parameters, Adam moments), and a Flax model file
# read by stlrec giving Flax's inference embeddings. The training and
# inference checks run under every kernel variant this machine executes
# (parity_step isa: AVX-512, AVX2, baseline; isa.h), and so do the planted
# bugs of tests/parity/mutants.txt, each built here as a parity_step with one
# file of common/ changed, which the checks must catch. The Python test
# prints one line per check and the closing "N passed, N failed". A missing
# venv or tool is a failure, not a skip: `make test` installs the venv.
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

# Builds parity_step with FILE's one occurrence of FIND replaced by REPLACE
# into $T/mutants/NAME/parity_step; prints that path. The mutated object is
# linked before the libraries, so the linker takes it instead of the
# library's copy of that file. FILE may be HEADER@SOURCE (a header under
# common/ and a C file that includes it): the mutated header is put where
# the copy of SOURCE finds it first ("model/x.h" beside it), and SOURCE is
# rebuilt unchanged against it.
build_mutant() {
    local name=$1 file=$2 find=$3 replace=$4 dir=$T/mutants/$1 mutated
    mkdir -p "$dir"
    local src=$dir/$(basename "${file#*@}")
    mutated=$src
    if [[ $file == *@* ]]; then
        mutated=$dir/${file%@*}
        mutated=$dir/${mutated#"$dir/common/"}
        mkdir -p "$(dirname "$mutated")"
        cp "$STL_ROOT/${file#*@}" "$src"
        file=${file%@*}
    fi
    "$PY" - "$STL_ROOT/$file" "$mutated" "$find" "$replace" <<'EOF' || return 1
import sys
src, dst, find, replace = sys.argv[1:]
text = open(src).read()
n = text.count(find)
if n != 1:
    sys.exit(f"{src}: '{find}' occurs {n} times, not once: update tests/parity/mutants.txt")
open(dst, "w").write(text.replace(find, replace))
EOF
    (cd "$STL_ROOT" && $COMPILE -Icommon -c "$src" -o "$dir/mutant.o") >&2 || return 1
    $LINK -o "$dir/parity_step" "$TOOL_OBJ/parity_step.o" "$dir/mutant.o" $LIBS >&2 || return 1
    echo "$dir/parity_step"
}

# The CUDA build's objects need its link line (the CUDA runtime): ask the
# binaries which build they are, whatever CUDA the environment says.
cuda=0
cuda_build && cuda=1
eval "$(make -s --no-print-directory -C "$STL_ROOT" SAN="${SAN:-0}" CUDA="$cuda" BUILD="$STL_BUILD" print-tool-build | sed -E "s/^([A-Z_]+)=(.*)$/\1='\2'/")"

args=()
for isa in $("$TOOL" isa); do args+=(--isa "$isa"); done
while IFS='|' read -r name file find replace _; do
    name=$(echo "$name" | sed -E 's/^ +| +$//g')
    [ -z "$name" ] && continue
    [[ $name == \#* ]] && continue
    file=$(echo "$file" | sed -E 's/^ +| +$//g')
    find=$(echo "$find" | sed -E 's/^ +| +$//g')
    replace=$(echo "$replace" | sed -E 's/^ +| +$//g')
    if m=$(build_mutant "$name" "$file" "$find" "$replace"); then
        args+=(--mutant "$name" "$m")
    else
        fail "mutant $name: could not be built"
    fi
done < "$STL_ROOT/tests/parity/mutants.txt"
# A mutant that could not be built is a failure of its own.
mutant_failures=$_failed

# JAX on the CPU, two threads for stlrec (the model's threaded path).
export JAX_PLATFORMS=cpu
export STL_THREADS=${STL_THREADS:-2}
echo "kernel variants and mutants: ${args[*]}"
"$PY" "$STL_ROOT/tests/parity/test_flax_parity.py" "$TOOL" "$T/parity" "${args[@]}"
rc=$?
# The Python test printed the summary line; a crash before it counts as a
# failure, and so does a mutant that could not be built.
[ "$mutant_failures" -gt 0 ] && { echo "$mutant_failures mutant(s) not built"; exit 1; }
exit $rc
