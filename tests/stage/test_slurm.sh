#!/usr/bin/env bash
# test_slurm.sh — scripts/slurm on a real one-node Slurm on localhost.
#
# Starts munged (unless one runs), slurmctld and slurmd with this test's own
# configuration and state under $T (no systemd; SLURM_CONF exported for every
# client), submits the pipeline on a tiny synthetic data set with 2 shards,
# checks that every job and array element COMPLETED and that the metrics equal
# those of make pipeline on the same data, seed, shards and ranks;
# then makes one decode element fail and checks that every stage after it is
# cancelled, not left pending. The daemons are stopped by PID on exit, also on
# failure. Last, scripts/sweep --slurm on a 2-trial grid gives what the same
# sweep gives locally. Needs root and the packages of `scripts/install-deps --test`
# (slurmctld, slurmd, slurm-client, munge): without them it fails, saying so.
source "$(dirname "$0")/lib.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_oob_tcp_if_include=lo OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_btl=self,vader
# One thread per process in both runs: stl-train's last bits depend on it.
export STL_THREADS=1
SUBMIT=$STL_ROOT/scripts/slurm/submit
export STL_SUBMIT_POLL=1

# --- prerequisites: a missing one is a failure that names its remedy ---
missing=
for p in /usr/sbin/slurmctld /usr/sbin/slurmd /usr/sbin/munged /usr/bin/sbatch /usr/bin/scontrol; do
    [ -x "$p" ] || missing+=" $p"
done
if [ -n "$missing" ]; then
    fail "Slurm is not installed (missing:$missing): run scripts/install-deps --test"
    finish; exit 1
fi
if [ "$(id -u)" != 0 ]; then
    fail "the one-node Slurm needs root (munged, slurmd); running as $(id -un)"
    finish; exit 1
fi

# --- start the daemons (no systemd: each is started here and daemonizes) ---
D=$T/slurm
mkdir -p "$D"/state "$D"/spool "$D"/log
export SLURM_CONF=$D/slurm.conf
started_munge=
stop_slurm() {
    local f p i
    if scontrol ping >/dev/null 2>&1; then
        scancel --name=stl-synth,stl-decode,stl-triplets,stl-train,stl-embed,stl-topk,stl-eval,stl-report,stl-sweep,stl-sweep-shared 2>/dev/null || true
    fi
    for f in "$D/slurmd.pid" "$D/slurmctld.pid" ${started_munge:+/run/munge/munged.pid}; do
        [ -s "$f" ] || continue
        p=$(cat "$f")
        kill -TERM "$p" 2>/dev/null || continue
        # Gone, or a zombie (PID 1 here reaps orphans late).
        for ((i = 0; i < 100; i++)); do
            [ -e "/proc/$p" ] || break
            ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$p/stat" 2>/dev/null || break
            sleep 0.1
        done
    done
}
trap 'stop_slurm; rm -rf "$T"' EXIT

host=$(hostname -s)
# Two free ports, so that two runs of this test on one machine (two
# worktrees) each talk to their own controller.
read -r ctld_port slurmd_port < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
nodeline=$(/usr/sbin/slurmd -C 2>/dev/null | head -1)
cat > "$SLURM_CONF" <<EOF
ClusterName=stltest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MailProg=/bin/true
MpiDefault=pmix
SwitchType=switch/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
MinJobAge=300
KillWait=5
InactiveLimit=0
$nodeline NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF

if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    if [ ! -s /etc/munge/munge.key ]; then
        mkdir -p /etc/munge
        /usr/sbin/mungekey --create --keyfile=/etc/munge/munge.key 2>/dev/null ||
            dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
    chown munge:munge /etc/munge /etc/munge/munge.key && chmod 0700 /etc/munge && chmod 0400 /etc/munge/munge.key
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    chown munge:munge /run/munge /var/lib/munge /var/log/munge
    runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid && started_munge=1
    for ((i = 0; i < 50; i++)); do munge -n >/dev/null 2>&1 && break; sleep 0.1; done
