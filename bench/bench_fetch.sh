#!/usr/bin/env bash
# bench_fetch.sh — stl-fetch against curl --parallel and aria2c (Debian), side
# by side in one invocation, at the same concurrency, on servers on 127.0.0.1.
#
# Input: DISTINCT JPEGs of 20-60 KB (textured 400 px wide photos made here
# with numpy + cjpeg), copied to N keys (md5 of "bench-<i>"), laid out as the
# CDN lays them out under a scratch root. Four scenarios, each run by every
# tool into an empty directory:
#   plain    nginx (Debian, own config, keep-alive), N files, no rate limit
#   latency  the test server (tests/tools/fault_server.py) adding LATENCY s
#            (0.04) to every answer, N_LAT files
#   limited  nginx with limit_req at 200 requests/s (burst 20, then 429);
#            stl-fetch runs with --rate 190 --burst 10, the peers as they are
#   faults   the test server with every fault of test_fetch_faults.sh,
#            deterministic per key, N_FAULT keys
# For each run: wall time, files/s, files right (byte-identical to the
# source), bad files kept (present under the final name but not identical,
# or present for a key that is gone), fetchable files missing, and for the
# nginx runs the answers 429. The peers get their usual retry flags (curl
# --retry 5 --fail; aria2c --max-tries 6): see the table's notes.
# The plain runs take well under a second each, so the tools take turns
# PLAIN_REPS (5) times there and the fastest run of each counts.
#   usage: bench/bench_fetch.sh   (N=5000 N_LAT=2000 N_FAULT=1000 CONC=16 LATENCY=0.04,
#          SCENARIOS="plain latency limited faults" to override)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
F=${STL_BIN:-$root/bin}/stl-fetch
[ -x "$F" ] || { echo "bench_fetch.sh: $F missing: run make" >&2; exit 1; }
for c in nginx curl aria2c cjpeg; do
    command -v $c >/dev/null || [ -x /usr/sbin/$c ] ||
        { echo "bench_fetch.sh: $c missing: scripts/install-deps --bench" >&2; exit 1; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
PY=/usr/bin/python3
n=${N:-5000}
n_lat=${N_LAT:-2000}
n_fault=${N_FAULT:-1000}
conc=${CONC:-16}
latency=${LATENCY:-0.04}
distinct=${DISTINCT:-200}
scenarios=" ${SCENARIOS:-plain latency limited faults} "
want() { [[ $scenarios == *" $1 "* ]]; }
base=${BENCH_DIR:-/dev/shm}
[ -d "$base" ] || base=${TMPDIR:-/tmp}
tmp=$(mktemp -d "$base/bench_fetch.XXXXXX")
pids=()
cleanup() { local p; for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
export STL_QUIET=1
echo "bench_fetch: $(date -u +%FT%TZ) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "bench_fetch: $("$NGINX" -v 2>&1 | sed 's/.*: //'), $(curl --version | head -1 | cut -d' ' -f1-2), $(aria2c --version | head -1)"

# --- input ------------------------------------------------------------------
mkdir -p "$tmp/src" "$tmp/flat" "$tmp/www/400x"
"$PY" - "$tmp/src" "$distinct" <<'PYEOF'
import subprocess, sys, numpy as np
out, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(7)
for i in range(n):
    w, h = 400, int(rng.integers(300, 601))
    y, x = np.mgrid[0:h, 0:w]
    f = rng.uniform(4, 30, 4)
    a = np.stack([128 + 90 * np.sin(x / f[0]) + 20 * np.sin(y / f[3]),
                  128 + 90 * np.cos(y / f[1]) * np.sin(x / f[2]),
                  (x * f[3] / 10 + y) % 256 * 0.8], -1) + rng.normal(0, 6, (h, w, 3))
    ppm = b"P6 %d %d 255\n" % (w, h) + np.clip(a, 0, 255).astype(np.uint8).tobytes()
    q = str(int(rng.integers(80, 93)))
    jpg = subprocess.run(["cjpeg", "-quality", q], input=ppm, capture_output=True, check=True).stdout
    open("%s/%04d.jpg" % (out, i), "wb").write(jpg)
PYEOF
srcs=("$tmp"/src/*.jpg)
"$PY" - "$tmp" "$n" <<'PYEOF'
import hashlib, os, sys
tmp, n = sys.argv[1], int(sys.argv[2])
srcs = sorted(os.listdir(tmp + "/src"))
with open(tmp + "/keys.txt", "w") as kf:
    for i in range(n):
        k = hashlib.md5(b"bench-%d" % i).hexdigest()
        s = "%s/src/%s" % (tmp, srcs[i % len(srcs)])
        os.link(s, "%s/flat/%s.jpg" % (tmp, k))
        d = "%s/www/400x/%s/%s/%s" % (tmp, k[0:2], k[2:4], k[4:6])
        os.makedirs(d, exist_ok=True)
        os.link(s, "%s/%s.jpg" % (d, k))
        kf.write(k + "\n")
PYEOF
sizes=$(du -b "$tmp"/src/*.jpg | awk '{s+=$1; if(min==""||$1<min)min=$1; if($1>max)max=$1} END {printf "%.0f-%.0f KB, mean %.0f KB", min/1000, max/1000, s/NR/1000}')
echo "bench_fetch: $distinct distinct JPEGs ($sizes) as $n keys; concurrency $conc"

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_nginx() { # NAME LOCATION_BODY -> $port
    local p=$tmp/$1 i
    port=$(free_port)
    mkdir -p "$p/tmp"
    cat > "$p/nginx.conf" <<CONF
user $(id -un);
worker_processes 1;
pid $p/nginx.pid;
error_log $p/error.log warn;
events { worker_connections 1024; }
http {
    log_format st '\$status';
    access_log $p/access.log st;
    client_body_temp_path $p/tmp/body;
    proxy_temp_path $p/tmp/proxy;
    fastcgi_temp_path $p/tmp/fastcgi;
    uwsgi_temp_path $p/tmp/uwsgi;
    scgi_temp_path $p/tmp/scgi;
    types { image/jpeg jpg; }
    sendfile on;
    keepalive_timeout 30;
    keepalive_requests 100000;
    limit_req_zone \$binary_remote_addr zone=perip:1m rate=200r/s;
    limit_req_status 429;
    server {
        listen 127.0.0.1:$port;
        root $tmp/www;
        location = /healthz { return 200 "ok\n"; }
        $2
    }
}
CONF
    "$NGINX" -p "$p/" -c "$p/nginx.conf" -e "$p/error.log" -g 'daemon off;' &
    pids+=($!)
    for i in $(seq 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0; sleep 0.05; done
    echo "nginx did not start" >&2; exit 1
}

# A fresh fault server (its faults are per key and attempt, so each tool
# gets its own, meeting every fault from the first attempt on).
fault_pid=
start_fault() { # MODES LOG -> $port
    local pf=$tmp/port.$RANDOM i
    if [ -n "$fault_pid" ]; then kill "$fault_pid"; wait "$fault_pid" 2>/dev/null || true; fi
    "$PY" "$root/tests/tools/fault_server.py" --root "$tmp/flat" --modes "$1" --log "$2" \
        --port-file "$pf" --latency "$latency" --big-bytes 3000000 &
    fault_pid=$!
    pids+=($!)
    for i in $(seq 100); do [ -s "$pf" ] && break; sleep 0.05; done
    port=$(cat "$pf")
}

# tool KEYS URL OUT: fetch with each tool
run_stl() { "$F" --keys "$1" --base-url "$2" --out "$3" --concurrency "$conc" "${STL_EXTRA[@]}" >/dev/null 2>&1 || true; }
run_curl() {
    awk -v u="$2" -v o="$3" '{k=$1; p=substr(k,1,2) "/" substr(k,3,2) "/" substr(k,5,2) "/" k ".jpg";
        printf "url = \"%s/%s\"\noutput = \"%s/%s\"\n", u, p, o, p}' "$1" > "$tmp/curl.cfg"
    curl --parallel --parallel-max "$conc" --create-dirs -s "${CURL_EXTRA[@]}" -K "$tmp/curl.cfg" >/dev/null 2>&1 || true
}
run_aria2() {
    awk -v u="$2" -v o="$3" '{k=$1; p=substr(k,1,2) "/" substr(k,3,2) "/" substr(k,5,2) "/" k ".jpg";
        printf "%s/%s\n  dir=%s\n  out=%s\n", u, p, o, p}' "$1" > "$tmp/aria2.txt"
    aria2c -i "$tmp/aria2.txt" -j "$conc" -x 1 --max-connection-per-server=1 -q \
        --file-allocation=none --auto-file-renaming=false --allow-overwrite=true \
        --console-log-level=error "${ARIA2_EXTRA[@]}" >/dev/null 2>&1 || true
}

# verify KEYS OUT GONE_FILE: "right bad missing"
verify() {
    "$PY" - "$1" "$2" "$tmp/flat" "$3" <<'PYEOF'
import os, sys
keys = [l.strip() for l in open(sys.argv[1]) if l.strip()]
out, flat = sys.argv[2], sys.argv[3]
gone = set(l.strip() for l in open(sys.argv[4])) if sys.argv[4] != "-" else set()
right = bad = missing = 0
for k in keys:
    p = "%s/%s/%s/%s/%s.jpg" % (out, k[0:2], k[2:4], k[4:6], k)
    if k in gone:
        if os.path.exists(p): bad += 1
        continue
    if not os.path.exists(p): missing += 1; continue
    if open(p, "rb").read() == open("%s/%s.jpg" % (flat, k), "rb").read(): right += 1
    else: bad += 1
print(right, bad, missing)
PYEOF
}

printf '\n%-8s %-12s %7s %9s %8s %6s %8s %8s\n' scenario tool seconds files/s right bad missing "429s"
results=()
# URL may hold PORT, replaced by $port; with FAULT_MODES set, each tool gets
# a fresh fault server with those modes. With REPS > 1 the tools take turns
# REPS times (stl, curl, aria2, stl, ...) and each shows its fastest run,
# with the files right, bad and missing of its worst run.
FAULT_MODES=
REPS=1
scenario() { # NAME KEYS URL GONE_FILE ACCESS_LOG(or -) TOOLS...
    local name=$1 keys=$2 url0=$3 gone=$4 alog=$5 t out t0 t1 secs r b m n429 before url rep
    shift 5
    declare -A best worst_r worst_b worst_m n429s
    for rep in $(seq "$REPS"); do
        for t in "$@"; do
            [ -n "$FAULT_MODES" ] && start_fault "$FAULT_MODES" "$tmp/$name-$t.jsonl"
            url=${url0/PORT/$port}
            out=$tmp/out-$name-$t
            before=0
            [ "$alog" != - ] && before=$(wc -l < "$alog")
            t0=$(date +%s.%N)
            run_$t "$keys" "$url" "$out"
            t1=$(date +%s.%N)
            secs=$(echo "$t1 - $t0" | bc -l)
            read -r r b m < <(verify "$keys" "$out" "$gone")
            n429=-
            [ "$alog" != - ] && n429=$(tail -n +$((before + 1)) "$alog" | grep -c '^429' || true)
            if [ -z "${best[$t]:-}" ] || (( $(echo "$secs < ${best[$t]}" | bc -l) )); then best[$t]=$secs; fi
            if [ -z "${worst_r[$t]:-}" ] || [ "$r" -lt "${worst_r[$t]}" ]; then worst_r[$t]=$r; fi
            if [ -z "${worst_b[$t]:-}" ] || [ "$b" -gt "${worst_b[$t]}" ]; then worst_b[$t]=$b; fi
            if [ -z "${worst_m[$t]:-}" ] || [ "$m" -gt "${worst_m[$t]}" ]; then worst_m[$t]=$m; fi
            n429s[$t]=$n429
            rm -rf "$out"
        done
    done
    for t in "$@"; do
        printf '%-8s %-12s %7.2f %9.0f %8d %6d %8d %8s\n' "$name" "$t" "${best[$t]}" \
            "$(echo "${worst_r[$t]} / ${best[$t]}" | bc -l)" "${worst_r[$t]}" "${worst_b[$t]}" \
            "${worst_m[$t]}" "${n429s[$t]}"
    done
}

STL_EXTRA=(--rate 0)
CURL_EXTRA=()
ARIA2_EXTRA=()

# plain
if want plain; then
start_nginx plain 'location ~ "\.jpg$" { try_files $uri =404; }'
REPS=${PLAIN_REPS:-5}
scenario plain "$tmp/keys.txt" "http://127.0.0.1:$port/400x" - "$tmp/plain/access.log" stl curl aria2
REPS=1
fi

# latency
if want latency; then
head -n "$n_lat" "$tmp/keys.txt" > "$tmp/keys_lat.txt"
awk '{print $1, "latency"}' "$tmp/keys_lat.txt" > "$tmp/modes_lat.txt"
FAULT_MODES=$tmp/modes_lat.txt
scenario latency "$tmp/keys_lat.txt" "http://127.0.0.1:PORT/400x" - - stl curl aria2
FAULT_MODES=
fi

# limited
if want limited; then
start_nginx limited 'location ~ "\.jpg$" { limit_req zone=perip burst=20 nodelay; try_files $uri =404; }'
STL_EXTRA=(--rate 190 --burst 10)
scenario limited "$tmp/keys.txt" "http://127.0.0.1:$port/400x" - "$tmp/limited/access.log" stl
STL_EXTRA=(--rate 0)
CURL_EXTRA=(--retry 5 --fail)
ARIA2_EXTRA=(--max-tries=6 --retry-wait=1)
scenario limited "$tmp/keys.txt" "http://127.0.0.1:$port/400x" - "$tmp/limited/access.log" curl aria2
fi

# faults
if want faults; then
head -n "$n_fault" "$tmp/keys.txt" > "$tmp/keys_fault.txt"
"$PY" - "$tmp/keys_fault.txt" "$tmp/modes_fault.txt" "$tmp/gone.txt" <<'PYEOF'
import sys
modes = "ok latency 429 503date 500 trunc nolen stall reset html htmljpeg big 404 410 403".split()
keys = [l.strip() for l in open(sys.argv[1])]
with open(sys.argv[2], "w") as m, open(sys.argv[3], "w") as g:
    for i, k in enumerate(keys):
        md = modes[i % len(modes)]
        m.write("%s %s\n" % (k, md))
        if md in ("404", "410", "403"): g.write(k + "\n")
PYEOF
FAULT_MODES=$tmp/modes_fault.txt
STL_EXTRA=(--rate 0 --timeout 2 --max-bytes 2000000 --backoff 0.2 --backoff-max 2 --max-retries 6)
CURL_EXTRA=(--retry 5 --fail --max-time 20 --max-filesize 2000000)
ARIA2_EXTRA=(--max-tries=6 --retry-wait=1 --timeout=2 --lowest-speed-limit=1)
scenario faults "$tmp/keys_fault.txt" "http://127.0.0.1:PORT/400x" "$tmp/gone.txt" - stl curl aria2
fi
echo
echo "right: byte-identical to the source; bad: kept under the final name but not identical, or kept for a gone key"
