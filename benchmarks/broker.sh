#!/usr/bin/env bash
# Runs the Majordomo broker workload (Reliability.Benchmarks broker) over a matrix of client modes
# and worker counts and prints one table: request rate, latency and CPU time per request for each
# process role. See benchmarks/README.md ("Broker benchmark") for what the numbers mean.
#
# Environment (all optional):
#   MODES="async sync"        client kinds: async = MajordomoAsyncClient with a window, sync = MajordomoClient,
#                             pipelined = a bare DEALER with the window on one connection (for comparison)
#   WORKERS="1 2 4"           echo worker counts
#   REQUESTS=100000           measured requests per async run
#   SYNC_REQUESTS=20000       measured requests per sync run (one request in flight at a time is slow)
#   WINDOW=100                requests outstanding per async client
#   CLIENTS=1                 clients
#   SIZE=16                   request body in bytes
#   MDP=0.1                   protocol version of clients and workers
#   SPAWN=1                   1: broker and each worker in a process of their own; 0: all in one process
#   UNSAFE_INLINE=0           1: clients and workers run the caller's code on the I/O thread (--unsafe-inline)
#   REPEAT=1                  runs per cell; the table shows the run with the median rate
#   ENDPOINT=tcp://...        use this broker instead of ours (e.g. the zguide's C mdbroker); BROKER_PID=P adds its CPU
#   BENCH_ARTIFACTS=/tmp/art-bench   dotnet artifacts folder
#   SKIP_BUILD=1              use the existing build
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ART=${BENCH_ARTIFACTS:-/tmp/art-bench}
MODES=${MODES:-"async sync"}
WORKERS=${WORKERS:-"1 2 4"}
REQUESTS=${REQUESTS:-100000}
SYNC_REQUESTS=${SYNC_REQUESTS:-20000}
WINDOW=${WINDOW:-100}
CLIENTS=${CLIENTS:-1}
SIZE=${SIZE:-16}
MDP=${MDP:-0.1}
SPAWN=${SPAWN:-1}
UNSAFE_INLINE=${UNSAFE_INLINE:-0}
REPEAT=${REPEAT:-1}
ENDPOINT=${ENDPOINT:-}
BROKER_PID=${BROKER_PID:-}
RUN_TIMEOUT=300

fail_usage() {
    echo "broker.sh: $1" >&2
    exit 2
}
[[ $REPEAT =~ ^[1-9][0-9]?$ ]] || fail_usage "REPEAT must be 1..99 (was '$REPEAT')"
[[ $SPAWN == 0 || $SPAWN == 1 ]] || fail_usage "SPAWN must be 0 or 1 (was '$SPAWN')"
[[ $UNSAFE_INLINE == 0 || $UNSAFE_INLINE == 1 ]] || fail_usage "UNSAFE_INLINE must be 0 or 1 (was '$UNSAFE_INLINE')"
for mode in $MODES; do
    [[ $mode == async || $mode == sync || $mode == pipelined ]] || fail_usage "MODES may hold async, sync and pipelined (was '$MODES')"
done
for n in $WORKERS $REQUESTS $SYNC_REQUESTS $WINDOW $CLIENTS $SIZE; do
    [[ $n =~ ^[0-9]+$ ]] || fail_usage "WORKERS, REQUESTS, SYNC_REQUESTS, WINDOW, CLIENTS and SIZE must be numbers (got '$n')"
done
[[ -z $BROKER_PID || -n $ENDPOINT ]] || fail_usage "BROKER_PID needs ENDPOINT"

OURS="$ART/bin/Reliability.Benchmarks/release/Reliability.Benchmarks"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/broker-bench.XXXXXX")

