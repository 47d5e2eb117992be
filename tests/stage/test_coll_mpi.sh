# test_coll_mpi.sh — the collective layer under Open MPI: the unit test
# test_coll run by `mpirun -np 2` and `-np 3` (exact small-integer sums, the
# same bits on every rank, broadcast, the failure vote), and a rank that
# calls coll_abort while the others wait in a collective: the job must end
# with the abort's exit status and message, not hang (timeout(1) guards).
. "$(dirname "$0")/lib.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_oob_tcp_if_include=lo OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_btl=self,vader
TC=$STL_BUILD/tests/test_coll

ok "test_coll on 1 process (single backend)" "$TC"
ok "test_coll on 2 MPI ranks" timeout 60 mpirun -np 2 "$TC"
ok "test_coll on 3 MPI ranks" timeout 60 mpirun --oversubscribe -np 3 "$TC"
STL_TEST_COLL_ABORT=1 fails_with 3 "rank 1/2 on .*: test: this rank gives up" \
    "a rank that aborts ends the whole job with its status" \
    timeout 60 mpirun -np 2 "$TC"
finish
