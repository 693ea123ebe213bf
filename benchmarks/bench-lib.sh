# Helpers shared by compare.sh, breadth.sh and curve.sh (sourced, not run). The sourcing script sets WORK
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
lat_p99() { sed -n 's/^lat: .* p99 \([0-9.]*\) us$/\1/p' <<<"$1"; }

ratio() { # ours / libzmq, or "-" if either is missing
    if [[ -z $1 || -z $2 ]]; then
        echo "-"
    else
        awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f", a / b }'
    fi
}

# Median of whitespace-separated numbers (the lower middle one for an even count).
median() { tr -s ' ' '\n' | awk 'NF' | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

# ---- The runs of breadth.sh and curve.sh: one thr/lat pair per run, cells of several runs. ----
# The sourcing script sets RUN_TIMEOUT (seconds per process) and THR_SCALE.

# What our program says when the transport rejects inproc:// (Workloads.RunAsync).
UNSUPPORTED="needs a transport build with in-process support"

# Extra leading options of the binding and the connecting process of run_thrlat (curve.sh puts
# the CURVE keys here); empty for NULL security.
declare -a BIND_OPTS=() CONNECT_OPTS=()

# reap_pair FIRST SECOND: waits for FIRST (the measuring side); if it failed, stops SECOND at once
# instead of letting it block until the run timeout; then waits for SECOND. Sets FIRST_RC, SECOND_RC.
reap_pair() {
    reap "$1"
    FIRST_RC=$RC
    ((FIRST_RC == 0)) || kill "$2" 2>/dev/null || true
    reap "$2"
    SECOND_RC=$RC
}

scaled() { awk -v b="$1" -v s="$THR_SCALE" 'BEGIN { c = int(b * s); if (c < 1000) c = 1000; print c }'; }

load_average() { uptime | sed -n 's/.*load average: //p'; }

# new_endpoint TRANSPORT: sets EP to a fresh tcp port on 127.0.0.1 or a fresh socket file in WORK.
IPC_SEQ=0
EP=""
new_endpoint() {
    if [[ $1 == tcp ]]; then
        free_port || return 1
        EP="tcp://127.0.0.1:$FREE_PORT"
    else
        IPC_SEQ=$((IPC_SEQ + 1))
        EP="ipc://$WORK/$IPC_SEQ.ipc"
    fi
}

# wait_bound ENDPOINT PID: bounded (10 s) wait until the binder listens (tcp) or its socket file
# exists (ipc), so the connecting side never spends a reconnect interval inside the measurement.
wait_bound() {
    local ep=$1 pid=$2 i
    if [[ $ep == tcp://* ]]; then
        wait_listening "${ep##*:}" "$pid"
        return
    fi
    for ((i = 0; i < 200; i++)); do
        [[ -S ${ep#ipc://} ]] && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# launch NAME EXE ARGS...: starts EXE under the run timeout, output in WORK/NAME.out and .err;
# LAUNCHED is its pid. reap PID: waits for it; RC is its exit code.
LAUNCHED=""
RC=0
launch() {
    local name=$1
    shift
    timeout "$RUN_TIMEOUT" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    LAUNCHED=$!
    PIDS+=("$LAUNCHED")
}
reap() {
    RC=0
    wait "$1" || RC=$?
    forget_pid "$1"
}

# show_failure KEY "role=rc ..." NAME...: why a run failed, with the tail of each process's stderr.
show_failure() {
    local key=$1 codes=$2 name
    shift 2
    echo "[$key] FAILED (exit codes: $codes; 124 = timeout $RUN_TIMEOUT s, 143 = stopped after its peer failed)" >&2
    for name in "$@"; do
        sed "s/^/[$key] ${name##*.}: /" "$WORK/$name.err" | tail -n 5 >&2
    done
}

# cpu_sum NAME...: the sum of the processes' "cpu: X us/msg" lines, empty unless every one printed it.
cpu_sum() {
    local name files=()
    for name in "$@"; do
        files+=("$WORK/$name.err")
    done
    cat "${files[@]}" | sed -n 's/^cpu: \([0-9.]*\) us\/msg.*/\1/p' |
        awk -v n=$# '{ s += $1; k++ } END { if (k == n) printf "%.2f", s }'
}

# Every run sets VALUE (msg/s or p50 us), P99 (lat: p99 us, else empty) and CPUV (us/msg, all
# processes of the run) and returns 0, 1 (failed; reason on stderr) or 3 (our transport does not
# support the endpoint's transport).
VALUE=""
P99=""
CPUV=""
DROPS=0

# run_thrlat KEY EXE TRANSPORT thr|lat SIZE COUNT
run_thrlat() {
    local key=$1 exe=$2 transport=$3 mode=$4 size=$5 count=$6
    local brole=recv crole=send bpid cpid brc crc measuring
    local -a names
    VALUE=""
    P99=""
    CPUV=""
    [[ $mode == lat ]] && brole=echo crole=ping
    if [[ $transport == inproc ]]; then
        launch "$key" "$exe" "$mode" inproc "$size" "$count"
        reap "$LAUNCHED"
        if ((RC != 0)) && grep -q "$UNSUPPORTED" "$WORK/$key.err"; then
            echo "[$key] n/a: $(tail -n 1 "$WORK/$key.err")" >&2
            return 3
        fi
        names=("$key")
        measuring=$key
        brc=$RC crc=0
    else
        new_endpoint "$transport" || return 1
        launch "$key.$brole" "$exe" ${BIND_OPTS[@]+"${BIND_OPTS[@]}"} "$mode" "$brole" "$EP" "$size" "$count"
        bpid=$LAUNCHED
        wait_bound "$EP" "$bpid" || echo "[$key] $brole did not bind $EP" >&2
        launch "$key.$crole" "$exe" ${CONNECT_OPTS[@]+"${CONNECT_OPTS[@]}"} "$mode" "$crole" "$EP" "$size" "$count"
        cpid=$LAUNCHED
        names=("$key.$brole" "$key.$crole")
        # The measuring side first: if it fails, its peer would block until the run timeout.
        if [[ $mode == thr ]]; then
            measuring=$key.$brole
            reap_pair "$bpid" "$cpid"
            brc=$FIRST_RC crc=$SECOND_RC
        else
            measuring=$key.$crole
            reap_pair "$cpid" "$bpid"
            crc=$FIRST_RC brc=$SECOND_RC
        fi
    fi
    if [[ $mode == thr ]]; then
        VALUE=$(thr_rate "$(tail -n 1 "$WORK/$measuring.out")")
    else
        VALUE=$(lat_p50 "$(tail -n 1 "$WORK/$measuring.out")")
        P99=$(lat_p99 "$(tail -n 1 "$WORK/$measuring.out")")
    fi
    if ((brc != 0 || crc != 0)) || [[ -z $VALUE ]]; then
        show_failure "$key" "$brole=$brc, $crole=$crc" "${names[@]}"
        return 1
    fi
    CPUV=$(cpu_sum "${names[@]}")
    echo "[$key] $(tail -n 1 "$WORK/$measuring.out") (cpu ${CPUV:-?} us/msg, all processes)" >&2
}

failures=0
declare -A VALS=() P99S=() CPUS=() DROPSUM=() STATE=()

# measure KEY RUN ARGS...: one more run of a cell; a failed or unsupported cell is not run again
# (a flaky failure is a finding, not noise to hide).
measure() {
    local key=$1 rc=0
    shift
    [[ -z ${STATE[$key]:-} ]] || return 0
    "$@" || rc=$?
    case $rc in
    0)
        VALS[$key]+=" $VALUE"
        P99S[$key]+=" $P99"
        CPUS[$key]+=" $CPUV"
        DROPSUM[$key]=$((${DROPSUM[$key]:-0} + DROPS))
        ;;
    3) STATE[$key]="n/a" ;;
    *)
        STATE[$key]="FAIL"
        failures=$((failures + 1))
        ;;
    esac
}

# cell KEY: the median of the cell's runs, or FAIL / n/a. cpu KEY: the same for CPU per message,
# p99 KEY for the latency runs' p99.
cell() { if [[ -n ${STATE[$1]:-} ]]; then echo "${STATE[$1]}"; else median <<<"${VALS[$1]:-}"; fi; }
p99() { if [[ -n ${STATE[$1]:-} ]]; then echo "${STATE[$1]}"; else median <<<"${P99S[$1]:-}"; fi; }
cpu() { if [[ -n ${STATE[$1]:-} ]]; then echo "-"; else median <<<"${CPUS[$1]:-}"; fi; }
num() { [[ $1 =~ ^[0-9.]+$ ]] && echo "$1" || echo ""; }
