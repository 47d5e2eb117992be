#!/usr/bin/env bash
# test_cuda_build.sh — the CUDA build (make CUDA=1) on a machine without a
# usable GPU behaves exactly like the CPU build: a tiny synth, decode,
# triplets, train (with checkpoints), embed and top-k run by both builds'
# binaries with --device auto gives byte-identical files; --device cpu the
# same; --device cuda exits 1 with one line naming the CUDA error. The CPU
# build's binaries are $STL_CPU_BIN (default: bin/ of this checkout, which
# `make test` builds first). In the CPU build there is nothing to compare:
# the test says it is skipped and counts nothing.
. "$(dirname "$0")/lib.sh"
CPU_BIN=${STL_CPU_BIN:-$STL_ROOT/bin}
GPU_BIN=$STL_BIN

if ! cuda_build; then
    echo "skipped: $STL_BIN is the CPU build (this test compares the CUDA build with it)"
    finish
    exit
fi
if ! "$CPU_BIN/stl-topk" --version >/dev/null 2>&1 || STL_BIN=$CPU_BIN cuda_build; then
    fail "no CPU build at $CPU_BIN to compare with (run make all first, or set STL_CPU_BIN)"
    finish
    exit
fi
# Without a GPU (every CI machine) the CUDA build computes on the CPU under
# auto, which this test is about; with one, auto computes on it
# (scripts/gpu-check compares that with the CPU path).
gpu_line=$("$GPU_BIN/stl-topk" --scenes x --products y --out "$T/x" --device cuda 2>&1)
echo "this machine: $gpu_line"
if ! grep -q "no usable GPU" <<<"$gpu_line"; then
    echo "skipped: this machine has a GPU, so --device auto computes on it"
    finish
    exit
fi

# pipeline BIN DIR DEVICE: the stages into DIR with the binaries of BIN, run
# inside DIR with relative paths (the model's sidecar records the paths).
pipeline() {
    local b=$1 d=$2 dev=$3
    mkdir -p "$d" && (
    cd "$d" &&
    "$b/stl-synth" --out syn --scenes 24 --products 20 --seed 3 --threads 2 &&
    "$b/stl-decode" --keys syn/pairs.jsonl --images syn/images --out crops \
        --size 32 --resize --threads 2 &&
    "$b/stl-triplets" --pairs syn/pairs.jsonl --crops crops --out tri.mpk --seed 3 &&
    "$b/stl-train" --triplets tri.mpk --crops crops --model model.mpk --workdir work \
        --batch-size 4 --max-steps 6 --eval-every 3 --log-every 2 --checkpoint-every 3 \
        --threads 2 --device "$dev" &&
    "$b/stl-embed" --model model.mpk --crops crops --kind scene --keys syn/pairs.jsonl \
        --out scenes.emb --threads 2 --device "$dev" &&
    "$b/stl-embed" --model model.mpk --crops crops --kind product --keys syn/pairs.jsonl \
        --out products.emb --threads 2 --device "$dev" &&
    "$b/stl-topk" --scenes scenes.emb --products products.emb --out top.topk --k 5 \
        --threads 2 --device "$dev" )
}

# timeless FILE: FILE without its timings — a checkpoint's state file as
# stl-inspect --json shows it but elapsed_s, the metrics log without wall_s,
# triplets_per_s and eval_s.
timeless() {
    case $1 in
    *.state) "$CPU_BIN/stl-inspect" --json "$1" | grep -v '"elapsed_s"' ;;
    *metrics.jsonl) /usr/bin/python3 -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    for k in ("wall_s", "triplets_per_s", "eval_s"): r.pop(k, None)
    print(json.dumps(r, sort_keys=True))' "$1" ;;
    esac
}

# same_files A B: the same files under A and B, each byte-identical (the
# state files and the metrics log: identical but for their timings; the work
# directory's lock holds a pid).
same_files() {
    local a=$1 b=$2 f n=0
    [ "$(cd "$a" && find . -type f | sort)" = "$(cd "$b" && find . -type f | sort)" ] ||
        { echo "not the same files" >&2; return 1; }
    while IFS= read -r f; do
        n=$((n + 1))
        case $f in
        *.state | *metrics.jsonl)
            [ "$(timeless "$a/$f")" = "$(timeless "$b/$f")" ] && [ -n "$(timeless "$a/$f")" ] ;;
        ./work/lock) true ;;
        *) cmp -s "$a/$f" "$b/$f" ;;
        esac || { echo "differs: $f" >&2; return 1; }
    done < <(cd "$a" && find . -type f | sort)
    [ "$n" -ge 8 ] || { echo "only $n files compared" >&2; return 1; }
}

ok "the CPU build runs the stages" pipeline "$CPU_BIN" "$T/cpu" auto
ok "the CUDA build runs them with --device auto" pipeline "$GPU_BIN" "$T/auto" auto
check "--device auto: every output byte-identical to the CPU build's" same_files "$T/cpu" "$T/auto"
check "the model and the top-k lists are among them" \
    [ -s "$T/auto/model.mpk" -a -s "$T/auto/top.topk" -a -d "$T/auto/work/checkpoints" ]
ok "the CUDA build runs them with --device cpu" pipeline "$GPU_BIN" "$T/cpu2" cpu
check "--device cpu: byte-identical too" same_files "$T/cpu" "$T/cpu2"

for st in train embed topk; do
    case $st in
    train) args=(--triplets "$T/cpu/tri.mpk" --crops "$T/cpu/crops" --model "$T/x.mpk") ;;
    embed) args=(--model "$T/cpu/model.mpk" --crops "$T/cpu/crops" --kind scene
                 --keys "$T/cpu/syn/pairs.jsonl" --out "$T/x.emb") ;;
    topk) args=(--scenes "$T/cpu/scenes.emb" --products "$T/cpu/products.emb" --out "$T/x.topk") ;;
    esac
    device_cuda_refused "$st" "stl-$st --device cuda" "$GPU_BIN/stl-$st" "${args[@]}" --device cuda
    check "stl-$st --device cuda: exactly one line on stderr" [ "$(wc -l <"$T/.err")" -eq 1 ]
    check "stl-$st --device cuda: nothing written" [ ! -e "$T/x.mpk" -a ! -e "$T/x.emb" -a ! -e "$T/x.topk" ]
done
check "no GPU here: the message carries the CUDA error's number and name" \
    grep -Eq "cudaGetDeviceCount: error [0-9]+, cuda[A-Za-z]+: " "$T/.err"
finish
