#!/usr/bin/env bash
# test_fetch_nginx.sh — stl-fetch against nginx from Debian, with its own
# config on free ports of 127.0.0.1, serving synthetic images in the CDN
# layout: once plainly (every file byte-identical; the request rate, read
# from nginx's access log, never above --rate plus --burst in any second;
# at most --concurrency connections), and once behind limit_req answering
# 429 (the 429s absorbed: every file right, and the log's counts agree with
# nginx's).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/fetch_lib.sh"
F=$STL_BIN/stl-fetch

check "synthetic images" make_images 120
mkdir -p "$T/www/400x"
check "CDN tree" cdn_tree "$T/synth/images" "$T/www/400x"

identical() { # OUT: every key's file equals its source
    while read -r k; do cmp -s "$T/synth/images/$k.jpg" "$(cdn_path "$1" "$k")" || return 1; done < "$T/keys.txt"
    [ "$(find "$1" -type f -name '*.jpg' | wc -l)" -eq "$(wc -l < "$T/keys.txt")" ]
}

# --- plain nginx ---
check "nginx up" start_nginx plain 'location ~ "\.jpg$" { try_files $uri =404; }'
ok "fetch from nginx (rate 30/s, burst 5, 4 connections)" "$F" --keys "$T/keys.txt" \
    --out "$T/plain" --base-url "http://127.0.0.1:$NGINX_PORT/400x" --rate 30 --burst 5 \
    --concurrency 4
check "every file byte-identical, nothing else" identical "$T/plain"
check "no temporary left" [ -z "$(find "$T/plain" -name '*.part')" ]
check "nginx served every key once, and nothing else" \
    [ "$(grep '/400x/' "$T/plain/access.log" | awk '$3 == 200' | wc -l)" -eq 120 -a \
      "$(grep -c '/400x/' "$T/plain/access.log")" -eq 120 ]
# Rate: a request's start is $msec - $request_time, when nginx read its
# first bytes, i.e. when stl-fetch sent it plus the loopback delay. The
# token bucket lets at most burst + rate * T requests start in any T
# seconds of stl-fetch's clock; a one-second window of nginx's clock covers
# at most 1 s plus the spread of the delays of stl-fetch's clock, a few ms
# here, which at 30/s is under one request: so the bound is rate + burst,
# plus 1 for that spread.
check "at most --rate + --burst requests in any one-second window" "$PY" -c '
import sys
s = sorted(float(l.split()[0]) - float(l.split()[1]) for l in open(sys.argv[1]) if "/400x/" in l)
worst = max(sum(1 for y in s[i:] if y < x + 1.0) for i, x in enumerate(s))
sys.exit(0 if worst <= 30 + 5 + 1 else "%d requests in one second" % worst)' "$T/plain/access.log"
check "at most --concurrency connections" "$PY" -c '
import sys
c = {l.split()[3] for l in open(sys.argv[1]) if "/400x/" in l}
sys.exit(0 if 1 <= len(c) <= 4 else "%d connections" % len(c))' "$T/plain/access.log"

# --- nginx with limit_req: 20 requests/s, burst 5, then 429 ---
check "nginx with limit_req up" start_nginx limited \
    'location ~ "\.jpg$" { limit_req zone=perip burst=5 nodelay; try_files $uri =404; }'
ok "fetch from a server that answers 429 above 20/s (asking 40/s)" "$F" --keys "$T/keys.txt" \
    --out "$T/lim" --base-url "http://127.0.0.1:$NGINX_PORT/400x" --rate 40 --burst 10 \
    --concurrency 4 --max-retries 10 --backoff 0.2 --backoff-max 2
check "the 429s were absorbed: every file byte-identical" identical "$T/lim"
"$STL_BIN/stl-inspect" --json "$T/lim/fetch-log.part-00000-of-00001.mpk" > "$T/lim.json"
check "nginx answered 429, and the log's requests and 429s are nginx's" "$PY" -c '
import json, sys
log = json.load(open(sys.argv[1]))
st = [l.split()[2] for l in open(sys.argv[2]) if "/400x/" in l]
n429 = st.count("429")
ok = n429 > 0 and log["throttled"] == n429 and log["requests"] == len(st)
ok = ok and log["counts"]["ok"] == 120 and log["complete"]
sys.exit(0 if ok else "nginx %d requests, %d 429; log %d, %d, %s" % (len(st), n429,
         log["requests"], log["throttled"], log["counts"]))' "$T/lim.json" "$T/limited/access.log"
finish
