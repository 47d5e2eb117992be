# chromium.sh — headless Chromium for the page tests (sourced, not run):
#   shot URL PPM     a screenshot, decoded to a PPM by djpeg (numpy reads it)
#   dom URL OUT      the DOM after load (--dump-dom)
#   probe PAGE COPY  a copy of PAGE beside it (same relative links) with a
#                    script that records, once loaded, the images it has
#                    (data-images), how many failed to load (data-broken), how
#                    many are shown larger than their natural size
#                    (data-upscaled), SVG texts leaving their viewBox
#                    (data-svgtexts, data-clipped) and the report's boxes on a
#                    scene (data-bboxes) that are empty or leave the scene's
#                    image (data-bboxes-out), as attributes of <body>
# Needs $T (a scratch directory) and $PY (/usr/bin/python3).
shot() { # URL PPM: screenshot (JPEG, decoded by djpeg: numpy reads the PPM)
    local ud; ud=$(mktemp -d "$T/chrome.XXXXXX")
    timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync --log-level=3 \
        --user-data-dir="$ud" --window-size=1000,900 --screenshot="$2.jpeg" "$1" >/dev/null 2>&1
    [ -s "$2.jpeg" ] && djpeg -pnm "$2.jpeg" >"$2"
}
dom() { # URL OUT: the DOM after load
    local ud; ud=$(mktemp -d "$T/chrome.XXXXXX")
    timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync --log-level=3 \
        --user-data-dir="$ud" --virtual-time-budget=10000 --dump-dom "$1" >"$2" 2>/dev/null
    [ -s "$2" ]
}
# probe: a copy of a page beside it (same relative links) that records, once
# loaded, how many images it has, how many failed (naturalWidth 0), how many
# are shown larger than their natural size (upscaled: blurred), and how many
# SVG texts have a box leaving their SVG's viewBox (clipped)
cat >"$T/probe.js" <<'JS'
<script>addEventListener("load",function(){
var m=document.images,b=0,u=0,i;
for(i=0;i<m.length;i++){var e=m[i];
 if(!e.complete||e.naturalWidth===0)b++;
 else if(e.clientWidth>e.naturalWidth||e.clientHeight>e.naturalHeight)u++;}
var t=document.querySelectorAll("svg text"),c=0;
for(i=0;i<t.length;i++){var v=t[i].ownerSVGElement.viewBox.baseVal,r=t[i].getBBox();
 if(r.x<v.x-0.5||r.y<v.y-0.5||r.x+r.width>v.x+v.width+0.5||r.y+r.height>v.y+v.height+0.5)c++;}
var d=document.body;d.setAttribute("data-images",m.length);d.setAttribute("data-broken",b);
d.setAttribute("data-upscaled",u);d.setAttribute("data-svgtexts",t.length);d.setAttribute("data-clipped",c);
var x=document.querySelectorAll(".bbox"),o=0;
for(i=0;i<x.length;i++){var g=x[i].parentNode.querySelector("img"),a=g.getBoundingClientRect(),q=x[i].getBoundingClientRect();
 if(q.left<a.left-1||q.top<a.top-1||q.right>a.right+1||q.bottom>a.bottom+1||q.width<2||q.height<2)o++;}
d.setAttribute("data-bboxes",x.length);d.setAttribute("data-bboxes-out",o);
});</script>
JS
probe() { # PAGE PROBE
    $PY -c 'import sys; p = open(sys.argv[1]).read(); j = open(sys.argv[3]).read(); open(sys.argv[2], "w").write(p.replace("</body>", j + "</body>"))' \
        "$1" "$2" "$T/probe.js"
}
