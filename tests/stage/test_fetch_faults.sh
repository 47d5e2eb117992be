#!/usr/bin/env bash
# test_fetch_faults.sh — stl-fetch against a server that misbehaves on purpose
# (tests/tools/fault_server.py, on 127.0.0.1): 429 and 503 with Retry-After in
# both forms, 500, truncated bodies with and without a length, a stall
# mid-body, connection resets, 200 with HTML, a body over --max-bytes, 404,
# 410, 403, a key that always fails, and latency. Afterwards every fetchable
# file must be complete and byte-identical, gone and failed keys absent and
# listed, no temporary or invalid file anywhere, no retry earlier than its
# Retry-After, at most --concurrency requests in flight, and the fetch log
# must agree with what the server saw.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/fetch_lib.sh"
F=$STL_BIN/stl-fetch

check "synthetic images" make_images 64
modes=(ok latency 429 503date 500 trunc nolen stall reset html htmljpeg big 404 410 403 fail500)
i=0
while read -r k; do
    echo "$k ${modes[$((i % ${#modes[@]}))]}"
    i=$((i + 1))
done < "$T/keys.txt" > "$T/modes.txt"
n_fail=$(grep -c ' fail500$' "$T/modes.txt")
check "fault server up" start_fault_server "$T/modes.txt" "$T/requests.jsonl"
URL=http://127.0.0.1:$FAULT_PORT/400x
FLAGS=(--concurrency 4 --rate 100 --burst 10 --max-retries 3 --timeout 1 --max-bytes 200000 --backoff 0.1
       --backoff-max 0.5)

ok "fetch exits 0 with --max-failed = the keys that always fail" \
    "$F" --keys "$T/keys.txt" --out "$T/out" --base-url "$URL" "${FLAGS[@]}" --max-failed "$n_fail"
LOG=$T/out/fetch-log.part-00000-of-00001.mpk
ok "the fetch log is readable by stl-inspect" "$STL_BIN/stl-inspect" "$LOG"
"$STL_BIN/stl-inspect" --json "$LOG" > "$T/log.json"
cp "$T/requests.jsonl" "$T/requests.run1.jsonl"

# Every file under out/, checked against the modes, the sources and the log.
check_run() {
    "$PY" - "$T/modes.txt" "$T/synth/images" "$T/out" "$T/log.json" "$T/requests.run1.jsonl" <<'PYEOF'
import json, os, sys
modes_file, src, out, log_file, req_file = sys.argv[1:]
modes = dict(l.split() for l in open(modes_file))
log = json.load(open(log_file))
reqs = [json.loads(l) for l in open(req_file)]
bad = []
gone = {"404": 404, "410": 410, "403": 403}
rec = {k: (o, s, b, a, e) for k, o, s, b, a, e in zip(log["keys"], log["outcomes"],
       log["statuses"], log["bytes"], log["attempts"], log["errors"])}
seen = {}
for r in reqs:
    seen[r["key"]] = seen.get(r["key"], 0) + 1
files = set()
for d, _, names in os.walk(out):
    for n in names:
        if n.startswith("fetch-log."):
            continue
        files.add(os.path.join(d, n))
for k, m in modes.items():
    p = os.path.join(out, k[0:2], k[2:4], k[4:6], k + ".jpg")
    o, s, b, a, e = rec[k]
    if a != seen.get(k, 0):
        bad.append("%s (%s): log says %d attempts, the server saw %d" % (k, m, a, seen.get(k, 0)))
    if m in gone:
        if os.path.exists(p): bad.append("%s (%s): gone key has a file" % (k, m))
        if o != "gone" or s != gone[m] or a != 1:
            bad.append("%s (%s): log %s HTTP %d after %d attempts, want gone %d after 1" % (k, m, o, s, a, gone[m]))
    elif m == "fail500":
        if os.path.exists(p): bad.append("%s: failed key has a file" % k)
        if o != "failed" or s != 500 or a != 4 or "500" not in e:
            bad.append("%s: log %s HTTP %d after %d attempts (%s), want failed 500 after 4" % (k, o, s, a, e))
    else:
        want = open(os.path.join(src, k + ".jpg"), "rb").read()
        if not os.path.exists(p):
            bad.append("%s (%s): missing" % (k, m)); continue
        if open(p, "rb").read() != want: bad.append("%s (%s): differs from the source" % (k, m))
        if o != "ok" or s != 200 or b != len(want) or e != "":
            bad.append("%s (%s): log %s HTTP %d %d bytes '%s'" % (k, m, o, s, b, e))
        files.discard(p)
for f in files:
    bad.append("unexpected file %s" % f)
c = log["counts"]
if c["failed"] != list(modes.values()).count("fail500") or c["pending"] != 0 or not log["complete"]:
    bad.append("counts %s, complete %s" % (c, log["complete"]))
for b in bad[:20]:
    print(b)
sys.exit(1 if bad else 0)
PYEOF
}
check "every fetchable file identical, gone and failed keys absent, no stray file, log right" check_run
check "no temporary left" [ -z "$(find "$T/out" -name '*.part')" ]
check "the faults were exercised: truncated, stalled, reset, HTML, too big each retried" \
    "$PY" -c '
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
for m in ("trunc", "nolen", "stall", "reset", "html", "htmljpeg", "big", "429", "503date", "500"):
    if not any(x["mode"] == m and x["attempt"] >= 2 for x in r): sys.exit(m + " never retried")' \
    "$T/requests.run1.jsonl"

