"""report_site_check.py — checks for test_report.sh on the files of an
stl-report site (run with /usr/bin/python3: numpy, standard library).

  report_site_check.py links SITE            every src/href of every page of
                                             SITE resolves to a file inside
                                             SITE (no scheme, no absolute
                                             path, no '..' out of SITE);
                                             fragments ('#...') only as such
  report_site_check.py ranks SITE S.json P.json
                                             every held-out product card of
                                             every scene page shows "rank R of
                                             M · score X" with R, M and X as
                                             numpy ranks the JSON embeddings
                                             (dot products in float64, higher
                                             first, ties by lower product row,
                                             as stl-eval ranks them); the top-K
                                             cards' scores agree too
  report_site_check.py sizes SITE IMAGES     every <img> of the site is a
                                             thumbnail whose width/height
                                             attributes are its JPEG's size,
                                             no larger than the short side of
                                             its source IMAGES/<key>.jpg
Exit 0 when the check holds (printing what was checked), 1 with a reason
otherwise.
"""
import html.parser
import json
import os
import re
import struct
import sys
import urllib.parse

import numpy as np


class Tags(html.parser.HTMLParser):
    """Start tags with their attributes, and the text of the page."""

    def __init__(self):
        super().__init__()
        self.tags = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(path):
    p = Tags()
    p.feed(open(path, encoding="utf-8").read())
    return p


def pages(site):
    for root, dirs, files in os.walk(site):
        for f in sorted(files):
            if f.endswith(".html") and not f.startswith("."):
                yield os.path.join(root, f)


def jpeg_size(path):
    """(width, height) from the first SOFn marker."""
    data = open(path, "rb").read()
    if data[:2] != b"\xff\xd8":
        raise ValueError("%s: not a JPEG" % path)
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise ValueError("%s: bad marker at %d" % (path, i))
        m = data[i + 1]
        n = struct.unpack(">H", data[i + 2:i + 4])[0]
        if 0xC0 <= m <= 0xCF and m not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return w, h
        i += 2 + n
    raise ValueError("%s: no SOF marker" % path)


def check_links(site):
    site = os.path.realpath(site)
    n = 0
    for page in pages(site):
        d = os.path.dirname(page)
        for tag, attrs in parse(page).tags:
            for a in ("src", "href"):
                v = attrs.get(a)
                if v is None or v.startswith("#"):
                    continue
                where = "%s: <%s %s=\"%s\">" % (os.path.relpath(page, site), tag, a, v)
                if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", v) or v.startswith("/"):
                    sys.exit("%s: not a relative link" % where)
                target = os.path.normpath(os.path.join(d, urllib.parse.unquote(v.split("#")[0])))
                if not target.startswith(site + os.sep):
                    sys.exit("%s: leaves the site" % where)
                if not os.path.isfile(target):
                    sys.exit("%s: no such file" % where)
                n += 1
    if n == 0:
        sys.exit("no links at all")
    print("%d links, all inside %s" % (n, site))


class Cards(html.parser.HTMLParser):
    """The product cards of a scene page: (section id, key, rank text)."""

    def __init__(self):
        super().__init__()
        self.section = None
        self.cards = []
        self.field = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "div" and a.get("id") in ("topk", "truth"):
            self.section = a["id"]
        elif tag == "div" and (a.get("class") or "").split()[:1] == ["card"]:
            self.cards.append({"section": self.section, "rank": "", "key": ""})
        elif tag == "div" and a.get("class") in ("rank", "key") and self.cards:
            self.field = a["class"]

    def handle_endtag(self, tag):
        if tag == "div":
            self.field = None

    def handle_data(self, data):
        if self.field and self.cards:
            self.cards[-1][self.field] += data


def check_ranks(site, scenes_json, products_json):
    se = json.load(open(scenes_json))
    pe = json.load(open(products_json))
    pkeys = list(pe)
    prow = {k: i for i, k in enumerate(pkeys)}
    P = np.array([pe[k] for k in pkeys], np.float64)
    m = len(pkeys)
    held = top = 0
    for page in pages(os.path.join(site, "scene")):
        key = os.path.basename(page)[:-len(".html")]
        s = P @ np.array(se[key], np.float64)
        c = Cards()
        c.feed(open(page, encoding="utf-8").read())
        for card in c.cards:
            if card["section"] == "truth":
                g = re.match(r"rank (\d+) of (\d+) · score (-?\d+\.\d{3})", card["rank"].strip())
                if not g:
                    sys.exit("%s: held-out %s: %r is not 'rank R of M · score X'" %
                             (page, card["key"], card["rank"]))
                j = prow[card["key"]]
                want = 1 + int(np.sum(s > s[j])) + int(np.sum(s[:j] == s[j]))
                r, mm, x = int(g.group(1)), int(g.group(2)), float(g.group(3))
                if (r, mm) != (want, m) or abs(x - s[j]) > 0.0005 + 1e-9:
                    sys.exit("%s: held-out %s: shows rank %d of %d, score %.3f; numpy: rank %d of "
                             "%d, score %.6f" % (page, card["key"], r, mm, x, want, m, s[j]))
                held += 1
            elif card["section"] == "topk":
                g = re.match(r"#(\d+) · score (-?\d+\.\d{3})", card["rank"].strip())
                if not g:
                    sys.exit("%s: top-K %s: %r is not '#R · score X'" % (page, card["key"], card["rank"]))
                j = prow[card["key"]]
                # float32 scores of stl-topk against float64: equal to 3 decimals
                if abs(float(g.group(2)) - s[j]) > 0.0005 + 1e-5:
                    sys.exit("%s: top-K %s: score %s, numpy %.6f" % (page, card["key"], g.group(2), s[j]))
                top += 1
    if held == 0 or top == 0:
        sys.exit("no held-out (%d) or top-K (%d) cards found" % (held, top))
    print("%d held-out and %d top-K cards agree with numpy over %d products" % (held, top, m))


def check_sizes(site, images):
    n = 0
    for page in pages(site):
        d = os.path.dirname(page)
        for tag, attrs in parse(page).tags:
            if tag != "img":
                continue
            src = attrs.get("src", "")
            g = re.search(r"img/([0-9a-f]{32})-(\d+)\.jpg$", src)
            if not g:
                sys.exit("%s: <img src=\"%s\"> is not a thumbnail img/<key>-<size>.jpg" % (page, src))
            size = int(g.group(2))
            w, h = jpeg_size(os.path.join(d, src))
            sw, sh = jpeg_size(os.path.join(images, g.group(1) + ".jpg"))
            if (w, h) != (size, size) or attrs.get("width") != str(size) or attrs.get("height") != str(size):
                sys.exit("%s: %s: file %dx%d, attributes %sx%s" % (page, src, w, h, attrs.get("width"),
                                                                   attrs.get("height")))
            if size > min(sw, sh):
                sys.exit("%s: %s: %d px from a %dx%d source: upscaled" % (page, src, size, sw, sh))
            n += 1
    if n == 0:
        sys.exit("no <img> at all")
    print("%d images, none larger than its source" % n)


def main(argv):
    if argv[1] == "links":
        check_links(argv[2])
    elif argv[1] == "ranks":
        check_ranks(argv[2], argv[3], argv[4])
    elif argv[1] == "sizes":
        check_sizes(argv[2], argv[3])
    else:
        sys.exit("usage: report_site_check.py links|ranks|sizes ...")


if __name__ == "__main__":
    main(sys.argv)
