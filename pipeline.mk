# pipeline.mk — the stlrec pipeline as make rules. `make pipeline` (in the
# Makefile) installs what is missing, builds bin/, and runs this on the
# embedded synthetic data set; docs/pipeline.md tells the whole story.
#
# Every stage reads named files and writes named files atomically. A stage
# depends on its inputs, on its program, and on a stamp file holding its
# parameters ($(WORK)/.stamps/<stage>, rewritten only when they change), so
# changing a parameter reruns that stage and everything downstream and
# nothing upstream, a rebuilt program reruns its stage, and a second
# `make pipeline` with nothing changed does nothing. Examples:
#   make pipeline SCENES=2000 STEPS=4000 SEED=7
#   make -f pipeline.mk pipeline WORK=/scratch/run1 STEPS=100
#   make -f pipeline.mk pipeline DATA=/data/stl WORK=/scratch/stl      (real data)
#   make -f pipeline.mk train TRAIN_FLAGS="--lr 1e-3"                   (one stage and upstream)
#   make -f pipeline.mk clean-train                                    (forget a stage's output)
#
# Data: without DATA, the synthetic set is made under $(WORK)/synth (it is the
# pipeline's own). With DATA (or PAIRS/CATALOG), nothing is ever written
# there: PAIRS (default DATA/pairs.jsonl, else DATA/fashion.json, the real
# set's name), CATALOG (DATA/catalog.json, else DATA/fashion-cat.json) and the
# images, from IMAGES (a local directory, flat) or IMAGES_URL (default: the
# CDN) through stl-fetch.
#
#   $(WORK)/synth/             stl-synth (without DATA): pairs.jsonl, catalog.json, images/
#   $(WORK)/random.html        stl-random: RANDOM_N random catalog products
#   $(WORK)/images/            stl-fetch: the pairs' images in the CDN layout, and the fetch log
#   $(WORK)/crops/             stl-decode: SIZE x SIZE crops (shards + index)
#   $(WORK)/triplets.mpk       stl-triplets: split, negatives, shuffled order
#   $(WORK)/model.mpk          stl-train (checkpoints, metrics.jsonl in model.mpk.work/)
#   $(WORK)/scenes.emb, products.emb   stl-embed (images that could not be decoded are left out)
#   $(WORK)/topk.mpk           stl-topk: each scene's top-K products
#   $(WORK)/metrics.json, metrics.txt  stl-eval: Recall/HitRate@K, MRR, AUC vs random
#   $(WORK)/report/index.html  stl-report: the static site

WORK ?= out/run
# CUDA=1: the programs of the CUDA build (make CUDA=1 builds them in
# build/cuda/bin). DEVICE=auto|cpu|cuda: stl-train's, stl-embed's and
# stl-topk's --device (empty: their default, auto: a GPU when the build has
# GPU kernels and one is there, else the CPU).
CUDA ?= 0
ifeq ($(CUDA),1)
BIN ?= build/cuda/bin
endif
BIN ?= bin
DEVICE ?=
DEVICE_FLAG = $(if $(DEVICE),--device $(DEVICE))
SEED ?= 1
# BOOK=1: the book's training configuration (its learning rate, held
# constant) on stlrec's first, small demo set: 1,000 scenes, 2,000 steps,
# about a minute. The defaults below are what docs/training.md measured to
# learn best within 15 minutes on 2 cores.
BOOK ?= 0
ifeq ($(BOOK),1)
SCENES ?= 1000
PRODUCTS ?= 600
STEPS ?= 2000
LR ?= 1.6e-4
LR_SCHEDULE ?= constant
endif
SCENES ?= 20000
PRODUCTS ?= 1000
SIZE ?= 64
STEPS ?= 24000
BATCH ?= 16
# stl-train's learning rate: --lr LR --lr-schedule LR_SCHEDULE, and for
# warmup-cosine --warmup-steps WARMUP_STEPS (100, or a tenth of a shorter
# run). A --lr, --lr-schedule or --warmup-steps in TRAIN_FLAGS wins.
LR ?= 1e-3
LR_SCHEDULE ?= warmup-cosine
WARMUP_STEPS ?= $(shell w=$$(( $(STEPS) / 10 )); [ $$w -gt 100 ] && w=100; echo $$w)
K ?= 10
RANDOM_N ?= 10
MAX_SCENES ?= 24
THREADS ?= $(shell nproc 2>/dev/null || echo 2)
# Per-stage extra flags (each part of its stage's stamp):
SYNTH_FLAGS ?=
FETCH_FLAGS ?=
DECODE_FLAGS ?=
TRIPLETS_FLAGS ?=
TRAIN_FLAGS ?=
EMBED_FLAGS ?=
TOPK_FLAGS ?=
EVAL_FLAGS ?=
REPORT_FLAGS ?=
# NP=2 (or MPIRUN="mpirun -np 2") trains on 2 ranks; SRUN="srun" prefixes
# every stage (inside a Slurm allocation).
NP ?=
# HARD_NEGATIVES=X: that share of the training negatives from the positive's
# catalog category (stl-triplets --hard-negatives X --catalog CATALOG).
HARD_NEGATIVES ?= 0
MPIRUN ?= $(if $(NP),mpirun -np $(NP))
SRUN ?=

