# stlrec — build. `make` builds every stage into bin/; `make test` installs what
# the tests need (scripts/install-deps --test) and runs them all; `make SAN=1
# test` runs them under AddressSanitizer + UndefinedBehaviorSanitizer;
# `make pipeline` runs the pipeline on the synthetic data set (pipeline.mk);
# `make sweep SWEEP=config` a grid or random search over its variables.
#
# Switches:
#   SAN=1    sanitizers (objects and binaries under build/san/)
#   CUDA=1   the CUDA build (objects and binaries under build/cuda/): the toolkit
#            at CUDA_HOME (/usr/local/cuda), nvcc for .cu files, cudart linked
#            statically into every program, cuDNN / cuBLAS / NCCL only into
#            the programs that use them (--as-needed). None of it has run on a GPU
#            yet (docs/training.md, "GPU build"); a missing toolkit is an error,
#            never a silent skip.
#
# CUDA-only sources, built only with CUDA=1: common/*/*_cuda.c and
# common/*/*.cu (into libstl.a), mpi/*_cuda.c (into libstlmpi.a: the NCCL
# layer), tests/unit/test_*_cuda.c, tests/tools/*_cuda.c, and the .cu objects
# a test names below (tests/unit/gpu_math_nvcc.cu).
#
# Layout: common/<layer>/*.c -> libstl.a (layers: common/README.md), mpi/*.c -> libstlmpi.a (MPI stages only),
# stages/<name>.c -> bin/stl-<name>, tests/unit/test_*.c -> unit tests,
# tests/tools/*.c and bench/*.c -> helper programs for tests and benchmarks,
# tests/shim/enospc.c -> $(BUILD)/tools/libenospc.so (the disk-full shim).

SAN ?= 0
CUDA ?= 0
# Parallel jobs for the builds that `make test` and `make pipeline` start.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

CUDA_HOME ?= /usr/local/cuda
ifeq ($(CUDA),1)
ifeq ($(SAN),1)
$(error SAN=1 with CUDA=1: the sanitizer build of the CUDA path is not set up yet; use one of them)
endif
ifeq ($(wildcard $(CUDA_HOME)/bin/nvcc),)
$(error CUDA=1: no CUDA toolkit at $(CUDA_HOME) ($(CUDA_HOME)/bin/nvcc is missing): install it, set CUDA_HOME, or build without CUDA=1)
endif
endif

CC ?= cc
PKGS := libturbojpeg msgpack jansson openblas libcurl

ifeq ($(SAN),1)
BUILD := build/san
BIN := build/san/bin
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else ifeq ($(CUDA),1)
BUILD := build/cuda
BIN := build/cuda/bin
SANFLAGS :=
else
BUILD := build/rel
BIN := bin
SANFLAGS :=
endif

# Evaluated lazily, so `make test` can install the packages first.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS = $(shell pkg-config --libs $(PKGS))
MPI_CFLAGS = $(shell pkg-config --cflags ompi-c)
MPI_LIBS = $(shell pkg-config --libs ompi-c)

CPPFLAGS := -D_GNU_SOURCE -Icommon -Impi
CFLAGS := -std=c11 -O2 -g -Wall -Wextra -MMD -MP -march=x86-64-v2 $(SANFLAGS)
# --as-needed: a program records only the shared libraries it calls, so the
# ones without matrix work do not load OpenBLAS, whose thread pool, started at
# load time, took CPU from stl-fetch's transfers (docs/benchmarks.md, Fetch).
LDFLAGS := $(SANFLAGS) -Wl,--as-needed
LDLIBS = $(PKG_LIBS) -lpthread -lm

