#!/usr/bin/env bash
# test_fetch_resume.sh — stl-fetch's resume, stop and shard contracts:
# `kill -9` mid-run then a rerun requests only the missing keys and ends
# complete; SIGTERM writes the log with the unfinished keys pending;
# --shard i/N parts are disjoint, cover every key and are stl-decode's
# parts; file:// sources (missing files are gone); bad keys name their line;
# usage errors exit 2.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/fetch_lib.sh"
F=$STL_BIN/stl-fetch

check "synthetic images" make_images 40
awk '{print $1, "latency"}' "$T/keys.txt" > "$T/modes.txt"
check "fault server up (every answer 0.2 s late)" start_fault_server "$T/modes.txt" "$T/req.jsonl"
URL=http://127.0.0.1:$FAULT_PORT/400x

# kill -9 after about a third of the keys (2 at a time, 0.2 s each: 2 s in all).
"$F" --keys "$T/keys.txt" --out "$T/k9" --base-url "$URL" --concurrency 2 --rate 0 \
    >/dev/null 2>&1 &
pid=$!
for i in $(seq 200); do
    [ "$(find "$T/k9" -name '*.jpg' 2>/dev/null | wc -l)" -ge 12 ] && break
    sleep 0.02
done
kill -9 $pid
wait $pid 2>/dev/null
find "$T/k9" -name '*.jpg' | sed 's|.*/||; s|\.jpg$||' | sort > "$T/have.txt"
sort "$T/keys.txt" | comm -23 - "$T/have.txt" > "$T/missing.txt"
check "kill -9 left some keys missing" [ -s "$T/missing.txt" ]
check "kill -9 left no partial file under a final name" "$PY" -c '
import os, sys
for d, _, ns in os.walk(sys.argv[1]):
    for n in ns:
        if n.endswith(".jpg") and not n.startswith("."):
            b = open(os.path.join(d, n), "rb").read()
            if b[:3] != b"\xff\xd8\xff" or b[-2:] != b"\xff\xd9": sys.exit(n)' "$T/k9"
 # The server logs a request when its answer is decided, 0.2 s after it came:
# wait for the killed run's last requests to be logged before starting afresh.
sleep 1
: > "$T/req.jsonl"
ok "rerun after kill -9 exits 0" "$F" --keys "$T/keys.txt" --out "$T/k9" --base-url "$URL" \
    --concurrency 2 --rate 0
"$PY" -c 'import json,sys; [print(json.loads(l)["key"]) for l in open(sys.argv[1])]' \
    "$T/req.jsonl" | sort > "$T/asked.txt"
check "the rerun requested exactly the missing keys" cmp -s "$T/asked.txt" "$T/missing.txt"
check "the directory ends complete and byte-identical" bash -c '
while read -r k; do cmp -s "$1/images/$k.jpg" "$2/${k:0:2}/${k:2:2}/${k:4:2}/$k.jpg" || exit 1
done < "$3"' _ "$T/synth" "$T/k9" "$T/keys.txt"
check "no temporary left after the rerun" [ -z "$(find "$T/k9" -name '*.part')" ]

# SIGTERM: the log is written, unfinished keys pending, exit 1.
"$F" --keys "$T/keys.txt" --out "$T/term" --base-url "$URL" --concurrency 2 --rate 0 \
    >/dev/null 2>"$T/term.err" &
pid=$!
for i in $(seq 200); do
    [ "$(find "$T/term" -name '*.jpg' 2>/dev/null | wc -l)" -ge 6 ] && break
    sleep 0.02
done
kill -TERM $pid
wait $pid
check "SIGTERM: exit 1" [ $? -eq 1 ]
check "SIGTERM: says it was stopped" grep -q "stopped by signal 15" "$T/term.err"
"$STL_BIN/stl-inspect" --json "$T/term/fetch-log.part-00000-of-00001.mpk" > "$T/term.json"
check "SIGTERM: the log is complete=false, with pending keys, and its ok keys are the files" "$PY" -c '
import json, os, sys
log = json.load(open(sys.argv[1]))
out = sys.argv[2]
if log["complete"] or log["counts"]["pending"] == 0: sys.exit("counts %s" % log["counts"])
for k, o in zip(log["keys"], log["outcomes"]):
    p = os.path.join(out, k[0:2], k[2:4], k[4:6], k + ".jpg")
    if (o == "ok") != os.path.exists(p): sys.exit("%s %s" % (k, o))' "$T/term.json" "$T/term"
