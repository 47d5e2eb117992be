# fetch_lib.sh — servers on 127.0.0.1 for the stl-fetch tests (sourced after lib.sh).
#
# make_images N: N synthetic JPEGs from stl-synth in $T/synth/images (flat),
# their keys in $T/keys.txt. start_fault_server MODES LOG: the fault server
# (tests/tools/fault_server.py) on a free port, in $FAULT_PORT. start_nginx
# NAME CONF_BODY: nginx from Debian with its own config and prefix under
# $T/NAME, on a free port, in $NGINX_PORT. Every server started here is
# stopped when the test exits, passed or failed.
PY=/usr/bin/python3
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
_servers=()
_stop_servers() {
    local p
    for p in "${_servers[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${_servers[@]}"; do wait "$p" 2>/dev/null; done
}
trap '_stop_servers; rm -rf "$T"' EXIT

make_images() { # N: scenes + products = N
    local n=$1
    "$STL_BIN/stl-synth" --out "$T/synth" --scenes $((n / 2)) --products $((n - n / 2)) \
        --seed 5 --scene-size 96 --product-size 64 --threads 2 >/dev/null 2>&1 || return 1
    (cd "$T/synth/images" && ls | sed 's/\.jpg$//') > "$T/keys.txt"
}

# cdn_tree SRC DST: DST/ab/cd/ef/<key>.jpg hard links to SRC/<key>.jpg.
cdn_tree() {
    local f k
    for f in "$1"/*.jpg; do
        k=$(basename "$f" .jpg)
        mkdir -p "$2/${k:0:2}/${k:2:2}/${k:4:2}"
        ln "$f" "$2/${k:0:2}/${k:2:2}/${k:4:2}/$k.jpg"
    done
}

_wait_port_file() {
    local i
    for i in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.05; done
    return 1
}

start_fault_server() { # MODES LOG
    local pf=$T/fault.port.$RANDOM
    "$PY" "$STL_ROOT/tests/tools/fault_server.py" --root "$T/synth/images" --modes "$1" \
        --log "$2" --port-file "$pf" --big-bytes 300000 2>"$T/fault.err" &
    _servers+=($!)
    _wait_port_file "$pf" || { echo "fault server did not start: $(cat "$T/fault.err")" >&2; return 1; }
    FAULT_PORT=$(cat "$pf")
}

free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_nginx() { # NAME SERVER_BLOCK_BODY (inside server {}; @ROOT@ is replaced)
    local p=$T/$1 i
    NGINX_PORT=$(free_port)
    mkdir -p "$p/tmp"
    # Workers run as the test's user (as root nginx would drop to www-data,
    # which cannot read the private scratch directory); otherwise ignored.
    cat > "$p/nginx.conf" <<CONF
user $(id -un);
worker_processes 1;
pid $p/nginx.pid;
error_log $p/error.log warn;
events { worker_connections 256; }
http {
    log_format timed '\$msec \$request_time \$status \$connection \$body_bytes_sent \$uri';
    access_log $p/access.log timed;
    client_body_temp_path $p/tmp/body;
    proxy_temp_path $p/tmp/proxy;
    fastcgi_temp_path $p/tmp/fastcgi;
    uwsgi_temp_path $p/tmp/uwsgi;
    scgi_temp_path $p/tmp/scgi;
    types { image/jpeg jpg; text/html html; }
    default_type application/octet-stream;
    sendfile on;
    keepalive_timeout 30;
    limit_req_zone \$binary_remote_addr zone=perip:1m rate=20r/s;
    limit_req_status 429;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $T/www;
        location = /healthz { return 200 "ok\n"; }
        $2
    }
}
CONF
    "$NGINX" -t -q -p "$p/" -c "$p/nginx.conf" -e "$p/error.log" 2>"$p/start.err" || {
        echo "nginx config rejected: $(cat "$p/start.err")" >&2; return 1; }
    "$NGINX" -p "$p/" -c "$p/nginx.conf" -e "$p/error.log" -g 'daemon off;' 2>>"$p/start.err" &
    _servers+=($!)
    for i in $(seq 100); do
        curl -fsS "http://127.0.0.1:$NGINX_PORT/healthz" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "nginx did not start: $(cat "$p/start.err" "$p/error.log" 2>/dev/null)" >&2
    return 1
}

# cdn_path DIR KEY
cdn_path() { echo "$1/${2:0:2}/${2:2:2}/${2:4:2}/$2.jpg"; }
