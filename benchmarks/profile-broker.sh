#!/usr/bin/env bash
# Profiles the measured phase of one broker workload run: per-process syscall, context-switch and CPU
# counts per request (perf stat, from the end of the warm-up to the end of the run), and where the CPU
# samples go in each process (perf record for PERF_SECONDS, bucketed by profile/perf_buckets.py).
# See benchmarks/README.md ("Profiling the broker workload").
#
# usage: benchmarks/profile-broker.sh [broker options...]     (default: --workers 2 --requests 200000 --spawn)
# Environment (all optional):
#   PERF_SECONDS=6        sampling time, started right after the warm-up (keep it shorter than the run)
#   OUT=/tmp/broker-profile.XXXX   where the raw data, perf script output and reports are kept
#   QUERIES="Deadline ..." extra regexes; the report gives the share of samples whose stack matches each
#   BENCH_ARTIFACTS=/tmp/art-bench, SKIP_BUILD=1   as for broker.sh
# Needs perf (cpu-clock sampling and syscall tracepoints: run as root) and python3.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ART=${BENCH_ARTIFACTS:-/tmp/art-bench}
PERF_SECONDS=${PERF_SECONDS:-6}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/broker-profile.XXXXXX")}
QUERIES=${QUERIES:-"Deadline TimerQueue|CreateTimer CancellationTokenSource|CancellationPromise\`1\[.*\]::\.ctor LowLevelLifoSemaphore::Wait Channels"}
[[ $PERF_SECONDS =~ ^[1-9][0-9]*$ ]] || {
    echo "profile-broker.sh: PERF_SECONDS must be a positive number" >&2
    exit 2
}
command -v perf >/dev/null || {
    echo "profile-broker.sh: perf is not installed" >&2
    exit 1
}
(($# > 0)) || set -- --workers 2 --requests 200000 --spawn
mkdir -p "$OUT"

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    dotnet build "$HERE/Reliability.Benchmarks" -c Release --artifacts-path "$ART" -nologo -v q >&2
fi
EXE="$ART/bin/Reliability.Benchmarks/release/Reliability.Benchmarks"

# Managed frames need the JIT's perf map, and perf resolves it only without the W^X double mapping.
# Spawned roles inherit both settings.
export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
"$EXE" broker "$@" >"$OUT/run.out" 2>"$OUT/run.err" &
BENCH=$!
STATS=()
RECORD=""
cleanup() {
    local p
    for p in "${STATS[@]}" $RECORD; do kill -INT "$p" 2>/dev/null || true; done
    kill "$BENCH" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Bounded wait (120 s) for the end of the warm-up: the measured phase starts right after it.
for ((i = 0; i < 1200; i++)); do
    grep -q '^warm-up' "$OUT/run.err" 2>/dev/null && break
    kill -0 "$BENCH" 2>/dev/null || break
    sleep 0.1
done
if ! grep -q '^warm-up' "$OUT/run.err"; then
    echo "profile-broker.sh: the run never finished its warm-up (BENCH_WARMUP=0 is not supported here)" >&2
    cat "$OUT/run.err" >&2
    exit 1
fi

# The measuring process and the roles it spawned (this script's own descendants only).
declare -A ROLE=()
ROLE[$BENCH]=client
for p in $(pgrep -P "$BENCH" || true); do
    ROLE[$p]=$(tr '\0' ' ' <"/proc/$p/cmdline" | awk '{ print $2 }')
done
pids=$(
    IFS=,
    echo "${!ROLE[*]}"
)
EVENTS=task-clock,context-switches,raw_syscalls:sys_enter,syscalls:sys_enter_sendto,syscalls:sys_enter_recvfrom,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_sched_yield,syscalls:sys_enter_futex
for p in "${!ROLE[@]}"; do
    perf stat -x, -e "$EVENTS" -p "$p" -o "$OUT/stat.$p" 2>/dev/null &
    STATS+=($!)
done
perf record -q -e cpu-clock -F 2000 -g -p "$pids" -o "$OUT/perf.data" -- sleep "$PERF_SECONDS" 2>/dev/null &
RECORD=$!
rc=0
wait "$BENCH" || rc=$?
wait "$RECORD" || true
RECORD=""
for p in "${STATS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
wait "${STATS[@]}" 2>/dev/null || true
STATS=()
trap - EXIT
if [[ $rc != 0 ]]; then
    echo "profile-broker.sh: the run failed (exit code $rc)" >&2
    cat "$OUT/run.err" >&2
    exit 1
fi

R=$(sed -n 's/^broker: \([0-9]*\) requests.*/\1/p' "$OUT/run.out")
{
    cat "$OUT/run.out"
    grep -v '^broker-' "$OUT/run.err" || true
    echo
    echo "Per request over the measured phase (perf stat attaches after the warm-up; R = $R):"
    for p in "${!ROLE[@]}"; do
        printf '  %-14s' "${ROLE[$p]}"
        awk -F, -v R="$R" '/^[0-9.]/ {
                name = $3; sub(/^(raw_)?syscalls:sys_enter_?/, "", name); if (name == "") name = "syscalls"
                v = $1 / R; if ($3 == "task-clock") { name = "cpu-us"; v = $1 * 1000 / R }
                printf " %s %.2f", name, v }' "$OUT/stat.$p"
        echo
    done
    echo
    echo "Where the CPU samples went ($PERF_SECONDS s of the measured phase):"
    args=()
    for p in "${!ROLE[@]}"; do args+=("$p=${ROLE[$p]}"); done
    for q in $QUERIES; do args+=("q:$q"); done
    perf script -i "$OUT/perf.data" -F comm,pid,tid,ip,sym,dso 2>/dev/null >"$OUT/perf.script"
    python3 "$HERE/profile/perf_buckets.py" "${args[@]}" <"$OUT/perf.script"
} | tee "$OUT/report.txt"
for p in "${!ROLE[@]}"; do rm -f "/tmp/perf-$p.map"; done
echo "(raw data and report in $OUT)" >&2
