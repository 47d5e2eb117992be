#!/usr/bin/python3
"""decode_ref.py — test data and peer references for stl-decode (tests/stage/test_decode.sh).

Runs with Debian's /usr/bin/python3 (numpy) and libjpeg-turbo-progs (cjpeg, djpeg).

  gen DIR            JPEGs for the parity tests: DIR/images/<key>.jpg, DIR/keys.txt,
                     DIR/manifest.tsv (key, variant, width, height). Variants: baseline
                     4:2:0, 4:2:2, 4:4:4, 4:4:0, progressive, grayscale, arithmetic;
                     sizes smaller, equal and larger than S, odd and even, per axis.
  bad DIR            the bad inputs (DIR/bad/<key>.jpg, DIR/bad.tsv: key, expected reason).
  parity IMGS DUMP S every stored crop (DUMP/<key>.ppm from crops_dump) equals
                     `djpeg -dct fast` of IMGS/<key>.jpg, cropped or padded as
                     tf.image.resize_with_crop_or_pad: every pixel.
  resize IMGS DUMP S stored --resize crops against a float64 reference: the same DCT
                     scale factor through `djpeg -scale`, then exact area / bilinear
                     resampling of the centred square (common/image/resize.h); |diff| <= 1.
Each check prints "checked N images, M mismatches" and exits 1 on any mismatch.
"""
import hashlib
import math
import os
import subprocess
import sys

import numpy as np

S_TEST = 32
SIZES = [(20, 20), (32, 32), (45, 37), (50, 24), (19, 46), (33, 31), (64, 40), (17, 64)]
VARIANTS = {
    "420": ["-sample", "2x2"],
    "422": ["-sample", "2x1"],
    "444": ["-sample", "1x1"],
    "440": ["-sample", "1x2"],
    "prog": ["-progressive"],
    "gray": ["-grayscale"],
    "arith": ["-arithmetic"],
    "prog444": ["-progressive", "-sample", "1x1"],
}


def key_of(name):
    return hashlib.md5(name.encode()).hexdigest()


