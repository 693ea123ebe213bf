#!/usr/bin/env bash
# The breadth of the libzmq comparison: the thr/lat workloads over tcp://, ipc:// and inproc://,
# and PUB/SUB fan-out throughput, with our transport and with libzmq side by side, printed as
# Markdown tables. See benchmarks/README.md ("Breadth: transports and PUB/SUB") for the numbers.
#
# Environment (all optional):
#   TRANSPORTS="tcp ipc inproc"   transports of the thr/lat table
#   SUBS="1 2 4"                  subscriber counts of the PUB/SUB table (empty: none)
#   PUBSUB_TRANSPORT=tcp          transport of the PUB/SUB table (tcp or ipc)
#   REPEAT=3                      runs per cell, libzmq and ours alternating; the table shows the median
#   THR_SCALE=1                   multiplies every throughput COUNT: 2,000,000 at 16 B, 200,000 at
#                                 4096 B, 1,000,000 published per PUB/SUB run
#   LAT_COUNT=20000               round trips per latency run
#   BENCH_ARTIFACTS=/tmp/art-bench   dotnet artifacts folder
#   SKIP_BUILD=1                  use the existing builds
# Exit codes: 0 every run passed (a transport our build does not support shows n/a), 1 a run
# failed (its stderr is shown, its cell says FAIL), 2 bad settings.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench-lib.sh
source "$HERE/bench-lib.sh"

ART=${BENCH_ARTIFACTS:-/tmp/art-bench}
TRANSPORTS=${TRANSPORTS:-"tcp ipc inproc"}
SUBS=${SUBS-"1 2 4"} # empty: no PUB/SUB table
PUBSUB_TRANSPORT=${PUBSUB_TRANSPORT:-tcp}
REPEAT=${REPEAT:-3}
THR_SCALE=${THR_SCALE:-1}
LAT_COUNT=${LAT_COUNT:-20000}
RUN_TIMEOUT=120
PUBSUB_SIZE=16

fail_usage() {
    echo "breadth.sh: $1" >&2
    exit 2
}
[[ $REPEAT =~ ^[1-9][0-9]?$ ]] || fail_usage "REPEAT must be 1..99 (was '$REPEAT')"
[[ $LAT_COUNT =~ ^[1-9][0-9]*$ ]] || fail_usage "LAT_COUNT must be a positive number (was '$LAT_COUNT')"
[[ $THR_SCALE =~ ^[0-9]*\.?[0-9]+$ ]] || fail_usage "THR_SCALE must be a positive number (was '$THR_SCALE')"
[[ $PUBSUB_TRANSPORT == tcp || $PUBSUB_TRANSPORT == ipc ]] || fail_usage "PUBSUB_TRANSPORT must be tcp or ipc (was '$PUBSUB_TRANSPORT')"
for t in $TRANSPORTS; do
    [[ $t == tcp || $t == ipc || $t == inproc ]] || fail_usage "TRANSPORTS may hold tcp, ipc and inproc (was '$TRANSPORTS')"
done
for n in $SUBS; do
    [[ $n =~ ^[1-9][0-9]?$ ]] && ((n <= 64)) || fail_usage "SUBS may hold subscriber counts 1..64 (was '$SUBS')"
done

LIBZMQ="$HERE/comparator/build/zmqperf"
OURS="$ART/bin/Reliability.Benchmarks/release/Reliability.Benchmarks"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/breadth-bench.XXXXXX")

build_programs

THR16_COUNT=$(scaled 2000000)
THR4096_COUNT=$(scaled 200000)
PUBSUB_COUNT=$(scaled 1000000)


# run_pubsub KEY EXE TRANSPORT SUBS COUNT: VALUE is the aggregate rate (the sum of the
# subscribers' rates), DROPS the messages the subscribers lost together.
run_pubsub() {
    local key=$1 exe=$2 transport=$3 subs=$4 count=$5
    local pub i rate dropped codes failed=0
    local -a sub_pids=() names=("$key.pub")
    VALUE=""
    CPUV=""
    DROPS=0
    new_endpoint "$transport" || return 1
    launch "$key.pub" "$exe" pubsub pub "$EP" "$PUBSUB_SIZE" "$count" "$subs"
    pub=$LAUNCHED
    wait_bound "$EP" "$pub" || echo "[$key] pub did not bind $EP" >&2
    for ((i = 1; i <= subs; i++)); do
        launch "$key.sub$i" "$exe" pubsub sub "$EP" "$PUBSUB_SIZE" "$count"
        sub_pids+=("$LAUNCHED")
        names+=("$key.sub$i")
    done
    # The publisher ends last (after every subscriber's cancel); if it fails, the subscribers
    # would block until the run timeout.
    reap "$pub"
    codes="pub=$RC"
    ((RC == 0)) || failed=1
    for ((i = 1; i <= subs; i++)); do
        ((failed == 0)) || kill "${sub_pids[i - 1]}" 2>/dev/null || true
        reap "${sub_pids[i - 1]}"
        codes+=", sub$i=$RC"
        ((RC == 0)) || failed=1
    done
    VALUE=0
    for ((i = 1; i <= subs && failed == 0; i++)); do
        rate=$(thr_rate "$(tail -n 1 "$WORK/$key.sub$i.out")")
        dropped=$(sed -n 's/^sub: received [0-9]* of [0-9]* msgs, \([0-9]*\) dropped$/\1/p' "$WORK/$key.sub$i.out")
        if [[ -z $rate || -z $dropped ]]; then
            failed=1
        else
            VALUE=$((VALUE + rate))
            DROPS=$((DROPS + dropped))
        fi
    done
    if ((failed)); then
        VALUE=""
        show_failure "$key" "$codes" "${names[@]}"
        return 1
    fi
    CPUV=$(cpu_sum "${names[@]}")
    echo "[$key] $subs subscribers: $VALUE msg/s together, $DROPS dropped; $(tail -n 1 "$WORK/$key.pub.out") (cpu ${CPUV:-?} us/msg, all processes)" >&2
}