# ---- the data ----
ifeq ($(origin DATA)$(origin PAIRS),undefinedundefined)
SYNTH := 1
DATA := $(WORK)/synth
PAIRS := $(DATA)/pairs.jsonl
CATALOG := $(DATA)/catalog.json
IMAGES := $(DATA)/images
else
SYNTH := 0
PAIRS ?= $(firstword $(wildcard $(DATA)/pairs.jsonl $(DATA)/fashion.json) $(DATA)/pairs.jsonl)
CATALOG ?= $(firstword $(wildcard $(DATA)/catalog.json $(DATA)/fashion-cat.json) $(DATA)/catalog.json)
IMAGES ?= $(patsubst %/,%,$(dir $(wildcard $(DATA)/images/)))
endif
# Where stl-fetch gets the images: a local directory (flat) when IMAGES is
# set, else IMAGES_URL (default the CDN, in its layout).
ifdef IMAGES
IMAGES_URL ?= file://$(abspath $(IMAGES))
IMAGES_URL_LAYOUT ?= flat
else
IMAGES_URL ?= http://i.pinimg.com/400x
IMAGES_URL_LAYOUT ?= cdn
endif
# A changed local image makes stl-fetch run again (it fetches again what
# differs from its source).
LOCAL_IMAGES := $(if $(IMAGES),$(wildcard $(IMAGES)/*.jpg))
# The report's and the random page's pictures: the local images, else links
# to the fetched ones under their keys ($(WORK)/images-flat, made by fetch).
REPORT_IMAGES := $(if $(IMAGES),$(IMAGES),$(WORK)/images-flat)

# SHARDS=N: fetch, decode, embed and top-k run as N parts (run them at once
# with make -j); the readers take all the parts.
SHARDS ?= 1
HARD_NEGATIVES_FLAGS = $(if $(filter-out 0 0.0,$(HARD_NEGATIVES)),--hard-negatives $(HARD_NEGATIVES) --catalog $(CATALOG))
HARD_NEGATIVES_CATALOG = $(if $(HARD_NEGATIVES_FLAGS),$(CATALOG))
given = $(filter $(1) $(1)=%,$(TRAIN_FLAGS))
TRAIN_LR_FLAGS = $(if $(call given,--lr),,--lr $(LR)) \
  $(if $(call given,--lr-schedule),,--lr-schedule $(LR_SCHEDULE) \
    $(if $(filter warmup-cosine,$(LR_SCHEDULE)),$(if $(call given,--warmup-steps),,--warmup-steps $(WARMUP_STEPS))))
SHARD_IDS := $(shell seq 0 $$(($(SHARDS) - 1)))
part = part-$(shell printf %05d $(1))-of-$(shell printf %05d $(SHARDS))
comma := ,
space := $(subst ,, )
commas = $(subst $(space),$(comma),$(strip $(1)))
emb_parts = $(if $(filter 1,$(SHARDS)),$(WORK)/$(1).emb,$(foreach i,$(SHARD_IDS),$(WORK)/$(1).$(call part,$(i)).emb))
TOPK_PARTS := $(if $(filter 1,$(SHARDS)),$(WORK)/topk.mpk,$(foreach i,$(SHARD_IDS),$(WORK)/topk.$(call part,$(i)).mpk))

STAMPS := $(WORK)/.stamps
CROPS_INDEXES := $(foreach i,$(SHARD_IDS),$(WORK)/crops/$(call part,$(i)).index.mpk)
FETCH_LOGS := $(foreach i,$(SHARD_IDS),$(WORK)/images/fetch-log.$(call part,$(i)).mpk)
SCENES_EMB := $(call emb_parts,scenes)
PRODUCTS_EMB := $(call emb_parts,products)

.PHONY: pipeline synth fetch decode triplets train embed topk eval report random FORCE

# A program that is not there: say which build makes it, not make's "No rule
# to make target" (a rule without prerequisites never runs for a file that
# exists).
$(BIN)/stl-%:
	@echo "pipeline.mk: $@ is missing: build it with make$(if $(filter 1,$(CUDA)), CUDA=1) all (make pipeline does), or point BIN= at a build" >&2; exit 2
pipeline: $(WORK)/metrics.json $(WORK)/metrics.txt $(WORK)/report/index.html
	@cat $(WORK)/metrics.txt
	@echo "report: $(WORK)/report/index.html"

# The parameters a stage's command line and its stamp share, written once.
SYNTH_ARGS = --scenes $(SCENES) --products $(PRODUCTS) --seed $(SEED) $(SYNTH_FLAGS)
TRIPLETS_ARGS = --seed $(SEED) $(HARD_NEGATIVES_FLAGS) $(TRIPLETS_FLAGS)
TRAIN_ARGS = --max-steps $(STEPS) --batch-size $(BATCH) --seed $(SEED) $(strip $(TRAIN_LR_FLAGS)) $(DEVICE_FLAG) $(TRAIN_FLAGS)
EMBED_ARGS = $(DEVICE_FLAG) $(EMBED_FLAGS)
EVAL_ARGS = --seed $(SEED) $(EVAL_FLAGS)
RANDOM_ARGS = --n $(RANDOM_N) --seed $(SEED)

# ---- stamps: a stage's parameters, rewritten only when they change ----
# $(call stamp_rule,STAGE,PARAMETERS)
define stamp_rule
$(STAMPS)/$(1): FORCE
	@mkdir -p $$(@D)
	@printf '%s\n' '$(strip $(2))' > $$@.new
	@if cmp -s $$@.new $$@; then rm -f $$@.new; else mv $$@.new $$@; fi
endef
$(eval $(call stamp_rule,synth,$(SYNTH_ARGS)))
$(eval $(call stamp_rule,fetch,$(IMAGES_URL) $(IMAGES_URL_LAYOUT) $(FETCH_FLAGS)))
$(eval $(call stamp_rule,decode,--size $(SIZE) $(DECODE_FLAGS)))
$(eval $(call stamp_rule,triplets,$(TRIPLETS_ARGS)))
$(eval $(call stamp_rule,train,$(TRAIN_ARGS) [$(MPIRUN)]))
$(eval $(call stamp_rule,embed,$(EMBED_ARGS)))
$(eval $(call stamp_rule,topk,--k $(K) $(DEVICE_FLAG) $(TOPK_FLAGS)))
$(eval $(call stamp_rule,eval,$(EVAL_ARGS)))
$(eval $(call stamp_rule,random,$(RANDOM_ARGS)))
$(eval $(call stamp_rule,report,--max-scenes $(MAX_SCENES) $(REPORT_FLAGS)))

# ---- the stages ----
ifeq ($(SYNTH),1)
$(PAIRS) $(CATALOG) &: $(STAMPS)/synth $(BIN)/stl-synth
	$(SRUN) $(BIN)/stl-synth --out $(DATA) $(SYNTH_ARGS)
else ifeq ($(filter clean-%,$(MAKECMDGOALS)),)
# User data: checked before anything runs, never written.
$(foreach f,$(PAIRS) $(CATALOG),$(if $(wildcard $(f)),,$(error pipeline.mk: $(f) is missing \
  (DATA=$(DATA): it needs pairs.jsonl or fashion.json and catalog.json or fashion-cat.json, \
  or give PAIRS= and CATALOG=))))
endif

$(WORK)/random.html: $(CATALOG) $(WORK)/images-flat.stamp $(STAMPS)/random $(BIN)/stl-random
	@mkdir -p $(WORK)
	$(SRUN) $(BIN)/stl-random --catalog $(CATALOG) --out $@ $(RANDOM_ARGS) --images $(REPORT_IMAGES)

# The images of the scenes and of the products that appear in pairs, as they
# would come from the CDN: stl-fetch validates each and writes the fetch log.
# A key it cannot fetch is counted (the run goes on); decode leaves it out.
define fetch_rule
$(WORK)/images/fetch-log.$(call part,$(1)).mpk: $(PAIRS) $(STAMPS)/fetch $(BIN)/stl-fetch $(LOCAL_IMAGES)
	$(SRUN) $(BIN)/stl-fetch --keys $(PAIRS) --base-url $(IMAGES_URL) --url-layout $(IMAGES_URL_LAYOUT) \
	  --out $(WORK)/images --layout cdn --max-failed 1000000000 --shard $(1)/$(SHARDS) $(FETCH_FLAGS)
endef
$(foreach i,$(SHARD_IDS),$(eval $(call fetch_rule,$(i))))
# The pictures under their keys, for the report and the random page.
$(WORK)/images-flat.stamp: $(FETCH_LOGS)
	$(if $(IMAGES),,@mkdir -p $(WORK)/images-flat && cd $(WORK)/images-flat && \
	  find ../images -name '*.jpg' | while read -r f; do ln -sf "$$f" "$${f##*/}"; done)
	@touch $@

# Scenes and the products that appear in pairs, scaled to SIZE (--resize keeps
# the whole product in view at small sizes). Undecodable images are rejected
# with their reason and left out by every later stage.
define decode_rule
$(WORK)/crops/$(call part,$(1)).index.mpk: $(PAIRS) $(FETCH_LOGS) $(STAMPS)/decode $(BIN)/stl-decode
	$(SRUN) $(BIN)/stl-decode --keys $(PAIRS) --images $(WORK)/images --layout cdn --out $(WORK)/crops \
	  --size $(SIZE) --resize --shard $(1)/$(SHARDS) $(DECODE_FLAGS)
endef
$(foreach i,$(SHARD_IDS),$(eval $(call decode_rule,$(i))))

$(WORK)/triplets.mpk: $(PAIRS) $(CROPS_INDEXES) $(STAMPS)/triplets $(BIN)/stl-triplets $(HARD_NEGATIVES_CATALOG)
	$(SRUN) $(BIN)/stl-triplets --pairs $(PAIRS) --crops $(WORK)/crops --out $@ $(TRIPLETS_ARGS)

# A model's checkpoints belong to one configuration: when the parameters or
# the inputs changed since the work directory was started, it starts over
# (stl-train would refuse the old checkpoints); after an interruption with
# the same ones, it resumes.
$(WORK)/model.mpk: $(WORK)/triplets.mpk $(CROPS_INDEXES) $(STAMPS)/train $(BIN)/stl-train
	@{ cat $(STAMPS)/train; cksum < $(WORK)/triplets.mpk; cat $(CROPS_INDEXES) | cksum; } > $@.key
	@if [ -d $@.work ] && ! cmp -s $@.key $@.work/pipeline.key; then \
	  echo "pipeline.mk: new parameters or inputs: $@.work starts over"; rm -rf $@.work; fi
	@mkdir -p $@.work && mv $@.key $@.work/pipeline.key
	$(SRUN) $(MPIRUN) $(BIN)/stl-train --triplets $(WORK)/triplets.mpk --crops $(WORK)/crops --model $@ \
	  $(TRAIN_ARGS)

# $(call embed_rule,KIND,FILE,SHARD)
define embed_rule
$(2): $(WORK)/model.mpk $(CROPS_INDEXES) $(STAMPS)/embed $(BIN)/stl-embed
	$(SRUN) $(BIN)/stl-embed --model $(WORK)/model.mpk --crops $(WORK)/crops --kind $(1) --keys $(PAIRS) \
	  --out $$@ --threads $(THREADS) --skip-missing --shard $(3)/$(SHARDS) $(EMBED_ARGS)
endef
$(foreach i,$(SHARD_IDS),$(eval $(call embed_rule,scene,$(word $(shell echo $$(($(i) + 1))),$(SCENES_EMB)),$(i))))
$(foreach i,$(SHARD_IDS),$(eval $(call embed_rule,product,$(word $(shell echo $$(($(i) + 1))),$(PRODUCTS_EMB)),$(i))))

define topk_rule
$(word $(shell echo $$(($(1) + 1))),$(TOPK_PARTS)): $(SCENES_EMB) $(PRODUCTS_EMB) $(STAMPS)/topk $(BIN)/stl-topk
	$(SRUN) $(BIN)/stl-topk --scenes $(call commas,$(SCENES_EMB)) --products $(call commas,$(PRODUCTS_EMB)) \
	  --out $$@ --k $(K) --threads $(THREADS) --shard $(1)/$(SHARDS) $(DEVICE_FLAG) $(TOPK_FLAGS)
endef
$(foreach i,$(SHARD_IDS),$(eval $(call topk_rule,$(i))))

$(WORK)/metrics.json $(WORK)/metrics.txt &: $(TOPK_PARTS) $(WORK)/triplets.mpk $(STAMPS)/eval $(BIN)/stl-eval
	$(SRUN) $(BIN)/stl-eval --topk $(call commas,$(TOPK_PARTS)) --triplets $(WORK)/triplets.mpk \
	  --scenes $(call commas,$(SCENES_EMB)) --products $(call commas,$(PRODUCTS_EMB)) \
	  --out $(WORK)/metrics.json $(EVAL_ARGS) \
	  > $(WORK)/metrics.txt.tmp
	mv $(WORK)/metrics.txt.tmp $(WORK)/metrics.txt

$(WORK)/report/index.html: $(WORK)/metrics.json $(WORK)/random.html $(SCENES_EMB) $(PRODUCTS_EMB) \
  $(TOPK_PARTS) $(WORK)/images-flat.stamp $(STAMPS)/report $(BIN)/stl-report
	$(SRUN) $(BIN)/stl-report --out $(WORK)/report --metrics $(WORK)/metrics.json \
	  --scenes $(call commas,$(SCENES_EMB)) --products $(call commas,$(PRODUCTS_EMB)) \
	  --train-metrics $(WORK)/model.mpk.work/metrics.jsonl --topk $(call commas,$(TOPK_PARTS)) \
	  --triplets $(WORK)/triplets.mpk --images $(REPORT_IMAGES) --catalog $(CATALOG) \
	  --model $(WORK)/model.mpk --random $(WORK)/random.html --max-scenes $(MAX_SCENES) \
	  --pairs $(PAIRS) $(REPORT_FLAGS) > /dev/null

# ---- one stage (and what it needs), and forgetting one ----
synth: $(PAIRS) $(CATALOG)
fetch: $(FETCH_LOGS)
decode: $(CROPS_INDEXES)
triplets: $(WORK)/triplets.mpk
train: $(WORK)/model.mpk
embed: $(SCENES_EMB) $(PRODUCTS_EMB)
topk: $(TOPK_PARTS)
eval: $(WORK)/metrics.json
report: $(WORK)/report/index.html
random: $(WORK)/random.html

.PHONY: clean-synth clean-fetch clean-decode clean-triplets clean-train clean-embed clean-topk \
  clean-eval clean-report clean-random
clean-synth:
	$(if $(filter 1,$(SYNTH)),rm -rf $(DATA),@echo "pipeline.mk: DATA=$(DATA) is not the pipeline's own: not removed")
clean-fetch: ; rm -rf $(WORK)/images $(WORK)/images-flat $(WORK)/images-flat.stamp
clean-decode: ; rm -rf $(WORK)/crops
clean-triplets: ; rm -f $(WORK)/triplets.mpk
clean-train: ; rm -rf $(WORK)/model.mpk $(WORK)/model.mpk.json $(WORK)/model.mpk.work
clean-embed: ; rm -f $(SCENES_EMB) $(PRODUCTS_EMB)
clean-topk: ; rm -f $(TOPK_PARTS)
clean-eval: ; rm -f $(WORK)/metrics.json $(WORK)/metrics.txt
clean-report: ; rm -rf $(WORK)/report
clean-random: ; rm -f $(WORK)/random.html
