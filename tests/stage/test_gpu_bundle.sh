#!/usr/bin/env bash
# test_gpu_bundle.sh — scripts/gpu-bundle makes a tarball that runs where
# none of Debian's libraries are: the build under test ($STL_BUILD) is
# bundled, unpacked into a chroot that holds nothing else but what any Linux
# host has (/bin/sh, the loader, libc for the shell, /etc/passwd, /proc,
# /sys, /dev), and a small pipeline (decode, triplets, train with a
# checkpoint: alone, under mpirun -np 2 and as an MPI singleton; embed,
# top-k) runs there through the bundle's wrappers. Its files must be byte-identical
# to the same stages run by $STL_BIN on this machine. Also: the bundle's
# layout, the libraries left to the host, env.sh finding pip's CUDA library
# folders, and the script's errors. The chroot needs root and a mount
# namespace; where they are refused the chroot part says it is skipped.
. "$(dirname "$0")/lib.sh"
: "${STL_BUILD:?STL_BUILD must point at the build directory}"
BUNDLE=$STL_ROOT/scripts/gpu-bundle

fails_with 2 'usage: scripts/gpu-bundle' "no output: usage error" "$BUNDLE"
fails_with 2 'must end in \.tar\.xz' "output not .tar.xz: usage error" "$BUNDLE" --bin "$STL_BIN" "$T/x.tgz"
fails_with 1 "^gpu-bundle: $T/nobuild/stl-train: no build there" "no build: exit 1 naming it" \
    "$BUNDLE" --bin "$T/nobuild" "$T/x.tar.xz"
check "a refused run leaves no output" [ ! -e "$T/x.tar.xz" ]

ok "bundle the build under test" "$BUNDLE" --bin "$STL_BIN" --tests "$STL_BUILD/tests" "$T/b.tar.xz"
cat "$T/.out"
R=$T/root
mkdir -p "$R/opt" "$R/bin" "$R/lib64" "$R/lib/x86_64-linux-gnu" "$R/proc" "$R/sys" "$R/dev" "$R/tmp" "$R/w" "$R/etc"
ok "the tarball unpacks" tar -C "$R/opt" -xJf "$T/b.tar.xz"
G=$R/opt/stlrec-gpu
for n in stl-synth stl-decode stl-triplets stl-train stl-embed stl-topk stl-inspect; do
    check "bin/$n is a wrapper of libexec/bin/$n (ELF)" \
        sh -c "head -n 1 '$G/bin/$n' | grep -q '^#!/bin/sh' && head -c 4 '$G/libexec/bin/$n' | grep -q ELF"
done
check "every unit test has its wrapper" \
    sh -c "[ \$(ls '$STL_BUILD'/tests/ | grep -c '^test_') -eq \$(ls '$G/tests' | wc -l) ]"