# per KEY SUBS: a PUB/SUB cell's aggregate rate per subscriber.
per() {
    local v
    v=$(num "$(cell "$1")")
    if [[ -n $v ]]; then echo $((v / $2)); else echo "-"; fi
}

LOAD_BEFORE=$(load_average)
echo "load average before: $LOAD_BEFORE" >&2

WORKLOADS=("thr 16 $THR16_COUNT" "thr 4096 $THR4096_COUNT" "lat 16 $LAT_COUNT")
for transport in $TRANSPORTS; do
    for workload in "${WORKLOADS[@]}"; do
        read -r mode size count <<<"$workload"
        for ((i = 1; i <= REPEAT; i++)); do
            measure "$transport-$mode-$size-libzmq" run_thrlat "$transport-$mode-$size-libzmq.$i" "$LIBZMQ" "$transport" "$mode" "$size" "$count"
            measure "$transport-$mode-$size-ours" run_thrlat "$transport-$mode-$size-ours.$i" "$OURS" "$transport" "$mode" "$size" "$count"
        done
    done
done
for subs in $SUBS; do
    for ((i = 1; i <= REPEAT; i++)); do
        measure "pubsub-$subs-libzmq" run_pubsub "pubsub-$subs-libzmq.$i" "$LIBZMQ" "$PUBSUB_TRANSPORT" "$subs" "$PUBSUB_COUNT"
        measure "pubsub-$subs-ours" run_pubsub "pubsub-$subs-ours.$i" "$OURS" "$PUBSUB_TRANSPORT" "$subs" "$PUBSUB_COUNT"
    done
done

LOAD_AFTER=$(load_average)
echo
echo "Median of $REPEAT runs per cell; ratio = ours / libzmq; load average before: $LOAD_BEFORE; after: $LOAD_AFTER ($(nproc) cores)."
echo
echo "| transport | workload | libzmq | ours | ratio | CPU µs/msg libzmq | CPU µs/msg ours | CPU ratio |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for transport in $TRANSPORTS; do
    for workload in "${WORKLOADS[@]}"; do
        read -r mode size count <<<"$workload"
        z="$transport-$mode-$size-libzmq" o="$transport-$mode-$size-ours"
        if [[ $mode == thr ]]; then what="thr $size B (msg/s)"; else what="lat $size B (p50 µs)"; fi
        echo "| $transport | $what | $(cell "$z") | $(cell "$o") | $(ratio "$(num "$(cell "$o")")" "$(num "$(cell "$z")")") |" \
            "$(cpu "$z") | $(cpu "$o") | $(ratio "$(num "$(cpu "$o")")" "$(num "$(cpu "$z")")") |"
    done
done

if [[ -n $SUBS ]]; then
    echo
    echo "PUB/SUB fan-out over $PUBSUB_TRANSPORT, $PUBSUB_SIZE B, $PUBSUB_COUNT messages published per run: msg/s delivered, all subscribers together" \
        "(per subscriber = that / subscribers); dropped = messages lost over all $REPEAT runs; CPU = all processes per published message."
    echo
    echo "| subscribers | libzmq msg/s | ours msg/s | ratio | libzmq per sub | ours per sub | dropped libzmq / ours | CPU µs/msg libzmq | CPU µs/msg ours |"
    echo "|---:|---:|---:|---:|---:|---:|---|---:|---:|"
    for subs in $SUBS; do
        z="pubsub-$subs-libzmq" o="pubsub-$subs-ours"
        echo "| $subs | $(cell "$z") | $(cell "$o") | $(ratio "$(num "$(cell "$o")")" "$(num "$(cell "$z")")") | $(per "$z" "$subs") | $(per "$o" "$subs") |" \
            "${DROPSUM[$z]:--} / ${DROPSUM[$o]:--} | $(cpu "$z") | $(cpu "$o") |"
    done
fi

if [[ " ${STATE[*]} " == *" n/a "* ]]; then
    echo
    echo "n/a: our transport build rejects that transport (see the [... n/a] lines above)."
fi
if ((failures > 0)); then
    echo
    echo "$failures cell(s) failed; see the [name] lines above" >&2
    exit 1
fi
