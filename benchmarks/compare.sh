#!/usr/bin/env bash
# Runs the libzmq perf-tool workloads with our transport and with libzmq side by side and prints
# the ratios. See benchmarks/README.md for what the numbers mean.
#
# Environment (all optional):
#   SIZES="16 256 4096 65536"   message sizes in bytes
#   LAT_COUNT=20000             round trips per latency run
#   REPEAT=3                    runs per cell; the table shows the median (2 cores are noisy)
#   THR_SCALE=1                 multiplies every throughput COUNT (e.g. 0.1 for a quick look)
#   CROSS=one|all|none          one (default): ours send -> libzmq recv per size;
#                               all: also libzmq -> ours, and both latency directions
#   BENCH_ARTIFACTS=/tmp/art-bench   dotnet artifacts folder
#   SKIP_BUILD=1                use the existing builds
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench-lib.sh
source "$HERE/bench-lib.sh"

ART=${BENCH_ARTIFACTS:-/tmp/art-bench}
SIZES=${SIZES:-"16 256 4096 65536"}
LAT_COUNT=${LAT_COUNT:-20000}
THR_SCALE=${THR_SCALE:-1}
REPEAT=${REPEAT:-3}
CROSS=${CROSS:-one}
RUN_TIMEOUT=120

if ! [[ $REPEAT =~ ^[1-9][0-9]?$ ]]; then
    echo "compare.sh: REPEAT must be 1..99 (was '$REPEAT')" >&2
    exit 2
fi
case $CROSS in one | all | none) ;; *)
    echo "compare.sh: CROSS must be one, all or none (was '$CROSS')" >&2
    exit 2
    ;;
esac

LIBZMQ="$HERE/comparator/build/zmqperf"
OURS="$ART/bin/Reliability.Benchmarks/release/Reliability.Benchmarks"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/compare-bench.XXXXXX")

build_programs

# run_pair NAME BINDER_EXE CONNECTER_EXE MODE BIND_ROLE CONNECT_ROLE SIZE COUNT
# Sets LINE to the result line of the measuring side (thr: the receiver; lat: the pinger) and
# returns 0, or returns 1 with the reason on stderr. Not run in a subshell, so that PIDS stays
# accurate for the cleanup trap.
LINE=""
CPU=""
run_pair() {
    local name=$1 bexe=$2 cexe=$3 mode=$4 brole=$5 crole=$6 size=$7 count=$8
    local port ep bpid cpid brc=0 crc=0 line
    LINE=""
    CPU=""
    free_port || return 1
    port=$FREE_PORT
    ep="tcp://127.0.0.1:$port"
    timeout "$RUN_TIMEOUT" "$bexe" "$mode" "$brole" "$ep" "$size" "$count" >"$WORK/$name.b.out" 2>"$WORK/$name.b.err" &
    bpid=$!
    PIDS+=("$bpid")
    if ! wait_listening "$port" "$bpid"; then
        echo "[$name] $bexe did not start listening on $ep" >&2
    fi
    timeout "$RUN_TIMEOUT" "$cexe" "$mode" "$crole" "$ep" "$size" "$count" >"$WORK/$name.c.out" 2>"$WORK/$name.c.err" &
    cpid=$!
    PIDS+=("$cpid")
    wait "$cpid" || crc=$?
    forget_pid "$cpid"
    wait "$bpid" || brc=$?
    forget_pid "$bpid"
    if [[ $mode == thr ]]; then
        line=$(tail -n 1 "$WORK/$name.b.out")
    else
        line=$(tail -n 1 "$WORK/$name.c.out")
    fi
    if [[ $brc != 0 || $crc != 0 || -z $line ]]; then
        echo "[$name] FAILED (exit codes: $brole=$brc, $crole=$crc; 124 = timeout $RUN_TIMEOUT s)" >&2
        sed "s/^/[$name] $brole: /" "$WORK/$name.b.err" | tail -n 5 >&2
        sed "s/^/[$name] $crole: /" "$WORK/$name.c.err" | tail -n 5 >&2
        return 1
    fi
    # Both processes print "cpu: X us/msg" on stderr; their sum is the pair's CPU per message.
    CPU=$(cat "$WORK/$name.b.err" "$WORK/$name.c.err" | sed -n 's/^cpu: \([0-9.]*\) us\/msg.*/\1/p' |
        awk '{ s += $1; n++ } END { if (n == 2) printf "%.2f", s }')
    echo "[$name] $line (cpu ${CPU:-?} us/msg for both processes)" >&2
    LINE=$line
}

# COUNT per size: a few seconds at most for libzmq on loopback (about 1.3 GB at 64 KiB).
thr_count() {
    local size=$1 base
    case $size in
    16) base=2000000 ;;
    256) base=1000000 ;;
    4096) base=200000 ;;
    65536) base=20000 ;;
    *)
        base=$((500000000 / (size > 0 ? size : 1)))
        ((base > 2000000)) && base=2000000
        ;;
    esac
    base=$(awk -v b="$base" -v s="$THR_SCALE" 'BEGIN { c = int(b * s); if (c < 1000) c = 1000; print c }')
    echo "$base"
}