# Retry-After: the server logs each 429/503 before sending it, with the
# earliest time it allows a retry (t + 1 s, or the HTTP-date, which
# stl-fetch reads against its whole-second clock, rounding the wait up).
# The next request for the key is logged when it arrives, after the client
# received the answer and waited, so it can never be earlier: the only
# tolerance is 1 ms for the float timestamps.
check "no retry earlier than its Retry-After" "$PY" -c '
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
n = 0
for i, x in enumerate(r):
    if "retry_not_before" not in x: continue
    nxt = [y for y in r[i + 1:] if y["key"] == x["key"]]
    if not nxt: sys.exit("no retry after %s" % x)
    if nxt[0]["t"] < x["retry_not_before"] - 0.001:
        sys.exit("%s retried %.3f s early" % (x["key"], x["retry_not_before"] - nxt[0]["t"]))
    n += 1
if n == 0: sys.exit("no Retry-After answers")' "$T/requests.run1.jsonl"
check "at most --concurrency requests in flight, and more than one" "$PY" -c '
import json, sys
m = max(json.loads(l)["inflight"] for l in open(sys.argv[1]))
sys.exit(0 if 1 < m <= 4 else "max in flight %d" % m)' "$T/requests.run1.jsonl"

# A rerun skips what is there; the always-failing keys fail again: over
# --max-failed 0 is exit 1, and only gone and failed keys are requested.
: > "$T/requests.jsonl"
fails_with 1 "keys failed \\(more than --max-failed 0\\)" "rerun: failures over --max-failed exit 1" \
    "$F" --keys "$T/keys.txt" --out "$T/out" --base-url "$URL" "${FLAGS[@]}"
check "rerun requests only the keys without a file" "$PY" -c '
import json, sys
modes = dict(l.split() for l in open(sys.argv[1]))
asked = {json.loads(l)["key"] for l in open(sys.argv[2])}
want = {k for k, m in modes.items() if m in ("404", "410", "403", "fail500")}
sys.exit(0 if asked == want else "asked %d keys, want %d" % (len(asked), len(want)))' \
    "$T/modes.txt" "$T/requests.jsonl"
check "rerun log: the fetched files skipped" "$PY" -c '
import json, subprocess, sys
log = json.loads(subprocess.run([sys.argv[1], "--json", sys.argv[2]], capture_output=True).stdout)
c = log["counts"]
sys.exit(0 if c["ok"] == 0 and c["skipped"] == 64 - 4 * 4 else str(c))' "$STL_BIN/stl-inspect" "$LOG"
finish