fi
ok "munge works" bash -c 'munge -n | unmunge'
/usr/sbin/slurmctld -c -f "$SLURM_CONF"
for ((i = 0; i < 100; i++)); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.1; done
/usr/sbin/slurmd -f "$SLURM_CONF"
for ((i = 0; i < 300; i++)); do [[ $(sinfo -h -N -o %t 2>/dev/null) == idle* ]] && break; sleep 0.1; done
if [[ $(sinfo -h -N -o %t 2>/dev/null) != idle* ]]; then
    fail "the Slurm node did not come up idle: $(tail -n 5 "$D"/log/*.log | tr '\n' ' ')"
    finish; exit 1
fi
pass "slurmctld and slurmd up, node idle"

# The states of a job (an array's, sorted and unique), e.g. "COMPLETED FAILED ".
st() { scontrol show job -o "$1" 2>/dev/null | grep -oP ' JobState=\K\S+' | sort -u | tr '\n' ' '; }

# --- usage ---
fails_with 2 "unknown option" "submit: an unknown option is a usage error" "$SUBMIT" --bogus
fails_with 2 "required" "submit: --work is required" env -u STL_WORK "$SUBMIT" --dry-run
ok "submit --help exits 0" "$SUBMIT" --help
fails_with 2 "unknown stage" "submit: --from of an unknown stage" "$SUBMIT" --work "$T/x" --from nope

P=(--scenes 60 --products 40 --size 32 --steps 40 --batch 8 --seed 3 --k 5 --shards 2)

ok "submit --dry-run" "$SUBMIT" --work "$T/dry" "${P[@]}" --dry-run
check "--dry-run prints 9 sbatch commands: decode aftercorr on fetch, the rest afterok, all --kill-on-invalid-dep" \
    [ "$(grep -c '^sbatch --parsable --kill-on-invalid-dep=yes' "$T/.out")" = 9 -a \
      "$(grep -c 'dependency=afterok:' "$T/.out")" = 7 -a \
      "$(grep -c 'job-name=stl-decode .*dependency=aftercorr:<fetch>' "$T/.out")" = 1 ]
check "--dry-run submits nothing and creates nothing" [ -z "$(squeue -h)" -a ! -e "$T/dry" ]

# --- the whole pipeline, to the end ---
# Site settings through sbatch's own SBATCH_PARTITION, and one stage's extra
# sbatch options.
SBATCH_PARTITION=debug "$SUBMIT" --work "$T/run" "${P[@]}" --sbatch train='--time=00:09:00' \
    --wait > "$T/submit.out" 2>&1
rc=$?
check "submit --wait exits 0 (rc $rc: $(tail -n 3 "$T/submit.out" | tr '\n' ' '))" [ $rc = 0 ]
# 9 jobs: synth, fetch x2, decode x2, triplets, train, embed x4, topk x2, eval, report = 15 lines
check "every job and array element COMPLETED" \
    [ "$(grep -cE '^[a-z]+ +[0-9_]+ +COMPLETED$' "$T/submit.out")" = 15 ]
check "job ids recorded for scancel" [ "$(wc -l < "$T/run/slurm-jobs" 2>/dev/null)" = 9 ]
ids_known=1
while read -r _ id; do scontrol show job "$id" >/dev/null 2>&1 || ids_known=0; done < "$T/run/slurm-jobs"
check "the recorded ids are Slurm's" [ $ids_known = 1 ]
all_done=1
while read -r _ id; do [ "$(st "$id")" = "COMPLETED " ] || all_done=0; done < "$T/run/slurm-jobs"
check "scontrol: every job and element of the run COMPLETED" [ $all_done = 1 ]
check "array logs named %A_%a" [ -s "$(ls "$T"/run/logs/stl-decode-*_1.out 2>/dev/null | head -1)" ]
check "training ran on 2 MPI ranks" grep -q 'srun --mpi=pmix' "$T"/run/logs/stl-train-*.out
check "report written" [ -s "$T/run/report/index.html" ]
train_id=$(awk '$1 == "train" {print $2}' "$T/run/slurm-jobs")
check "--sbatch train=... reached the train job only" \
    [ "$(scontrol show job -o "$train_id" | grep -oP ' TimeLimit=\K\S+')" = 00:09:00 -a \
      "$(scontrol show job -o "$(awk '$1 == "eval" {print $2}' "$T/run/slurm-jobs")" | grep -oP ' TimeLimit=\K\S+')" = 00:30:00 ]