check "SIGTERM: no temporary left" [ -z "$(find "$T/term" -name '*.part')" ]

# Shards: a list with a duplicate and comments; parts 0..2 of 3 over file://.
{ echo "# keys"; cat "$T/keys.txt"; head -n 3 "$T/keys.txt"; } > "$T/list.txt"
for i in 0 1 2; do
    ok "file:// shard $i/3" "$F" --keys "$T/list.txt" --out "$T/sh" --shard $i/3 \
        --base-url "file://$T/synth/images" --url-layout flat --layout flat
done
check "shards: disjoint, covering, p mod 3 == i over the deduplicated keys" "$PY" -c '
import json, subprocess, sys
keys = []
for l in open(sys.argv[1]):
    l = l.strip()
    if l and not l.startswith("#") and l not in keys: keys.append(l)
seen = []
for i in range(3):
    log = json.loads(subprocess.run([sys.argv[2], "--json", "%s/fetch-log.part-%05d-of-00003.mpk" % (sys.argv[3], i)],
                     capture_output=True).stdout)
    if log["keys"] != keys[i::3] or log["counts"]["ok"] != len(keys[i::3]): sys.exit("part %d" % i)
    seen += log["keys"]
if sorted(seen) != sorted(keys) or len(set(seen)) != len(seen): sys.exit("not a partition")' \
    "$T/list.txt" "$STL_BIN/stl-inspect" "$T/sh"
ok "stl-decode part 1/3 of the same list decodes fetch part 1/3's files" \
    "$STL_BIN/stl-decode" --keys "$T/list.txt" --images "$T/sh" --out "$T/crops" --shard 1/3 --size 32
check "stl-decode part 1/3 stored every key of the part" "$PY" -c '
import json, subprocess, sys
out = subprocess.run([sys.argv[1], "--json", sys.argv[2]], capture_output=True, text=True).stdout
n = len([l for l in open(sys.argv[3]) if l.strip() and not l.startswith("#")][:-3][1::3])
sys.exit(0 if n == 13 and ("\"images\":%d" % n) in out else out[:300])' \
    "$STL_BIN/stl-inspect" "$T/crops" "$T/list.txt"

# file://: a missing file is gone, never retried, no file.
{ cat "$T/keys.txt"; echo 0123456789abcdef0123456789abcdef; } > "$T/plus.txt"
ok "file:// with a missing file exits 0 (gone is not failed)" "$F" --keys "$T/plus.txt" \
    --out "$T/fl" --base-url "file://$T/synth/images" --url-layout flat
check "file://: the missing key is gone, after one attempt, with no file" "$PY" -c '
import json, os, subprocess, sys
log = json.loads(subprocess.run([sys.argv[1], "--json", sys.argv[2]], capture_output=True).stdout)
i = log["keys"].index("0123456789abcdef0123456789abcdef")
ok = log["outcomes"][i] == "gone" and log["attempts"][i] == 1 and log["counts"]["ok"] == 40
ok = ok and not os.path.exists(sys.argv[3] + "/01/23/45/0123456789abcdef0123456789abcdef.jpg")
sys.exit(0 if ok else "no")' "$STL_BIN/stl-inspect" "$T/fl/fetch-log.part-00000-of-00001.mpk" "$T/fl"

# Bad input and usage.
{ head -n 2 "$T/keys.txt"; echo "0123456789ABCDEF0123456789abcdef"; } > "$T/bad.txt"
fails_with 1 "bad.txt:3: bad key" "a bad key is an error naming its line" \
    "$F" --keys "$T/bad.txt" --out "$T/bad" --base-url "file://$T/synth/images"
check "a bad key list touches nothing" [ ! -e "$T/bad" ]
fails_with 2 "unknown option" "unknown flag: exit 2" "$F" --keys "$T/keys.txt" --out "$T/x" --bogus
fails_with 2 "--concurrency" "--concurrency 0: exit 2" "$F" --keys "$T/keys.txt" --out "$T/x" --concurrency 0
fails_with 2 "--layout" "--layout other: exit 2" "$F" --keys "$T/keys.txt" --out "$T/x" --layout other
fails_with 2 "--shard" "--shard 3/3: exit 2" "$F" --keys "$T/keys.txt" --out "$T/x" --shard 3/3
finish
