#!/usr/bin/env bash
# test_nccl_id_mpi.sh — the NCCL unique id broadcast over MPI, without a GPU:
# the unit test test_nccl_id_cuda run by `mpirun -np 2` and `-np 3` (rank 0
# makes the id, coll_broadcast sends it, every rank checks it holds rank 0's
# bytes). Then the NCCL layer of the collective layer (coll_nccl_attach):
# without a GPU every rank's attach fails alike, naming the CUDA error, and
# the job goes on with its host collectives; a program that ends the job on
# a failed attach (coll_abort) ends it, with its status, instead of hanging;
# a program that links libstlmpi but never attaches does not load NCCL.
# The CUDA build only: in the CPU build the test says it is skipped and
# counts nothing (its coll_nccl_attach stub is checked by test_coll).
. "$(dirname "$0")/lib.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_oob_tcp_if_include=lo OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_btl=self,vader
TN=$STL_BUILD/tests/test_nccl_id_cuda

if ! cuda_build; then
    echo "skipped: $STL_BIN is the CPU build (NCCL is in the CUDA build only)"
    finish
    exit
fi
ok "the id on 2 MPI ranks" timeout 120 mpirun -np 2 "$TN"
check "both ranks report rank 0's id" [ "$(grep -c "the 128-byte NCCL id equals rank 0's" "$T/.out")" -eq 2 ]
check "on the MPI backend" grep -q "mpi backend, 2 rank(s)" "$T/.out"
ok "the id on 3 MPI ranks" timeout 120 mpirun --oversubscribe -np 3 "$TN"
check "all three report rank 0's id" [ "$(grep -c "equals rank 0's" "$T/.out")" -eq 3 ]
if grep -q "skipped: no GPU" "$T/.out"; then
    check "without a GPU all three refuse attach naming the CUDA error" \
        [ "$(grep -Ec "^rank [0-2]/3: attach refused: NCCL: .*cudaGetDeviceCount.*cudaError" "$T/.out")" -eq 3 ]
    ok "attach refused on 2 MPI ranks" timeout 120 mpirun -np 2 "$TN"
    check "both refuse with the same error" [ "$(grep -E "^rank [01]/2: attach refused: " "$T/.out" |
        sed -E 's/^rank [01]\/2: //; s/\(rank [01]\/2 on [^)]*\)//' | sort -u | wc -l)" -eq 1 ]
    check "each names its own rank" [ "$(grep -Ec "^rank ([01])/2: attach refused: .*\(rank \1/2 on " "$T/.out")" -eq 2 ]
fi
STL_TEST_NCCL_ATTACH_ABORT=1 fails_with 3 "rank 1/2 on .*: NCCL: STL_NCCL_TIMEOUT_S=0 is not" \
    "a failed attach ends the job through coll_abort (2 ranks)" timeout 120 mpirun -np 2 "$TN"
STL_TEST_NCCL_ATTACH_ABORT=1 fails_with 3 "NCCL: STL_NCCL_TIMEOUT_S=0 is not" \
    "a failed attach ends the job through coll_abort (1 process)" timeout 60 "$TN"
check "a program that never attaches NCCL does not load it (--as-needed)" \
    sh -c "! ldd '$STL_BUILD/tests/test_coll' | grep -q libnccl"
check "one that attaches does" sh -c "ldd '$TN' | grep -q libnccl"
finish