check "glibc's loader is carried" [ -x "$G/lib/ld-linux-x86-64.so.2" ]
for so in libopenblas.so.0 libmsgpackc.so.2 libjansson.so.4 libcurl.so.4 libturbojpeg.so.0 libmpi.so.40 libc.so.6; do
    if ldd "$STL_BIN"/* 2>/dev/null | grep -q "^[[:space:]]*$so "; then
        check "$so is carried" [ -f "$G/lib/$so" ]
    fi
done
check "Open MPI's singleton component is relocated" \
    [ -f "$G/ompi/lib/x86_64-linux-gnu/openmpi/lib/openmpi3/mca_ess_singleton.so" ]
# The libraries under the CUDA toolkit are the GPU machine's: they are
# listed, not carried. Which ones: ldd of the build's own binaries says.
cuda_home=$(realpath -m "${CUDA_HOME:-/usr/local/cuda}")
want=$(for f in "$STL_BIN"/* "$STL_BUILD"/tests/test_*; do ldd "$f" 2>/dev/null; done |
    awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' | sort -u |
    while read -r so path; do
        case $(realpath "$path") in "$cuda_home"/*) echo "$so" ;; esac
    done | sort -u)
host_libs() { [ -f "$G/lib/HOST-LIBS" ] && [ "$(cat "$G/lib/HOST-LIBS")" = "$want" ]; }
check "lib/HOST-LIBS lists the CUDA toolkit's libraries the binaries link ($(echo $want))" host_libs
for so in $want; do check "$so is not carried" [ ! -e "$G/lib/$so" ]; done

# The bundle's gpu-check runs on the bundle: on this machine it finds no
# GPU (CUDA build) or no CUDA build, and says so with exit 2.
"$G/gpu-check" >"$T/gc.log" 2>&1
rc=$?
if cuda_build; then
    check "the bundle's gpu-check: exit 2, no usable GPU here, naming the CUDA error (exit $rc: $(tail -n 1 "$T/gc.log"))" \
        sh -c "[ $rc -eq 2 ] && grep -q '^gpu-check: no usable GPU here: .*cudaGetDeviceCount' '$T/gc.log'"
else
    check "the bundle's gpu-check: exit 2, no CUDA build (exit $rc: $(tail -n 1 "$T/gc.log"))" \
        sh -c "[ $rc -eq 2 ] && grep -q '^gpu-check: .* holds no CUDA build' '$T/gc.log'"
fi

# The speed peers gpu-check runs come along, with the Flax model they
# import: one JAX step from the bundle's copy (on the CPU here).
check "the bundle carries the speed peers" \
    [ -f "$G/peers/bench/bench_model_peers.py" -a -f "$G/peers/tests/parity/flax_model.py" ]
check "and the top-k peer with its comparison, and the bench_topk program" \
    [ -f "$G/peers/bench/bench_topk_gpu.py" -a -f "$G/peers/bench/topk_common.py" -a -x "$G/bench/bench_topk" ]
/usr/bin/python3 -c '
import sys, numpy as np
r = np.random.default_rng(4)
r.standard_normal((250, 8), dtype=np.float32).tofile(sys.argv[1])
r.standard_normal((500, 8), dtype=np.float32).tofile(sys.argv[2])' "$T/q.f32" "$T/p.f32"
ok "the bundle's bench_topk runs from the bundle (the CPU search)" \
    "$G/bench/bench_topk" "$T/q.f32" "$T/p.f32" 8 3 1 1 "$T/o.u32"
check "  and reports its time" grep -q '^topk n=250 m=500 d=8 k=3 ' "$T/.out"
if [ -x "$STL_ROOT/.venv/bin/python" ]; then
    ok "the bundle's JAX peer runs from the bundle (S 32, one step)" \
        env -C "$T" "$STL_ROOT/.venv/bin/python" "$G/peers/bench/bench_model_peers.py" jax 32 2 1 1 4
    check "  and reports its speed" grep -q '^jax train size=32 batch=2 .*triplets_per_s=' "$T/.out"
fi

# env.sh: pip's nvidia/*/lib folders (the old per-library layout and CUDA
# 13's cu13/) from a Python that has them, nothing invented without one.
mkdir -p "$T/site/nvidia/cudnn/lib" "$T/site/nvidia/cu13/lib" "$T/site/nvidia/nccl/include"
dirs=$(PYTHONPATH=$T/site bash -c ". '$G/env.sh' && echo \"\$STL_HOST_LIBDIRS\"")
check "env.sh finds pip's nvidia/cudnn/lib" sh -c "echo '$dirs' | tr : '\n' | grep -qx '$T/site/nvidia/cudnn/lib'"
check "env.sh finds pip's nvidia/cu13/lib" sh -c "echo '$dirs' | tr : '\n' | grep -qx '$T/site/nvidia/cu13/lib'"
check "env.sh takes no folder without lib/" sh -c "[ -n '$dirs' ] && ! echo '$dirs' | grep -q nccl"

# The chroot: only what a bare host has outside the bundle (PMIx looks up
# the user's home directory in /etc/passwd).
echo "root:x:0:0:root:/root:/bin/sh" >"$R/etc/passwd"
echo "root:x:0:" >"$R/etc/group"
cp /bin/dash "$R/bin/sh" 2>/dev/null || cp /bin/sh "$R/bin/sh"
cp -L /lib64/ld-linux-x86-64.so.2 "$R/lib64/"
cp -L /lib/x86_64-linux-gnu/libc.so.6 "$R/lib/x86_64-linux-gnu/"
# The CUDA build's programs link cuDNN and cuBLAS, which the GPU machine
# supplies (HOST-LIBS, found through STL_HOST_LIBDIRS). Here, without a GPU,
# no call reaches them, so the chroot's "host" folder holds stand-ins: empty
# libraries of the same names and symbol versions (functions bind lazily).
mkdir -p "$R/hostlibs"
for so in $want; do
    if readelf -d "$STL_BIN"/stl-* 2>/dev/null | grep -q "NEEDED.*\[$so\]"; then
        echo "$so { };" >"$T/stub.map"
        cc -shared -o "$R/hostlibs/$so" -Wl,-soname,"$so" -Wl,--version-script,"$T/stub.map" \
            -x c /dev/null || fail "a stand-in for $so"
    fi
done
chroot_bin=$(command -v chroot || echo /usr/sbin/chroot)
if ! unshare -m true 2>/dev/null || ! "$chroot_bin" / true 2>/dev/null; then
    echo "skipped: the chroot run (needs root, chroot and unshare -m here)"
    finish
    exit
fi
"$STL_BIN/stl-synth" --out "$T/syn" --scenes 30 --products 20 --seed 5 --threads 2 >/dev/null 2>&1 ||
    fail "stl-synth for the fixture"
cp -r "$T/syn" "$R/w/syn"
mkdir -p "$T/here"
cp -r "$T/syn" "$T/here/syn"
cat >"$T/steps.sh" <<'EOF'
set -e
cd "$1"
B=$2
$B/stl-decode --keys syn/pairs.jsonl --images syn/images --out crops --size 32 --resize --threads 2
$B/stl-triplets --pairs syn/pairs.jsonl --crops crops --out tri.mpk --seed 5
$B/stl-train --triplets tri.mpk --crops crops --model model.mpk --workdir work --threads 2 \
    --batch-size 4 --max-steps 6 --eval-every 3 --checkpoint-every 3
$B/stl-embed --model model.mpk --crops crops --kind scene --keys syn/pairs.jsonl --out scenes.mpk --threads 2
$B/stl-embed --model model.mpk --crops crops --kind product --keys syn/pairs.jsonl --out products.mpk --threads 2
$B/stl-topk --scenes scenes.mpk --products products.mpk --k 5 --out topk.mpk --threads 2
# Open MPI: two ranks under mpirun, and one started alone (a singleton,
# which starts an orted).
$3 -np 2 $B/stl-train --triplets tri.mpk --crops crops --model model-np2.mpk --workdir work-np2 \
    --threads 1 --batch-size 4 --max-steps 6 --eval-every 3 --checkpoint-every 3
STL_COLL=mpi $B/stl-train --triplets tri.mpk --crops crops --model model-mpi1.mpk --workdir work-mpi1 \
    --threads 2 --batch-size 4 --max-steps 6 --eval-every 3 --checkpoint-every 3
echo STEPS-DONE
EOF
cp "$T/steps.sh" "$R/w/steps.sh"
ok "the stages from this machine's build" bash "$T/steps.sh" "$T/here" "$STL_BIN" mpirun
# The chroot's environment is empty but for OpenBLAS's settings (its
# OPENBLAS_CORETYPE picks the kernels, and so the model's rounding) and the
# sanitizers' (tests/run.sh turns leak checking off: Open MPI's allocations
# outlive MPI_Finalize).
blas_env=$(env | grep -E '^(OPENBLAS_|ASAN_OPTIONS=|UBSAN_OPTIONS=)' | paste -sd' ')
unshare -m sh -c "mount --bind /proc '$R/proc' && mount --bind /sys '$R/sys' && mount --bind /dev '$R/dev' &&
    exec env -i PATH=/bin HOME=/ TMPDIR=/tmp STL_HOST_LIBDIRS=/hostlibs $blas_env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
    '$chroot_bin' '$R' /bin/sh /w/steps.sh /w /opt/stlrec-gpu/bin /opt/stlrec-gpu/bin/mpirun" \
    >"$T/chroot.log" 2>&1
rc=$?
check "the stages through the bundle in the chroot (exit $rc: $(tail -n 3 "$T/chroot.log" | tr '\n' ' '))" \
    sh -c "[ $rc -eq 0 ] && grep -q '^STEPS-DONE' '$T/chroot.log'"
check "the chroot holds nothing outside the bundle but sh, the loader, libc and passwd (and the stand-ins under /hostlibs)" \
    sh -c "[ -d '$G/lib' ] && [ \"\$(cd '$R' && find bin etc lib lib64 -type f | sort | paste -sd' ')\" = 'bin/sh etc/group etc/passwd lib/x86_64-linux-gnu/libc.so.6 lib64/ld-linux-x86-64.so.2' ]"
for f in tri.mpk model.mpk model.mpk.json scenes.mpk products.mpk topk.mpk model-np2.mpk model-mpi1.mpk; do
    check "$f byte-identical to this machine's" cmp -s "$T/here/$f" "$R/w/$f"
done
finish