# Only the process this script started is ever signalled (it stops its own children via their stdin).
RUNNING=""
cleanup() {
    [[ -n $RUNNING ]] && kill "$RUNNING" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    echo "building Reliability.Benchmarks (Release, artifacts in $ART)..." >&2
    dotnet build "$HERE/Reliability.Benchmarks" -c Release --artifacts-path "$ART" -nologo -v q >&2
fi
[[ -x $OURS ]] || {
    echo "broker.sh: $OURS is missing (build failed?)" >&2
    exit 1
}

# cpu_of FILE ROLE: the us/req figure of the stderr line "cpu ROLE...: X us/req", or "-".
cpu_of() {
    local v
    v=$(sed -n "s/^cpu $2[^:]*: \([0-9.]*\) us\/req.*/\1/p" "$1" | head -n 1)
    echo "${v:--}"
}

# run_one NAME ARGS...: one run; sets ROW to "rate p50 p99 client broker workers total" or returns 1.
ROW=""
run_one() {
    local name=$1 rc=0 line
    shift
    ROW=""
    timeout "$RUN_TIMEOUT" "$OURS" broker "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    RUNNING=$!
    wait "$RUNNING" || rc=$?
    RUNNING=""
    line=$(tail -n 1 "$WORK/$name.out")
    if [[ $rc != 0 || $line != broker:* ]]; then
        echo "[$name] FAILED (exit code $rc; 124 = timeout $RUN_TIMEOUT s)" >&2
        tail -n 8 "$WORK/$name.err" | sed "s/^/[$name] /" >&2
        return 1
    fi
    echo "[$name] $line" >&2
    local rate p50 p99
    rate=$(sed -n 's/.*: \([0-9]*\) req\/s, .*/\1/p' <<<"$line")
    p50=$(sed -n 's/.* p50 \([0-9.]*\) us, .*/\1/p' <<<"$line")
    p99=$(sed -n 's/.* p99 \([0-9.]*\) us$/\1/p' <<<"$line")
    ROW="$rate $p50 $p99 $(cpu_of "$WORK/$name.err" client) $(cpu_of "$WORK/$name.err" broker) $(cpu_of "$WORK/$name.err" workers) $(cpu_of "$WORK/$name.err" total)"
}

failures=0
declare -A ROWS=()
for mode in $MODES; do
    for workers in $WORKERS; do
        key="$mode-$workers"
        args=(--mode "$mode" --workers "$workers" --clients "$CLIENTS" --size "$SIZE" --mdp "$MDP")
        if [[ $mode != sync ]]; then
            args+=(--window "$WINDOW" --requests "$REQUESTS")
        else
            args+=(--requests "$SYNC_REQUESTS")
        fi
        [[ $SPAWN == 1 ]] && args+=(--spawn)
        [[ $UNSAFE_INLINE == 1 ]] && args+=(--unsafe-inline)
        [[ -n $ENDPOINT ]] && args+=(--endpoint "$ENDPOINT")
        [[ -n $BROKER_PID ]] && args+=(--broker-pid "$BROKER_PID")
        rows=()
        for ((i = 1; i <= REPEAT; i++)); do
            if run_one "$key.$i" "${args[@]}"; then
                rows+=("$ROW")
            else
                failures=$((failures + 1))
                rows=()
                break
            fi
        done
        if ((${#rows[@]} > 0)); then
            # The run with the median rate (the lower middle one for an even count), whole, so its columns agree.
            ROWS[$key]=$(printf '%s\n' "${rows[@]}" | sort -g -k1,1 | sed -n "$(((${#rows[@]} + 1) / 2))p")
        else
            ROWS[$key]="FAIL - - - - - -"
        fi
    done
done

where=$([[ -n $ENDPOINT ]] && echo "broker at $ENDPOINT" || echo "our MajordomoBroker")
layout=$([[ $SPAWN == 1 ]] && echo "broker and each worker in its own process" || echo "all roles in one process")
[[ $UNSAFE_INLINE == 1 ]] && layout+=", clients and workers with --unsafe-inline"
echo
echo "Majordomo echo through $where: $SIZE B, MDP/$MDP, $CLIENTS client(s), async window $WINDOW, $layout"
echo "requests: async $REQUESTS, sync $SYNC_REQUESTS per run; median of $REPEAT; CPU in us per request (- = not measured separately)"
printf '%-9s %7s | %9s %10s %10s | %8s %8s %8s %8s\n' mode workers "req/s" "p50 us" "p99 us" client broker workers total
printf '%s\n' "------------------+---------------------------------+------------------------------------"
for mode in $MODES; do
    for workers in $WORKERS; do
        # shellcheck disable=SC2086
        set -- ${ROWS[$mode-$workers]}
        printf '%-9s %7s | %9s %10s %10s | %8s %8s %8s %8s\n' "$mode" "$workers" "$1" "$2" "$3" "$4" "$5" "$6" "$7"
    done
done

if ((failures > 0)); then
    echo
    echo "$failures run(s) failed; see the [name] lines above" >&2
    exit 1
fi