def picture(w, h, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    base = np.stack([128 + 100 * np.sin(x / 5 + seed), 128 + 100 * np.cos(y / 7),
                     (x * 255 / max(w - 1, 1) + y * 3) % 256], axis=-1)
    img = base + rng.normal(0, 25, size=(h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def write_ppm(path, a):
    h, w = a.shape[:2]
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (w, h) + a.tobytes())


def read_pnm(data):
    """P5/P6 bytes -> (h, w, 3) uint8 (gray replicated, as libjpeg's gray->RGB)."""
    parts, pos = [], 0
    while len(parts) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        parts.append(data[pos:end])
        pos = end
    pos += 1
    magic, w, h = parts[0], int(parts[1]), int(parts[2])
    ch = 3 if magic == b"P6" else 1
    a = np.frombuffer(data[pos:pos + w * h * ch], dtype=np.uint8).reshape(h, w, ch)
    return np.repeat(a, 3, axis=2) if ch == 1 else a


def djpeg(path, scale=None):
    cmd = ["djpeg", "-dct", "fast"]
    if scale:
        cmd += ["-scale", "%d/%d" % scale]
    out = subprocess.run(cmd + [path], check=True, capture_output=True).stdout
    return read_pnm(out)


def crop_or_pad(a, S):
    h, w = a.shape[:2]
    out = np.zeros((S, S, 3), np.uint8)
    sy, dy = max((h - S) // 2, 0), max((S - h) // 2, 0)
    sx, dx = max((w - S) // 2, 0), max((S - w) // 2, 0)
    ch, cw = min(h, S), min(w, S)
    out[dy:dy + ch, dx:dx + cw] = a[sy:sy + ch, sx:sx + cw]
    return out


def scale_choose(w, h, S):
    short = min(w, h)
    best, frac = short, (1, 1)
    for k in range(1, 9):
        s = -(-short * k // 8)
        if S <= s < best:
            best, frac = s, (k, 8)
    return frac


def weights(n, S):
    W = np.zeros((S, n))
    r = n / S
    for i in range(S):
        if n >= S:
            a, b = i * r, min((i + 1) * r, n)
            for j in range(int(math.floor(a)), min(int(math.ceil(b)), n)):
                W[i, j] = (min(b, j + 1) - max(a, j)) / r
        else:
            c = min(max((i + 0.5) * r - 0.5, 0.0), n - 1)
            j0 = int(math.floor(c))
            f = c - j0
            W[i, j0] += 1 - f
            if f > 0:
                W[i, j0 + 1] += f
    return W


def resize_ref(a, S):
    h, w = a.shape[:2]
    n = min(w, h)
    ox, oy = (w - n) // 2, (h - n) // 2
    win = a[oy:oy + n, ox:ox + n].astype(np.float64)
    W = weights(n, S)
    out = np.einsum("yi,ijc,xj->yxc", W, win, W)
    return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)


def read_dump(dump, key):
    with open(os.path.join(dump, key + ".ppm"), "rb") as f:
        return read_pnm(f.read())


def gen(d):
    os.makedirs(os.path.join(d, "images"), exist_ok=True)
    keys, rows = [], []
    for vi, (var, flags) in enumerate(sorted(VARIANTS.items())):
        for si, (w, h) in enumerate(SIZES):
            name = "%s-%dx%d" % (var, w, h)
            k = key_of(name)
            ppm = os.path.join(d, name + ".ppm")
            write_ppm(ppm, picture(w, h, 100 * vi + si))
            subprocess.run(["cjpeg", "-quality", "90"] + flags +
                           ["-outfile", os.path.join(d, "images", k + ".jpg"), ppm], check=True)
            os.remove(ppm)
            keys.append(k)
            rows.append("%s\t%s\t%d\t%d" % (k, var, w, h))
    with open(os.path.join(d, "keys.txt"), "w") as f:
        f.write("\n".join(keys) + "\n")
    with open(os.path.join(d, "manifest.tsv"), "w") as f:
        f.write("\n".join(rows) + "\n")


def sof_two_components(jpeg):
    """A grayscale JPEG whose SOF claims 2 components: libjpeg's JCS_UNKNOWN."""
    i = jpeg.index(b"\xff\xc0")
    ln = int.from_bytes(jpeg[i + 2:i + 4], "big")
    seg = jpeg[i + 4:i + 2 + ln]
    assert seg[5] == 1
    new = seg[:5] + b"\x02" + seg[6:9] + b"\x02\x11\x00"
    return jpeg[:i] + b"\xff\xc0" + (len(new) + 2).to_bytes(2, "big") + new + jpeg[i + 2 + ln:]


def sof_dimensions(jpeg, w, h):
    """The same JPEG with its frame header claiming w x h (a decompression bomb)."""
    i = jpeg.index(b"\xff\xc0")
    return jpeg[:i + 5] + h.to_bytes(2, "big") + w.to_bytes(2, "big") + jpeg[i + 9:]


def bad(d):
    os.makedirs(os.path.join(d, "bad"), exist_ok=True)
    ppm = os.path.join(d, "bad.ppm")
    write_ppm(ppm, picture(40, 30, 7))
    good = subprocess.run(["cjpeg", ppm], check=True, capture_output=True).stdout
    prog = subprocess.run(["cjpeg", "-progressive", ppm], check=True, capture_output=True).stdout
    gray = subprocess.run(["cjpeg", "-grayscale", ppm], check=True, capture_output=True).stdout
    os.remove(ppm)
    cases = [
        ("ok", good, "ok"),
        ("truncated-scan", good[:len(good) * 2 // 3], "truncated"),
        ("truncated-prog", prog[:len(prog) * 2 // 3], "truncated"),
        ("truncated-header", good[:150], "truncated"),
        ("html", b"<!DOCTYPE html><html><body>404 Not Found</body></html>\n", "not_jpeg"),
        ("png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "not_jpeg"),
        ("empty", b"", "empty"),
        ("colorspace", sof_two_components(gray), "colorspace"),
        ("corrupt-header", good[:2] + b"\xff\xc0\x00\x02" + good[4:], "corrupt"),
        ("bomb", sof_dimensions(good, 60000, 60000), "too_large"),
        ("ok-after-bad", prog, "ok"),  # the decoder recovers from the errors before it
    ]
    rows = []
    for name, data, reason in cases:
        k = key_of("bad-" + name)
        with open(os.path.join(d, "bad", k + ".jpg"), "wb") as f:
            f.write(data)
        rows.append("%s\t%s\t%s" % (k, reason, name))
    rows.append("%s\t%s\t%s" % (key_of("bad-missing"), "missing", "missing"))
    with open(os.path.join(d, "bad.tsv"), "w") as f:
        f.write("\n".join(rows) + "\n")


def check(imgs, dump, S, mode):
    keys = sorted(f[:-4] for f in os.listdir(dump) if f.endswith(".ppm"))
    bad_n, worst = 0, 0
    for k in keys:
        path = os.path.join(imgs, k + ".jpg")
        got = read_dump(dump, k).astype(np.int32)
        if mode == "parity":
            want = crop_or_pad(djpeg(path), S).astype(np.int32)
            tol = 0
        else:
            h, w = djpeg(path).shape[:2]
            want = resize_ref(djpeg(path, scale_choose(w, h, S)), S).astype(np.int32)
            tol = 1  # float32 (C) vs float64 (here) can round a .5 differently
        diff = int(np.abs(got - want).max())
        worst = max(worst, diff)
        if diff > tol:
            bad_n += 1
            print("mismatch %s: max |diff| %d, %d pixels differ" %
                  (k, diff, int((np.abs(got - want) > tol).any(axis=2).sum())), file=sys.stderr)
    print("checked %d images, %d mismatches, worst |diff| %d" % (len(keys), bad_n, worst))
    return 1 if bad_n or not keys else 0


def main():
    cmd = sys.argv[1]
    if cmd == "gen":
        gen(sys.argv[2])
    elif cmd == "bad":
        bad(sys.argv[2])
    elif cmd in ("parity", "resize"):
        sys.exit(check(sys.argv[2], sys.argv[3], int(sys.argv[4]), cmd))
    else:
        sys.exit("usage: decode_ref.py gen|bad|parity|resize ...")


if __name__ == "__main__":
    main()
