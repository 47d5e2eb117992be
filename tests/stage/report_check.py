"""report_check.py — checks for test_report.sh on what headless Chromium made
of the report (run with /usr/bin/python3: numpy, no PIL needed).

  report_check.py shot FILE.ppm       the screenshot (Chromium's JPEG, through
                                      djpeg -pnm) is a real page: varied
                                      pixels, not one colour
  report_check.py imgs DOM PAGE_DIR   every <img src> in Chromium's --dump-dom
                                      output is a relative link to a file that
                                      exists (prints the count; fails on none)
  report_check.py broken DOM          the injected probe's verdict: the page's
                                      data-broken attribute is 0 and
                                      data-images > 0
Exit 0 when the check holds, 1 with a reason on stderr otherwise.
"""
import html.parser
import os
import re
import sys

import numpy as np


def read_ppm(path):
    """A binary PPM (P6, maxval 255) as an (h, w, 3) uint8 array."""
    data = open(path, "rb").read()
    magic, w, h, maxval = data.split(maxsplit=4)[:4]
    if magic != b"P6" or maxval != b"255":
        raise ValueError("%s: not an 8-bit P6 PPM" % path)
    w, h = int(w), int(h)
    return np.frombuffer(data[-w * h * 3:], np.uint8).reshape(h, w, 3)


class Imgs(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.srcs = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.srcs.append(dict(attrs).get("src", ""))


def main(argv):
    what = argv[1]
    if what == "shot":
        px = read_ppm(argv[2])
        gray = px.mean(axis=2)
        colours = len(np.unique(px.reshape(-1, 3), axis=0))
        # a blank page is one colour (std 0); a page of text and photos has
        # thousands of colours and a large spread of brightness
        if gray.std() < 10 or colours < 500:
            sys.exit("%s: looks blank (std %.1f, %d colours)" % (argv[2], gray.std(), colours))
        print("std %.1f, %d colours" % (gray.std(), colours))
    elif what == "imgs":
        p = Imgs()
        p.feed(open(argv[2], encoding="utf-8").read())
        if not p.srcs:
            sys.exit("no <img> in the page")
        for s in p.srcs:
            if re.match(r"^[a-z]+:", s) or s.startswith("/"):
                sys.exit("not a relative link: %s" % s)
            if not os.path.isfile(os.path.join(argv[3], s)):
                sys.exit("missing image: %s" % s)
        print(len(p.srcs))
    elif what == "broken":
        dom = open(argv[2], encoding="utf-8").read()
        m = re.search(r'data-images="(\d+)" data-broken="(\d+)"', dom)
        if not m:
            sys.exit("the probe did not run")
        if int(m.group(1)) == 0 or int(m.group(2)) != 0:
            sys.exit("%s images, %s failed to load" % m.groups())
        print(m.group(1))
    else:
        sys.exit("unknown check " + what)


if __name__ == "__main__":
    main(sys.argv)
