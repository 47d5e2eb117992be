#!/usr/bin/env bash
# bench_decode.sh — stl-decode's throughput against libjpeg-turbo's own
# tjbench, side by side in one invocation.
#
# Input: DISTINCT JPEGs of Pinterest's shape (400 px wide, 400-700 tall,
# baseline 4:2:0 quality 85, textured content, made here with numpy + cjpeg),
# copied to N keys. Runs, in this order: tjbench -fastdct on SAMPLE of the
# files (decode only, from memory, same file repeated: libjpeg-turbo's
# single-core ceiling), stl-decode --threads 1 (default mode, S=512: file
# read + decode + crop/pad + shard write), stl-decode --resize --size 128
# --threads 1, stl-decode on all cores, and tjbench again (the peer figure
# is the mean of its two runs, to even out load from other jobs), and last
# build/rel/bench/bench_decode (bench/bench_decode.c): the same decode paths
# in one process, timed in thread CPU time.
# Prints images/s and megapixels/s (of source pixels) for each, per core,
# and the ratios against the goals: default >= 0.9x tjbench per core,
# --resize 128 >= 3x default. Output shards go to BENCH_DIR (default
# /dev/shm, so the disk is not what is measured).
#   usage: bench/bench_decode.sh    (N=2000 DISTINCT=250 SAMPLE=8 NOISE=4 to override)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${STL_BIN:-$root/bin}/stl-decode
[ -x "$bin" ] || { echo "bench_decode.sh: $bin missing: run 'make bin/stl-decode'" >&2; exit 1; }
command -v tjbench >/dev/null || { echo "bench_decode.sh: tjbench missing: apt-get install libjpeg-turbo-progs" >&2; exit 1; }
n=${N:-2000}
distinct=${DISTINCT:-250}
sample=${SAMPLE:-8}
noise=${NOISE:-4}
base=${BENCH_DIR:-/dev/shm}
[ -d "$base" ] || base=${TMPDIR:-/tmp}
tmp=$(mktemp -d "$base/bench_decode.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export STL_QUIET=1
cores=$(nproc)
echo "bench_decode: $(date -u +%FT%TZ) on $cores cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load $(cut -d' ' -f1-3 /proc/loadavg)"

# --- input ------------------------------------------------------------------
mkdir -p "$tmp/src" "$tmp/images"
/usr/bin/python3 - "$tmp/src" "$distinct" "$noise" <<'EOF'
import sys, numpy as np
out, n, NOISE = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
rng = np.random.default_rng(42)
for i in range(n):
    w, h = 400, int(rng.integers(400, 701))
    y, x = np.mgrid[0:h, 0:w]
    f = rng.uniform(5, 40, 4)
    a = np.stack([128 + 90 * np.sin(x / f[0]) + 20 * np.sin(y / f[3]),
                  128 + 90 * np.cos(y / f[1]) * np.sin(x / f[2]),
                  (x * f[3] / 10 + y) % 256 * 0.8], -1) + rng.normal(0, NOISE, (h, w, 3))
    m = int(rng.integers(30, 120))  # white studio background at the sides
    a[:, :m] = 246
    a[:, w - m:] = 246
    a = np.clip(a, 0, 255).astype(np.uint8)
    with open("%s/%04d.ppm" % (out, i), "wb") as fh:
        fh.write(b"P6\n%d %d\n255\n" % (w, h) + a.tobytes())
EOF
for p in "$tmp"/src/*.ppm; do cjpeg -quality 85 -outfile "${p%.ppm}.jpg" "$p" && rm "$p"; done
mapfile -t srcs < <(ls "$tmp"/src/*.jpg)
: >"$tmp/keys.txt"
for i in $(seq 0 $((n - 1))); do
    k=$(printf '%032x' $((i + 1)))
    cp "${srcs[$((i % distinct))]}" "$tmp/images/$k.jpg"
    echo "$k" >>"$tmp/keys.txt"
done
# source megapixels over all N keys, from each file's SOF0 header
mp=$(/usr/bin/python3 - "$tmp/images" <<'EOF'
import os, sys, struct
tot = 0
for f in os.listdir(sys.argv[1]):
    d = open(os.path.join(sys.argv[1], f), "rb").read()
    i = d.index(b"\xff\xc0")
    h, w = struct.unpack(">HH", d[i + 5:i + 9])
    tot += w * h
print("%.3f" % (tot / 1e6))
EOF
)
kb=$(du -sk "$tmp/src" | cut -f1)
echo "input: $n JPEGs ($distinct distinct, noise sigma $noise, mean $((kb / distinct)) KiB), 400 px wide, 400-700 tall, $mp megapixels"

# --- peer: tjbench -----------------------------------------------------------
tj_run() { # prints images/s averaged over the sample (decode only, single core)
    local tot=0 f fps
    for f in "${srcs[@]:0:$sample}"; do
        fps=$(tjbench "$f" -fastdct -benchtime 1 -warmup 0.2 2>&1 | awk '/Frame rate/ {v=$(NF-1)} END {print v}')
        tot=$(awk -v a="$tot" -v b="$fps" 'BEGIN {print a + 1 / b}')
    done
    awk -v t="$tot" -v n="$sample" 'BEGIN {printf "%.1f", n / t}'
}
sample_mp=$(/usr/bin/python3 - "${srcs[@]:0:$sample}" <<'EOF'
import sys, struct
tot = 0
for f in sys.argv[1:]:
    d = open(f, "rb").read(); i = d.index(b"\xff\xc0")
    h, w = struct.unpack(">HH", d[i + 5:i + 9]); tot += w * h
print("%.6f" % (tot / 1e6 / len(sys.argv[1:])))
EOF
)
tj1=$(tj_run)

# --- ours ---------------------------------------------------------------------
ours() { # args...: prints seconds of one stl-decode run
    rm -rf "$tmp/out"
    local t0 t1
    t0=$(date +%s.%N)
    "$bin" --keys "$tmp/keys.txt" --images "$tmp/images" --out "$tmp/out" "$@" >/dev/null
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}'
}
ours --threads 1 --size 64 >/dev/null # warm the page cache and the binary
s_def1=$(ours --threads 1)
s_res1=$(ours --threads 1 --resize --size 128)
s_defN=$(ours --threads "$cores")
s_resN=$(ours --threads "$cores" --resize --size 128)
tj2=$(tj_run)

tj=$(awk -v a="$tj1" -v b="$tj2" 'BEGIN {printf "%.1f", (a + b) / 2}')
row() { # name seconds threads
    awk -v name="$1" -v s="$2" -v t="$3" -v n="$n" -v mp="$mp" -v tj="$tj" 'BEGIN {
        ips = n / s; printf "%-34s %8.1f img/s %8.1f MP/s   per core %7.1f img/s %6.1f MP/s   vs tjbench/core %.2fx\n",
        name, ips, mp / s, ips / t, mp / s / t, ips / t / tj }'
}
echo
awk -v tj="$tj" -v a="$tj1" -v b="$tj2" -v smp="$sample_mp" 'BEGIN {
    printf "%-34s %8.1f img/s %8.1f MP/s   (runs: %.1f, %.1f img/s; decode only, in memory)\n",
    "tjbench -fastdct (1 core)", tj, tj * smp, a, b }'
row "stl-decode S=512 --threads 1" "$s_def1" 1
row "stl-decode S=128 --resize -t 1" "$s_res1" 1
row "stl-decode S=512 --threads $cores" "$s_defN" "$cores"
row "stl-decode S=128 --resize -t $cores" "$s_resN" "$cores"
echo
awk -v d="$s_def1" -v r="$s_res1" -v n="$n" -v tj="$tj" -v dn="$s_defN" -v c="$cores" 'BEGIN {
    g1 = n / d / tj; g2 = d / r;
    printf "default, 1 thread / tjbench:       %.2fx (goal >= 0.90: %s)\n", g1, (g1 >= 0.9 ? "met" : "NOT met");
    printf "resize 128 / default, 1 thread:    %.2fx (goal >= 3: %s)\n", g2, (g2 >= 3 ? "met" : "NOT met");
    printf "scaling, %d threads / 1 thread:     %.2fx\n", c, d / dn }'
echo
# The same comparison in one process, in thread CPU time (less disturbed by
# other jobs than the wall times above), over all distinct files.
inproc=${STL_BUILD:-$root/build/rel}/bench/bench_decode
if [ -x "$inproc" ]; then "$inproc" 3 "${srcs[@]}"; else echo "($inproc missing: make $inproc)"; fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