failures=0
declare -A R=() C=()
# run KEY EXTRACTOR run_pair-args...: REPEAT runs; R[KEY] = median of the extracted values, or
# empty if any run failed (a flaky failure is a finding, not noise to hide).
run() {
    local key=$1 extract=$2 i values="" cpus=""
    shift 2
    for ((i = 1; i <= REPEAT; i++)); do
        if run_pair "$key.$i" "$@"; then
            values+=" $($extract "$LINE")"
            cpus+=" $CPU"
        else
            R[$key]=""
            C[$key]=""
            failures=$((failures + 1))
            return 0
        fi
    done
    R[$key]=$(median <<<"$values")
    C[$key]=$(median <<<"$cpus")
}

for size in $SIZES; do
    count=$(thr_count "$size")
    run "thr-libzmq-$size" thr_rate "$LIBZMQ" "$LIBZMQ" thr recv send "$size" "$count"
    run "thr-ours-$size" thr_rate "$OURS" "$OURS" thr recv send "$size" "$count"
    run "lat-libzmq-$size" lat_p50 "$LIBZMQ" "$LIBZMQ" lat echo ping "$size" "$LAT_COUNT"
    run "lat-ours-$size" lat_p50 "$OURS" "$OURS" lat echo ping "$size" "$LAT_COUNT"
    if [[ $CROSS != none ]]; then
        # Binder is the receiver: ours sends, libzmq receives.
        run "thr-ours2libzmq-$size" thr_rate "$LIBZMQ" "$OURS" thr recv send "$size" "$count"
    fi
    if [[ $CROSS == all ]]; then
        run "thr-libzmq2ours-$size" thr_rate "$OURS" "$LIBZMQ" thr recv send "$size" "$count"
        run "lat-ours2libzmq-$size" lat_p50 "$LIBZMQ" "$OURS" lat echo ping "$size" "$LAT_COUNT"
        run "lat-libzmq2ours-$size" lat_p50 "$OURS" "$LIBZMQ" lat echo ping "$size" "$LAT_COUNT"
    fi
done

v() { local x=${R[$1]:-}; echo "${x:-FAIL}"; }
opt() { if [[ -v R[$1] ]]; then v "$1"; else echo "-"; fi; }

echo
echo "Throughput (PUSH->PULL, msg/s) and latency (REQ<->REP round trip p50, us); median of $REPEAT; ratio = ours / libzmq"
printf '%8s | %12s %12s %6s | %10s %10s %6s\n' size "libzmq msg/s" "ours msg/s" ratio "libzmq p50" "ours p50" ratio
printf '%s\n' "---------+---------------------------------+------------------------------"
for size in $SIZES; do
    printf '%8s | %12s %12s %6s | %10s %10s %6s\n' "$size" \
        "$(v "thr-libzmq-$size")" "$(v "thr-ours-$size")" "$(ratio "${R[thr-ours-$size]:-}" "${R[thr-libzmq-$size]:-}")" \
        "$(v "lat-libzmq-$size")" "$(v "lat-ours-$size")" "$(ratio "${R[lat-ours-$size]:-}" "${R[lat-libzmq-$size]:-}")"
done

cv() { local x=${C[$1]:-}; echo "${x:--}"; }
echo
echo "CPU time per message, both processes together (us; thr: sender + receiver, lat: pinger + echoer); ratio = ours / libzmq"
echo "(steadier than the rates above when the machine is busy: it does not count time spent waiting for a core)"
printf '%8s | %12s %12s %6s | %10s %10s %6s\n' size "libzmq thr" "ours thr" ratio "libzmq lat" "ours lat" ratio
printf '%s\n' "---------+---------------------------------+------------------------------"
for size in $SIZES; do
    printf '%8s | %12s %12s %6s | %10s %10s %6s\n' "$size" \
        "$(cv "thr-libzmq-$size")" "$(cv "thr-ours-$size")" "$(ratio "${C[thr-ours-$size]:-}" "${C[thr-libzmq-$size]:-}")" \
        "$(cv "lat-libzmq-$size")" "$(cv "lat-ours-$size")" "$(ratio "${C[lat-ours-$size]:-}" "${C[lat-libzmq-$size]:-}")"
done

if [[ $CROSS != none ]]; then
    echo
    echo "Interop (cross pairs): thr msg/s, lat p50 us; sender/pinger -> receiver/echoer"
    printf '%8s | %14s %14s | %14s %14s\n' size "ours->libzmq" "libzmq->ours" "ours->libzmq" "libzmq->ours"
    printf '%8s | %14s %14s | %14s %14s\n' "" "thr" "thr" "lat p50" "lat p50"
    printf '%s\n' "---------+-------------------------------+------------------------------"
    for size in $SIZES; do
        printf '%8s | %14s %14s | %14s %14s\n' "$size" \
            "$(opt "thr-ours2libzmq-$size")" "$(opt "thr-libzmq2ours-$size")" \
            "$(opt "lat-ours2libzmq-$size")" "$(opt "lat-libzmq2ours-$size")"
    done
fi

if ((failures > 0)); then
    echo
    echo "$failures run(s) failed; see the [name] lines above" >&2
    exit 1
fi