# The same pipeline through make pipeline, on the job's data set with the
# same seed, shards and ranks: the scheduler must not change a bit of the
# metrics.
H=$T/hand S=$T/run/synth
make --no-print-directory -f "$STL_ROOT/pipeline.mk" pipeline BIN="$STL_BIN" WORK="$H" DATA="$S" \
    SIZE=32 STEPS=40 BATCH=8 SEED=3 K=5 SHARDS=2 NP=2 > "$T/hand.log" 2>&1
check "make pipeline on the same data runs ($(tail -n 2 "$T/hand.log" | tr '\n' ' '))" [ -s "$H/metrics.json" ]
strip='del(.inputs)'
check "Slurm's metrics equal make pipeline's with SHARDS=2 NP=2 (inputs aside)" \
    [ -n "$(jq -S "$strip" "$H/metrics.json" 2>/dev/null)" -a \
      "$(jq -S "$strip" "$T/run/metrics.json" 2>/dev/null)" = "$(jq -S "$strip" "$H/metrics.json" 2>/dev/null)" ]
check "triplets equal" cmp -s "$H/triplets.mpk" "$T/run/triplets.mpk"

# --- one stage submitted by hand, from the repository root, with its
# #SBATCH defaults and the environment for paths ---
rm -f "$T/run/metrics.json" "$T/run/metrics.txt"
(cd "$STL_ROOT" && sbatch --wait --output="$T/byhand-eval.out" \
    --export=ALL,STL_WORK="$T/run",STL_SEED=3,STL_SHARDS=2 scripts/slurm/eval.sbatch) > "$T/byhand.id" 2>&1
check "eval.sbatch submitted by hand completes ($(tail -n 2 "$T/byhand-eval.out" 2>/dev/null | tr '\n' ' '))" \
    [ "$(jq -S "$strip" "$T/run/metrics.json" 2>/dev/null)" = "$(jq -S "$strip" "$H/metrics.json")" ]
(cd "$STL_ROOT" && sbatch --wait --array=2 --output="$T/byhand-topk-%a.out" \
    --export=ALL,STL_WORK="$T/run",STL_SHARDS=2 scripts/slurm/topk.sbatch) > /dev/null 2>&1
check "an array element beyond the shards fails, saying so" grep -q 'array element 2 is out of range' "$T/byhand-topk-2.out"

# --- resubmission from a stage: earlier outputs are reused, not redone ---
ok "submit --from eval --wait" "$SUBMIT" --work "$T/run" "${P[@]}" --from eval --wait
check "--from eval submitted eval and report only" [ "$(cut -d' ' -f1 "$T/run/slurm-jobs" | tr '\n' ' ')" = "eval report " ]
fails_with 1 "fetch part 0 of 2 is missing" "--from decode without the fetched images is refused" \
    "$SUBMIT" --work "$T/empty" --data "$T/run/synth" "${P[@]}" --from decode --dry-run
fails_with 1 "crops part 0 of 2 is missing" "--from embed without crops is refused" \
    "$SUBMIT" --work "$T/empty" --data "$T/run/synth" "${P[@]}" --from embed --dry-run
mkdir -p "$T/nomodel"
cp -r "$T/run/crops" "$T/run/triplets.mpk" "$T/nomodel/"
fails_with 1 "model.mpk is missing" "--from embed without a model is refused" \
    "$SUBMIT" --work "$T/nomodel" --data "$T/run/synth" "${P[@]}" --from embed --dry-run

