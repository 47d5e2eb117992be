#!/usr/bin/env bash
# test_nccl_id_mpi.sh — the NCCL unique id broadcast over MPI, without a GPU:
# the unit test test_nccl_id_cuda run by `mpirun -np 2` and `-np 3` (rank 0
# makes the id, coll_broadcast sends it, every rank checks it holds rank 0's
# bytes). The CUDA build only: in the CPU build the test says it is skipped
# and counts nothing.
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
finish