# The CUDA build: STL_CUDA=1 in every C file, the runtime's headers, cudart
# linked statically (a program then needs only the driver's libcuda, loaded
# at run time). Hopper (sm_90) code plus PTX for later GPUs.
ifeq ($(CUDA),1)
NVCC := $(CUDA_HOME)/bin/nvcc
CUDA_ARCH := -gencode arch=compute_90,code=[sm_90,compute_90]
CPPFLAGS += -DSTL_CUDA=1 -I$(CUDA_HOME)/include
NVCCFLAGS := -std=c++17 -O2 -g $(CUDA_ARCH) -Xcompiler -Wall,-Wextra -MMD -MP
CUDA_LIBDIR := $(CUDA_HOME)/lib64
LDLIBS += -L$(CUDA_LIBDIR) -lcudart_static -ldl -lrt
# Shared libraries for the programs that use them, found through an rpath.
CUDNN_LIBS := -L$(CUDA_LIBDIR) -lcudnn -Wl,-rpath,$(CUDA_LIBDIR)
CUBLAS_LIBS := -L$(CUDA_LIBDIR) -lcublas -Wl,-rpath,$(CUDA_LIBDIR)
NCCL_LIBS := -L$(CUDA_LIBDIR) -lnccl -Wl,-rpath,$(CUDA_LIBDIR)
# The model's GPU path (model_gpu through gpu_backend_cuda: the own kernels,
# C++ objects, and cuDNN / cuBLAS) is in libstl: every program may link it;
# --as-needed keeps them out of the programs that never reach it.
LDLIBS += $(CUDNN_LIBS) $(CUBLAS_LIBS) -lstdc++
# The NCCL layer of the collective layer (mpi/coll_nccl_cuda.c) is in
# libstlmpi: every program that links libstlmpi gets NCCL on its link line,
# and --as-needed plus the archive keep it out of those that never call
# coll_nccl_attach (coll.c names no NCCL symbol).
COLL_LIBS := $(NCCL_LIBS)
CUDA_ONLY :=
else
COLL_LIBS :=
CUDA_ONLY := common/%_cuda.c mpi/%_cuda.c tests/unit/test_%_cuda.c tests/tools/%_cuda.c
endif

# Stages that use the collective layer in mpi/ (linked with Open MPI).
MPI_STAGES := train

COMMON_SRC := $(filter-out $(CUDA_ONLY),$(sort $(wildcard common/*/*.c)))
MPI_SRC := $(filter-out $(CUDA_ONLY),$(sort $(wildcard mpi/*.c)))
STAGE_SRC := $(sort $(wildcard stages/*.c))
UNIT_SRC := $(filter-out $(CUDA_ONLY),$(sort $(wildcard tests/unit/test_*.c)))
TOOL_SRC := $(filter-out $(CUDA_ONLY),$(sort $(wildcard tests/tools/*.c)))
BENCH_SRC := $(sort $(wildcard bench/*.c))
# CUDA C++ of the library (CUDA=1 only).
COMMON_CU := $(if $(filter 1,$(CUDA)),$(sort $(wildcard common/*/*.cu)))

COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o) $(COMMON_CU:%.cu=$(BUILD)/%.cu.o)
MPI_OBJ := $(MPI_SRC:%.c=$(BUILD)/%.o)
STAGES := $(patsubst stages/%.c,$(BIN)/stl-%,$(STAGE_SRC))
UNITS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TOOLS := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRC))
BENCHES := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
# The LD_PRELOAD shim of the disk-full tests (tests/shim/enospc.c).
SHIM := $(BUILD)/tools/libenospc.so

# Objects of the programs are kept after linking (make would delete them as
# intermediates): tests/stage/test_flax_parity.sh links parity_step.o again.
.SECONDARY: $(patsubst %.c,$(BUILD)/%.o,$(STAGE_SRC) $(UNIT_SRC) $(TOOL_SRC) $(BENCH_SRC))

LIBSTL := $(BUILD)/libstl.a
LIBSTLMPI := $(BUILD)/libstlmpi.a

.PHONY: all test test-run pipeline sweep deps clean bench check-deps check-layers check-headers
.DEFAULT_GOAL := all

all: check-deps $(STAGES) $(UNITS) $(TOOLS) $(BENCHES) $(SHIM)