# --- an id that is not a job Slurm knows ends the submission ---
# (a dependency on it would be dropped silently, and the next stage would run
# at once on missing inputs): an sbatch that answers an unknown id.
mkdir -p "$T/fakesb"
printf '#!/bin/sh\necho 999999\n' > "$T/fakesb/sbatch"
chmod +x "$T/fakesb/sbatch"
fails_with 1 "not a job id Slurm knows" "submit refuses an id Slurm does not know" \
    env PATH="$T/fakesb:$PATH" "$SUBMIT" --work "$T/fake" "${P[@]}"
check "nothing queued by the refused submission" [ -z "$(squeue -h)" ]

# --- a training stopped by SIGTERM (what Slurm sends before the time limit,
# train.sbatch's --signal=TERM@300) checkpoints, and --from train resumes ---
mkdir -p "$T/term"
cp -r "$T/run/crops" "$T/run/triplets.mpk" "$T/term/"
# 1500 steps: long enough (over 10 s here) to be signalled after the first
# checkpoint (step 100) and before the end.
PT=(--scenes 60 --products 40 --size 32 --steps 1500 --batch 8 --seed 3 --k 5 --shards 2)
"$SUBMIT" --work "$T/term" --data "$T/run/synth" "${PT[@]}" --from train > "$T/term.out" 2>&1
tid=$(awk '$1 == "train" {print $2}' "$T/term/slurm-jobs" 2>/dev/null)
eid=$(awk '$1 == "embed" {print $2}' "$T/term/slurm-jobs" 2>/dev/null)
check "submit --from train ($(tail -n 1 "$T/term.out"))" [ -n "$tid" -a -n "$eid" ]
# Wait for the first checkpoint (no bound on training speed: 3 minutes).
for ((i = 0; i < 1800; i++)); do
    [ -n "$(ls "$T/term/model.mpk.work/checkpoints" 2>/dev/null)" ] && break
    sleep 0.1
done
scancel --signal=TERM "$tid"
for ((i = 0; i < 600; i++)); do
    s=$(st "$tid")
    [[ $s == *PENDING* || $s == *RUNNING* || $s == *COMPLETING* ]] || break
    sleep 0.1
done
check "the signalled training job FAILED with exit 143 ($s)" \
    [ "$s" = "FAILED " -a "$(scontrol show job -o "$tid" | grep -oP ' ExitCode=\K\S+')" = 143:0 ]
check "stl-train checkpointed on SIGTERM" grep -q 'stopped by SIGTERM after step' "$T/term/logs/stl-train-$tid.out"
for ((i = 0; i < 600; i++)); do [ "$(st "$eid")" = "CANCELLED " ] && break; sleep 0.1; done
check "the stages after the stopped training are cancelled" [ "$(st "$eid")" = "CANCELLED " ]
# (STL_QUIET unset in the jobs: the resume is an information line.)
ok "submit --from train --wait after SIGTERM" env -u STL_QUIET "$SUBMIT" --work "$T/term" --data "$T/run/synth" "${PT[@]}" --from train --wait
tid2=$(awk '$1 == "train" {print $2}' "$T/term/slurm-jobs")
check "the resubmitted training resumed from the checkpoint" \
    grep -q 'resuming from the checkpoint of step' "$T/term/logs/stl-train-$tid2.out"
check "and finished: model and metrics" [ -s "$T/term/model.mpk" -a -s "$T/term/metrics.json" ]

# --- one failed decode element cancels every stage after it ---
# A stl-decode that fails in array element 1 only (the binaries are the real
# ones but for this wrapper), on the data set of the first run.
W=$T/badbin
mkdir -p "$W"
for f in "$STL_BIN"/stl-*; do ln -s "$f" "$W/"; done
rm "$W/stl-decode"
printf '#!/bin/sh\n[ "$SLURM_ARRAY_TASK_ID" = 1 ] && { echo "stl-decode: injected failure" >&2; exit 1; }\nexec %s/stl-decode "$@"\n' \
    "$STL_BIN" > "$W/stl-decode"
