#!/usr/bin/env bash
# Same-moment comparison for the broker workload. This VM's speed moves by up to 3x within an hour,
# so rates measured at different times cannot be compared; this script runs every contender once per
# round, back to back, and reports each round's rates and the median over the rounds of each
# contender's rate relative to the reference measured in the same round.
# See benchmarks/README.md ("Same day, same machine").
#
# Contenders per round (each 100,000 requests by default, 2 workers, window 100, 16 B, spawned roles):
#   ours         Reliability.Benchmarks broker (MajordomoAsyncClient, MajordomoBroker, MajordomoWorker)
#   ours-inline  the same with --unsafe-inline
#   ours-upfront the same broker, one bare DEALER client that sends all requests before it reads a reply
#                (the zguide's mdclient2 pattern: the broker's flow control holds the client back)
#   floor        comparator/build/mdfloor (plain TCP, no ZeroMQ: the kernel's share of the pattern)
#   reference    REFERENCE, when set: any command whose last output line holds "<number> req/s"
#                (e.g. a run script for the zguide's C mdbroker/mdworker/mdclient2)
#
# Environment (all optional):
#   ROUNDS=5                  rounds (1..50)
#   REQUESTS=100000           requests per run
#   WORKERS=2                 echo workers
#   REFERENCE="cmd args"      the reference contender; without it, ratios are to "ours"
#   BENCH_ARTIFACTS=/tmp/art-bench, SKIP_BUILD=1   as for broker.sh
# Exits 1 if a run failed (its cell says FAIL and its round is left out of the medians), 2 on bad settings.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ART=${BENCH_ARTIFACTS:-/tmp/art-bench}
ROUNDS=${ROUNDS:-5}
REQUESTS=${REQUESTS:-100000}
WORKERS=${WORKERS:-2}
REFERENCE=${REFERENCE:-}
RUN_TIMEOUT=300

fail_usage() {
    echo "broker-rounds.sh: $1" >&2
    exit 2
}
[[ $ROUNDS =~ ^[1-9][0-9]?$ && $ROUNDS -le 50 ]] || fail_usage "ROUNDS must be 1..50 (was '$ROUNDS')"
[[ $REQUESTS =~ ^[1-9][0-9]*$ ]] || fail_usage "REQUESTS must be a positive number (was '$REQUESTS')"
[[ $WORKERS =~ ^[1-9][0-9]?$ ]] || fail_usage "WORKERS must be 1..99 (was '$WORKERS')"

OURS="$ART/bin/Reliability.Benchmarks/release/Reliability.Benchmarks"
FLOOR="$HERE/comparator/build/mdfloor"
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    make -s -C "$HERE/comparator" build/mdfloor >&2
    dotnet build "$HERE/Reliability.Benchmarks" -c Release --artifacts-path "$ART" -nologo -v q >&2
fi
for exe in "$OURS" "$FLOOR"; do
    [[ -x $exe ]] || {
        echo "broker-rounds.sh: $exe is missing (build failed?)" >&2
        exit 1
    }
done

# The rate of one run's output: the number before "req/s" on the last line that has one; "FAIL" if none.
rate_of() {
    local line
    line=$(grep -Eo '[0-9]+(\.[0-9]+)? req/s' <<<"$1" | tail -1 || true)
    if [[ -n $line ]]; then echo "${line%% *}"; else echo FAIL; fi
}

# The p99 (us) and the broker's peak RSS (MiB) our benchmark prints; "-" for contenders that do not print them.
p99_of() {
    local v
    v=$(grep -Eo 'p99 [0-9]+(\.[0-9]+)? us' <<<"$1" | tail -1 | awk '{ printf "%.0f", $2 }' || true)
    echo "${v:--}"
}
rss_of() {
    local v
    v=$(grep -Eo 'rss broker \([a-z ]+\): peak [0-9]+ MiB' <<<"$1" | tail -1 | awk '{ print $(NF - 1) }' || true)
    echo "${v:--}"
}

declare -a NAMES=(ours ours-inline ours-upfront floor)
[[ -z $REFERENCE ]] || NAMES=(reference "${NAMES[@]}")
BASE=${NAMES[0]}
declare -A RATES=() P99S=() RSSES=()
FAILED=0

run_contender() {
    case $1 in
    ours) timeout "$RUN_TIMEOUT" "$OURS" broker --workers "$WORKERS" --requests "$REQUESTS" --spawn 2>&1 ;;
    ours-inline) timeout "$RUN_TIMEOUT" "$OURS" broker --workers "$WORKERS" --requests "$REQUESTS" --spawn --unsafe-inline 2>&1 ;;
    ours-upfront) timeout "$RUN_TIMEOUT" "$OURS" broker --workers "$WORKERS" --requests "$REQUESTS" --spawn --mode upfront 2>&1 ;;
    floor) timeout "$RUN_TIMEOUT" "$FLOOR" --workers "$WORKERS" --requests "$REQUESTS" 2>&1 ;;
    reference) timeout "$RUN_TIMEOUT" bash -c "$REFERENCE" 2>&1 ;;
    esac
}

printf '%-6s %-6s' round load
printf ' %14s' "${NAMES[@]}"
printf '\n'
for ((round = 1; round <= ROUNDS; round++)); do
    printf '%-6s %-6s' "$round" "$(cut -d' ' -f1 /proc/loadavg)"
    for name in "${NAMES[@]}"; do
        output=$(run_contender "$name" || true)
        rate=$(rate_of "$output")
        RATES[$name.$round]=$rate
        P99S[$name.$round]=$(p99_of "$output")
        RSSES[$name.$round]=$(rss_of "$output")
        [[ $rate != FAIL ]] || FAILED=1
        printf ' %14s' "$rate"
    done
    printf '\n'
done

# Median over the rounds of rate / base rate of the same round (rounds where either failed are skipped).
printf '%-13s' "median x $BASE"
for name in "${NAMES[@]}"; do
    ratios=""
    for ((round = 1; round <= ROUNDS; round++)); do
        a=${RATES[$name.$round]} b=${RATES[$BASE.$round]}
        [[ $a == FAIL || $b == FAIL ]] || ratios+="$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f\n", a / b }')"$'\n'
    done
    median=$(printf '%s' "$ratios" | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) printf "%.2f", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
    printf ' %14s' "$median"
done
printf '\n'

# The same rounds' p99 latency and broker peak RSS, per contender ("-": the contender does not report it).
for table in "p99 us:P99S" "broker peak RSS MiB:RSSES"; do
    title=${table%%:*}
    declare -n cells=${table##*:}
    printf '\n%s\n%-13s' "$title" round
    printf ' %14s' "${NAMES[@]}"
    printf '\n'
    for ((round = 1; round <= ROUNDS; round++)); do
        printf '%-13s' "$round"
        for name in "${NAMES[@]}"; do printf ' %14s' "${cells[$name.$round]}"; done
        printf '\n'
    done
    unset -n cells
done
if ((FAILED)); then
    echo "broker-rounds.sh: some runs failed (FAIL above; run that contender alone to see why)" >&2
    exit 1
fi
