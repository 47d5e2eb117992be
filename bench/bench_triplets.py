"""bench_triplets.py — the peer for bench_triplets.sh: the book's triplet scheme.

Re-implements, in plain Python + NumPy, what the book's training script does
before training: read the pairs JSON lines, keep pairs whose two images exist
(here: keys in the decoded-key list, a set lookup instead of os.path.exists),
put pair i in test when i % 10 == 0, draw num_neg negatives per pair as the
product of a random pair (np.random.randint per pair), then "shuffle" the
training triplets by drawing indices with replacement. Nothing is written.
Prints one line: "peer_seconds <t> triplets <n>".
usage: bench_triplets.py PAIRS KEYS NUM_NEG
"""
import json
import sys
import time

import numpy as np

pairs_path, keys_path, num_neg = sys.argv[1], sys.argv[2], int(sys.argv[3])
t0 = time.perf_counter()
ok = set(open(keys_path).read().split())
pairs = []
with open(pairs_path) as f:
    for line in f:
        row = json.loads(line)
        if row["scene"] in ok and row["product"] in ok:
            pairs.append((row["scene"], row["product"]))
rng = np.random.default_rng(0)
count = len(pairs)
train, test = [], []
for i, (scene, pos) in enumerate(pairs):
    side = test if i % 10 == 0 else train
    for j in rng.integers(0, count - 1, num_neg):
        side.append((scene, pos, pairs[j][1]))
order = rng.integers(0, len(train) - 1, len(train))
train = [train[k] for k in order]
t = time.perf_counter() - t0
print("peer_seconds %.3f triplets %d" % (t, len(train) + len(test)))