chmod +x "$W/stl-decode"
"$SUBMIT" --work "$T/fail" --data "$T/run/synth" --bin "$W" "${P[@]}" > "$T/fail.out" 2>&1
check "submit with the failing decode ($(tail -n 1 "$T/fail.out"))" [ -s "$T/fail/slurm-jobs" ]
dec=$(awk '$1 == "decode" {print $2}' "$T/fail/slurm-jobs")
# Wait for the decode array to end (no time bound: that is decode's speed).
for ((i = 0; i < 1200; i++)); do
    s=$(st "$dec")
    [[ $s == *PENDING* || $s == *RUNNING* || $s == *COMPLETING* || -z $s ]] || break
    sleep 0.1
done
check "decode: element 0 COMPLETED, element 1 FAILED ($s)" [ "$s" = "COMPLETED FAILED " ]
# Then every dependant must be CANCELLED, not PENDING. Slurm cancels a job
# whose afterok can no longer be met (--kill-on-invalid-dep) in its next
# dependency pass, one level of the chain per pass (about 4 s measured here);
# 6 levels, so 60 s. Without the flag they stay PENDING forever, so the bound
# tells the protocol apart, not the speed.
t0=$(date +%s)
for ((i = 0; i < 600; i++)); do
    left=0
    while read -r name id; do
        case $name in fetch|decode) continue ;; esac
        [ "$(st "$id")" = "CANCELLED " ] || left=1
    done < "$T/fail/slurm-jobs"
    [ $left = 0 ] && break
    sleep 0.1
done
states=$(while read -r name id; do echo -n "$name=$(st "$id")"; done < "$T/fail/slurm-jobs")
check "every stage after the failed decode is CANCELLED within 60 s ($(( $(date +%s) - t0 )) s: $states)" [ $left = 0 ]
check "nothing of the failed run is left in the queue" [ -z "$(squeue -h)" ]

# --- scripts/sweep --slurm: the shared stages as one job, the trials as an
# array; the same results as the same sweep run locally ---
printf 'SCENES = 40\nPRODUCTS = 30\nSTEPS = 20\nBATCH = 8\nSIZE = 32\nTHREADS = 1\nBIN = %s\nTRAIN_FLAGS = --lr 1e-3 | --lr 3e-4\n' \
    "$STL_BIN" > "$T/sweep.conf"
ok "scripts/sweep --slurm on a 2-trial grid" "$STL_ROOT/scripts/sweep" --slurm --sbatch '--time=00:09:00' \
    --dir "$T/sw" "$T/sweep.conf"
check "the shared stages ran as a job, each trial as an array element" \
    [ -n "$(ls "$T"/sw/slurm/shared-*.out 2>/dev/null)" -a -n "$(ls "$T"/sw/slurm/trial-1-*.out 2>/dev/null)" \
      -a -n "$(ls "$T"/sw/slurm/trial-2-*.out 2>/dev/null)" ]
check "both trials ok, ranked, the best linked" \
    [ "$(jq -r .status "$T/sw/results.jsonl" 2>/dev/null | tr '\n' ' ')" = "ok ok " -a -s "$T/sw/best/index.html" ]
ok "the same sweep locally" "$STL_ROOT/scripts/sweep" --dir "$T/swl" "$T/sweep.conf"
key='[.trial, .params, .val_accuracy, .auc]'
check "gives the same results" [ -n "$(jq -c "$key" "$T/swl/results.jsonl")" -a \
    "$(jq -c "$key" "$T/sw/results.jsonl" 2>/dev/null)" = "$(jq -c "$key" "$T/swl/results.jsonl")" ]
check "nothing of the sweep is left in the queue" [ -z "$(squeue -h)" ]

finish