check-deps:
	@pkg-config --exists $(PKGS) ompi-c || { \
	  echo "stlrec: missing build dependencies (pkg-config: $(PKGS) ompi-c): run scripts/install-deps" >&2; exit 1; }

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/%.cu.o: %.cu
	@mkdir -p $(@D)
	$(NVCC) $(CPPFLAGS) $(NVCCFLAGS) -c $< -o $@

$(BUILD)/mpi/%.o: mpi/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(MPI_CFLAGS) $(CFLAGS) -c $< -o $@

$(LIBSTL): $(COMMON_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(LIBSTLMPI): $(MPI_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# Stages: MPI ones link libstlmpi and Open MPI, the rest only libstl.
$(BIN)/stl-%: $(BUILD)/stages/%.o $(LIBSTL) $(LIBSTLMPI)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(if $(filter $*,$(MPI_STAGES)),$(LIBSTLMPI) $(LIBSTL) $(MPI_LIBS) $(COLL_LIBS),$(LIBSTL)) $(LDLIBS)

$(BUILD)/stages/%.o: stages/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(if $(filter $*,$(MPI_STAGES)),$(MPI_CFLAGS)) $(CFLAGS) -c $< -o $@

# Unit tests, tools and benchmarks may use the collective layer too; a unit
# test may link objects of its own (EXTRA_OBJ) and libraries (EXTRA_LIBS).
$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIBSTLMPI) $(LIBSTL)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(EXTRA_OBJ) $(LIBSTLMPI) $(LIBSTL) $(MPI_LIBS) $(COLL_LIBS) $(LDLIBS) $(EXTRA_LIBS)
ifeq ($(CUDA),1)
# test_gpu_math also checks gpu_math.h as nvcc compiles it, host and device.
GPU_MATH_NVCC := $(BUILD)/tests/unit/gpu_math_nvcc.cu.o
$(BUILD)/tests/test_gpu_math: $(GPU_MATH_NVCC)
$(BUILD)/tests/test_gpu_math: EXTRA_OBJ = $(GPU_MATH_NVCC)
$(BUILD)/tests/test_gpu_math: EXTRA_LIBS = -lstdc++
$(BUILD)/tests/test_cudnn_desc_cuda: EXTRA_LIBS = $(CUDNN_LIBS)
# model/gpu_lib (cuDNN's convolutions, cuBLAS's GEMMs) and its test.
$(BUILD)/tests/test_gpu_lib_cuda: EXTRA_LIBS = $(CUDNN_LIBS) $(CUBLAS_LIBS)
# The model's own kernels compute their bodies (gpu_kernels.h,
# gpu_step_kernels.h) exactly as the host does: no contraction of a * b + c
# into FMAs (model/gpu_ops.h, model/gpu_step_ops.h).
$(BUILD)/common/model/gpu_ops.cu.o: NVCCFLAGS += -fmad=false
$(BUILD)/common/model/gpu_step_ops.cu.o: NVCCFLAGS += -fmad=false
$(BUILD)/common/model/gpu_update_ops.cu.o: NVCCFLAGS += -fmad=false
$(BUILD)/tests/test_gpu_ops_cuda: EXTRA_LIBS = -lstdc++
$(BUILD)/tests/test_gpu_step_ops_cuda: EXTRA_LIBS = -lstdc++
endif
$(BUILD)/tools/%: $(BUILD)/tests/tools/%.o $(LIBSTLMPI) $(LIBSTL)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBSTLMPI) $(LIBSTL) $(MPI_LIBS) $(COLL_LIBS) $(LDLIBS)
$(BUILD)/bench/%: $(BUILD)/bench/%.o $(LIBSTLMPI) $(LIBSTL)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBSTLMPI) $(LIBSTL) $(MPI_LIBS) $(COLL_LIBS) $(LDLIBS)
# A preloaded library without the sanitizers even under SAN=1: it only
# forwards calls, and the sanitizer runtime must stay the first library.
$(SHIM): tests/shim/enospc.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 -g -Wall -Wextra -D_GNU_SOURCE -shared -fPIC -o $@ $< -ldl
$(BUILD)/tests/unit/%.o $(BUILD)/tests/tools/%.o $(BUILD)/bench/%.o: CFLAGS += -Itests/unit
$(BUILD)/tests/unit/%.o $(BUILD)/tests/tools/%.o $(BUILD)/bench/%.o: CPPFLAGS += $(MPI_CFLAGS)

