#!/usr/bin/env bash
# CURVE next to plain (NULL security), our transport next to libzmq, in the same run: PUSH->PULL
# throughput and REQ<->REP round-trip latency (p50, p99) over tcp:// at 16 B and 4 KiB, in rounds
# that alternate the two implementations, with the load average of every round. Each CURVE run
# gets a fresh server key pair (zmqperf keygen); the binder is the CURVE server, the connecter a
# client with ephemeral keys. Prints Markdown tables; see benchmarks/README.md ("CURVE").
#
# Environment (all optional):
#   ROUNDS=3                 rounds; a cell is the median of its rounds
#   BUDGET=900               seconds: no new round starts after this (each run is bounded by 120 s)
#   SIZES="16 4096"          message sizes in bytes
#   THR_SCALE=1              multiplies the throughput counts: 1,000,000 at 16 B, 100,000 at 4096 B
#   LAT_COUNT=10000          round trips per latency run
#   BENCH_ARTIFACTS=/tmp/art-bench   dotnet artifacts folder
#   SKIP_BUILD=1             use the existing builds
# Exit codes: 0 every run passed, 1 a run failed (its stderr is shown, its cell says FAIL), 2 bad settings.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench-lib.sh
source "$HERE/bench-lib.sh"

ART=${BENCH_ARTIFACTS:-/tmp/art-bench}
ROUNDS=${ROUNDS:-3}
BUDGET=${BUDGET:-900}
SIZES=${SIZES:-"16 4096"}
THR_SCALE=${THR_SCALE:-1}
LAT_COUNT=${LAT_COUNT:-10000}
RUN_TIMEOUT=120

fail_usage() {
    echo "curve.sh: $1" >&2
    exit 2
}
[[ $ROUNDS =~ ^[1-9][0-9]?$ ]] || fail_usage "ROUNDS must be 1..99 (was '$ROUNDS')"
[[ $BUDGET =~ ^[1-9][0-9]*$ ]] || fail_usage "BUDGET must be a positive number of seconds (was '$BUDGET')"
[[ $LAT_COUNT =~ ^[1-9][0-9]*$ ]] || fail_usage "LAT_COUNT must be a positive number (was '$LAT_COUNT')"
[[ $THR_SCALE =~ ^[0-9]*\.?[0-9]+$ ]] || fail_usage "THR_SCALE must be a positive number (was '$THR_SCALE')"
for size in $SIZES; do
    [[ $size =~ ^[0-9]+$ ]] && ((size <= 1048576)) || fail_usage "SIZES may hold sizes 0..1048576 (was '$SIZES')"
done

LIBZMQ="$HERE/comparator/build/zmqperf"
OURS="$ART/bin/Reliability.Benchmarks/release/Reliability.Benchmarks"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/curve-bench.XXXXXX")

build_programs
if ! "$LIBZMQ" keygen >/dev/null; then
    echo "curve.sh: libzmq here has no CURVE; install libzmq3-dev built with libsodium" >&2
    exit 1
fi

# About 16 MB per throughput run at 4 KiB, a second or two per run at 16 B.
thr_count() {
    case $1 in
    16) scaled 1000000 ;;
    4096) scaled 100000 ;;
    *) scaled $((400000000 / ($1 > 256 ? $1 : 256))) ;;
    esac
}

# secured plain|curve RUN ARGS...: RUN with NULL security, or with a fresh server key pair: the
# binder gets the secret key, the connecter the public key.
secured() {
    local security=$1 keys rc=0
    shift
    BIND_OPTS=()
    CONNECT_OPTS=()
    if [[ $security == curve ]]; then
        keys=$("$LIBZMQ" keygen) || return 1
        BIND_OPTS=(--curve-secret-key "$(sed -n 's/^secret: //p' <<<"$keys")")
        CONNECT_OPTS=(--curve-server-key "$(sed -n 's/^public: //p' <<<"$keys")")
    fi
    "$@" || rc=$?
    BIND_OPTS=()
    CONNECT_OPTS=()
    return "$rc"
}

declare -a ROUND_LOADS=()
STARTED=$SECONDS
for ((round = 1; round <= ROUNDS; round++)); do
    if ((round > 1 && SECONDS - STARTED >= BUDGET)); then
        echo "curve.sh: budget of $BUDGET s used after $((round - 1)) round(s); stopping" >&2
        break
    fi
    load=$(load_average)
    echo "round $round: load average $load" >&2
    for size in $SIZES; do
        for security in plain curve; do
            for mode in thr lat; do
                count=$LAT_COUNT
                [[ $mode == thr ]] && count=$(thr_count "$size")
                for impl in libzmq ours; do
                    exe=$LIBZMQ
                    [[ $impl == ours ]] && exe=$OURS
                    key="$mode-$size-$security-$impl"
                    measure "$key" secured "$security" run_thrlat "$key.$round" "$exe" tcp "$mode" "$size" "$count"
                done
            done
        done
    done
    ROUND_LOADS+=("round $round: $load → $(load_average)")
done
DONE_ROUNDS=${#ROUND_LOADS[@]}

echo
echo "tcp, median of $DONE_ROUNDS round(s), libzmq and ours alternating; ratio = ours / libzmq" \
    "(thr: higher is better, lat: lower is better); $(nproc) cores; load average (1, 5, 15 min) at the start → end of each round:"
for line in "${ROUND_LOADS[@]}"; do
    echo "- $line"
done
echo
echo "| size | security | thr libzmq msg/s | thr ours msg/s | ratio | p50 libzmq µs | p50 ours µs | ratio | p99 libzmq µs | p99 ours µs | ratio |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for size in $SIZES; do
    for security in plain curve; do
        t="thr-$size-$security" l="lat-$size-$security"
        echo "| $size | $security | $(cell "$t-libzmq") | $(cell "$t-ours") | $(ratio "$(num "$(cell "$t-ours")")" "$(num "$(cell "$t-libzmq")")") |" \
            "$(cell "$l-libzmq") | $(cell "$l-ours") | $(ratio "$(num "$(cell "$l-ours")")" "$(num "$(cell "$l-libzmq")")") |" \
            "$(p99 "$l-libzmq") | $(p99 "$l-ours") | $(ratio "$(num "$(p99 "$l-ours")")" "$(num "$(p99 "$l-libzmq")")") |"
    done
done

echo
echo "CPU µs per message, both processes together (thr: sender + receiver; lat: per round trip, pinger + echoer);" \
    "CURVE cost = CPU with CURVE / CPU plain, per implementation."
echo
echo "| size | workload | libzmq plain | libzmq CURVE | CURVE cost libzmq | ours plain | ours CURVE | CURVE cost ours | ours / libzmq (CURVE) |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|"
for size in $SIZES; do
    for mode in thr lat; do
        zp=$(cpu "$mode-$size-plain-libzmq") zc=$(cpu "$mode-$size-curve-libzmq")
        op=$(cpu "$mode-$size-plain-ours") oc=$(cpu "$mode-$size-curve-ours")
        echo "| $size | $mode | $zp | $zc | $(ratio "$(num "$zc")" "$(num "$zp")") | $op | $oc | $(ratio "$(num "$oc")" "$(num "$op")") |" \
            "$(ratio "$(num "$oc")" "$(num "$zc")") |"
    done
done

if ((failures > 0)); then
    echo
    echo "$failures cell(s) failed; see the [name] lines above" >&2
    exit 1
fi
