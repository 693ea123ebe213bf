# Helpers shared by compare.sh and breadth.sh (sourced, not run). The sourcing script sets WORK
# (its scratch directory) after sourcing; the EXIT trap removes it and signals only the processes
# listed in PIDS, that is the ones the script started itself.

BENCH_SCRIPT=${0##*/}
PYTHON=/usr/bin/python3
[[ -x $PYTHON ]] || PYTHON=python3

# Only the processes this script started are ever signalled: their pids are kept here.
declare -a PIDS=()
WORK=""
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    # An if, not [[ ]] &&: under set -e a failing last command would change the script's exit code.
    if [[ -n $WORK ]]; then
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Ports handed out in this run, so two runs never reuse one even if the OS would allow it.
# free_port sets FREE_PORT (not printed: a $(...) subshell would lose the USED_PORTS entry).
declare -A USED_PORTS=()
FREE_PORT=""
free_port() {
    local port tries
    for tries in 1 2 3 4 5 6 7 8 9 10; do
        port=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
        if [[ -z ${USED_PORTS[$port]:-} ]]; then
            USED_PORTS[$port]=1
            FREE_PORT=$port
            return 0
        fi
    done
    echo "$BENCH_SCRIPT: no free port found" >&2
    return 1
}

# Waits (bounded, 10 s) until something listens on the port, so the connecting side does not
# spend a reconnect interval inside the measurement. Returns 1 if the binder died or never bound.
wait_listening() {
    local port=$1 pid=$2 i
    for ((i = 0; i < 200; i++)); do
        if [[ -n $(ss -Hltn "sport = :$port" 2>/dev/null) ]]; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

forget_pid() {
    local keep=() p
    for p in "${PIDS[@]}"; do
        [[ $p == "$1" ]] || keep+=("$p")
    done
    PIDS=("${keep[@]+"${keep[@]}"}")
}

# Builds the libzmq comparator and our program (unless SKIP_BUILD=1) and checks that both exist.
# Uses HERE, ART, LIBZMQ and OURS of the sourcing script.
build_programs() {
    local exe
    if [[ ${SKIP_BUILD:-0} != 1 ]]; then
        echo "building libzmq comparator..." >&2
        make -s -C "$HERE/comparator" >&2
        echo "building Reliability.Benchmarks (Release, artifacts in $ART)..." >&2
        dotnet build "$HERE/Reliability.Benchmarks" -c Release --artifacts-path "$ART" -nologo -v q >&2
    fi
    for exe in "$LIBZMQ" "$OURS"; do
        if [[ ! -x $exe ]]; then
            echo "$BENCH_SCRIPT: $exe is missing (build failed?)" >&2
            exit 1
        fi
    done
}

thr_rate() { sed -n 's/^thr: .* s: \([0-9]*\) msg\/s, .*/\1/p' <<<"$1"; }
lat_p50() { sed -n 's/^lat: .* p50 \([0-9.]*\) us, .*/\1/p' <<<"$1"; }

ratio() { # ours / libzmq, or "-" if either is missing
    if [[ -z $1 || -z $2 ]]; then
        echo "-"
    else
        awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f", a / b }'
    fi
}

# Median of whitespace-separated numbers (the lower middle one for an even count).
median() { tr -s ' ' '\n' | awk 'NF' | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