# The README's test command: installs what the tests need, builds, runs all.
test:
	scripts/install-deps --test
	$(MAKE) --no-print-directory -j$(JOBS) all
	$(MAKE) --no-print-directory test-run

test-run: all check-layers check-headers
	STL_BIN=$(abspath $(BIN)) STL_BUILD=$(abspath $(BUILD)) SAN=$(SAN) CUDA=$(CUDA) tests/run.sh

# Every include in common/ stays within its layer or below (common/README.md).
check-layers:
	@scripts/check-layers

# Every header compiles alone as C11 and as C++17 with C linkage (the CUDA
# files include them).
check-headers: check-deps
	@CC="$(CC)" CXX="$(CXX)" FLAGS="$(CPPFLAGS) $(PKG_CFLAGS) $(MPI_CFLAGS)" scripts/check-headers

# The README's main command: the pipeline on the embedded synthetic data set.
pipeline:
	scripts/install-deps
	$(MAKE) --no-print-directory -j$(JOBS) all
	$(MAKE) --no-print-directory -f pipeline.mk pipeline

# A grid or random search over pipeline.mk's variables (scripts/sweep,
# docs/training.md "Sweeps"): make sweep SWEEP=config [SWEEPDIR=out/sweep]
# [SWEEP_FLAGS='--jobs 2 --random 8'].
SWEEPDIR ?= out/sweep
SWEEP_FLAGS ?=
sweep: check-deps $(STAGES)
	@test -n "$(SWEEP)" || { echo "make sweep: give the config file, SWEEP=FILE (docs/training.md, \"Sweeps\")" >&2; exit 2; }
	scripts/sweep --dir $(SWEEPDIR) $(SWEEP_FLAGS) $(SWEEP)

bench:
	scripts/install-deps --bench
	$(MAKE) --no-print-directory all
	bench/run-all.sh

deps:
	scripts/install-deps --test

# What tests/stage/test_flax_parity.sh needs to build parity_step with one
# file of common/ replaced (a planted bug): the compile command, and the
# objects and libraries a tool links after that file's object.
.PHONY: print-tool-build
print-tool-build:
	@echo 'COMPILE=$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS)'
	@echo 'LINK=$(CC) $(LDFLAGS)'
	@echo 'TOOL_OBJ=$(abspath $(BUILD))/tests/tools'
	@echo 'LIBS=$(abspath $(LIBSTLMPI) $(LIBSTL)) $(MPI_LIBS) $(COLL_LIBS) $(LDLIBS)'

clean:
	rm -rf build bin

# ---- Fuzzing (added block; nothing above depends on it) ----
# `make fuzz` builds one libFuzzer binary per tests/fuzz/fuzz_<name>.c as
# build/fuzz/fuzz_<name>, with clang, libFuzzer, ASan and UBSan; common/*/*.c
# is compiled again with clang (coverage-instrumented) into build/fuzz/obj/,
# whatever SAN says. tests/stage/test_fuzz.sh runs `make fuzz` itself; how
# to run a campaign: docs/formats.md "## Fuzzing".
FUZZ_CC ?= clang
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=c11 -g -O1 -Wall -Wextra -Wno-unknown-pragmas -MMD -MP -march=x86-64-v2 $(FUZZ_SAN)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
FUZZ_OBJ := $(COMMON_SRC:%.c=build/fuzz/obj/%.o)

.PHONY: fuzz
fuzz: check-deps $(FUZZ_BINS)

build/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(PKG_CFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

build/fuzz/libstl.a: $(FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $^

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h build/fuzz/libstl.a
	$(FUZZ_CC) $(CPPFLAGS) $(PKG_CFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< build/fuzz/libstl.a $(LDLIBS)

-include $(shell find build -name '*.d' 2>/dev/null)
