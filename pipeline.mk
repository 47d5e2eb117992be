# pipeline.mk — the stlrec pipeline as make rules. `make pipeline` (in the
# Makefile) installs what is missing, builds bin/, and runs this on the
# embedded synthetic data set. Every stage reads named files and writes named
# files atomically, so make reruns only what is out of date: rerun one stage
# by removing its output (or `touch` an input). Override any variable:
#   make pipeline SCENES=2000 STEPS=3000 SEED=7
#   make -f pipeline.mk pipeline DATA=/data/stl WORK=/scratch/run1
#
#   $(DATA)/pairs.jsonl, catalog.json, images/   stl-synth (the synthetic data set)
#   $(WORK)/random.html        stl-random: 10 random catalog products
#   $(WORK)/images/            stl-fetch: the pairs' images from IMAGES_URL, in the
#                              CDN layout ab/cd/ef/<key>.jpg, and the fetch log
#   $(WORK)/crops/             stl-decode: SIZE x SIZE crops (shards + index)
#   $(WORK)/triplets.mpk       stl-triplets: split, negatives, shuffled order
#   $(WORK)/model.mpk          stl-train (checkpoints, metrics.jsonl in model.mpk.work/)
#   $(WORK)/scenes.emb, products.emb   stl-embed
#   $(WORK)/topk.mpk           stl-topk: each scene's top-K products
#   $(WORK)/metrics.json       stl-eval: Recall/HitRate@K, MRR, AUC vs random
#   $(WORK)/report/index.html  stl-report: the static site

DATA ?= out/synth
WORK ?= out/run
BIN ?= bin
SEED ?= 1
SCENES ?= 1000
PRODUCTS ?= 600
SIZE ?= 64
STEPS ?= 2000
BATCH ?= 16
K ?= 10
RANDOM_N ?= 10
MAX_SCENES ?= 24
THREADS ?= $(shell nproc 2>/dev/null || echo 2)
# Where stl-fetch gets the images: the synthetic set's flat directory by
# default; e.g. IMAGES_URL=http://i.pinimg.com/400x IMAGES_URL_LAYOUT=cdn for the CDN.
IMAGES_URL ?= file://$(abspath $(DATA))/images
IMAGES_URL_LAYOUT ?= flat
# Extra flags, e.g. TRAIN_FLAGS=--threads=2, or MPIRUN="mpirun -np 2" to train on 2 ranks.
FETCH_FLAGS ?=
TRAIN_FLAGS ?=
MPIRUN ?=

CROPS_INDEX := $(WORK)/crops/part-00000-of-00001.index.mpk
FETCH_LOG := $(WORK)/images/fetch-log.part-00000-of-00001.mpk

.PHONY: pipeline
pipeline: $(WORK)/metrics.json $(WORK)/report/index.html
	@cat $(WORK)/metrics.txt
	@echo "report: $(WORK)/report/index.html"

$(DATA)/pairs.jsonl $(DATA)/catalog.json &: | $(BIN)/stl-synth
	$(BIN)/stl-synth --out $(DATA) --scenes $(SCENES) --products $(PRODUCTS) --seed $(SEED)

$(WORK)/random.html: $(DATA)/catalog.json
	@mkdir -p $(WORK)
	$(BIN)/stl-random --catalog $(DATA)/catalog.json --out $@ --n $(RANDOM_N) --seed $(SEED) --images $(DATA)/images

# The images of the scenes and of the products that appear in pairs, as they
# would come from the CDN: stl-fetch validates each and writes the fetch log.
$(FETCH_LOG): $(DATA)/pairs.jsonl
	$(BIN)/stl-fetch --keys $(DATA)/pairs.jsonl --base-url $(IMAGES_URL) --url-layout $(IMAGES_URL_LAYOUT) \
	  --out $(WORK)/images --layout cdn $(FETCH_FLAGS)

# Scenes and the products that appear in pairs, scaled to SIZE (--resize keeps
# the whole product in view at small sizes).
$(CROPS_INDEX): $(DATA)/pairs.jsonl $(FETCH_LOG)
	$(BIN)/stl-decode --keys $(DATA)/pairs.jsonl --images $(WORK)/images --layout cdn --out $(WORK)/crops --size $(SIZE) --resize

$(WORK)/triplets.mpk: $(DATA)/pairs.jsonl $(CROPS_INDEX)
	$(BIN)/stl-triplets --pairs $(DATA)/pairs.jsonl --crops $(WORK)/crops --out $@ --seed $(SEED)

$(WORK)/model.mpk: $(WORK)/triplets.mpk $(CROPS_INDEX)
	$(MPIRUN) $(BIN)/stl-train --triplets $(WORK)/triplets.mpk --crops $(WORK)/crops --model $@ \
	  --max-steps $(STEPS) --batch-size $(BATCH) --seed $(SEED) $(TRAIN_FLAGS)

$(WORK)/scenes.emb: $(WORK)/model.mpk
	$(BIN)/stl-embed --model $(WORK)/model.mpk --crops $(WORK)/crops --kind scene --keys $(DATA)/pairs.jsonl --out $@ --threads $(THREADS)

$(WORK)/products.emb: $(WORK)/model.mpk
	$(BIN)/stl-embed --model $(WORK)/model.mpk --crops $(WORK)/crops --kind product --keys $(DATA)/pairs.jsonl --out $@ --threads $(THREADS)

$(WORK)/topk.mpk: $(WORK)/scenes.emb $(WORK)/products.emb
	$(BIN)/stl-topk --scenes $(WORK)/scenes.emb --products $(WORK)/products.emb --out $@ --k $(K) --threads $(THREADS)

$(WORK)/metrics.json: $(WORK)/topk.mpk $(WORK)/triplets.mpk
	$(BIN)/stl-eval --topk $(WORK)/topk.mpk --triplets $(WORK)/triplets.mpk --scenes $(WORK)/scenes.emb \
	  --products $(WORK)/products.emb --out $@ --seed $(SEED) > $(WORK)/metrics.txt.tmp
	mv $(WORK)/metrics.txt.tmp $(WORK)/metrics.txt

$(WORK)/report/index.html: $(WORK)/metrics.json $(WORK)/random.html $(WORK)/scenes.emb $(WORK)/products.emb
	$(BIN)/stl-report --out $(WORK)/report --metrics $(WORK)/metrics.json \
	  --scenes $(WORK)/scenes.emb --products $(WORK)/products.emb \
	  --train-metrics $(WORK)/model.mpk.work/metrics.jsonl --topk $(WORK)/topk.mpk \
	  --triplets $(WORK)/triplets.mpk --images $(DATA)/images --catalog $(DATA)/catalog.json \
	  --model $(WORK)/model.mpk --random $(WORK)/random.html --max-scenes $(MAX_SCENES) \
	  --pairs $(DATA)/pairs.jsonl > /dev/null
