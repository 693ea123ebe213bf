#!/usr/bin/env bash
# Runs every test in the solution and ends with one line "N passed, N failed, N skipped" taken
# from the test results. Installs the interop peers (Debian's python3-zmq, libzmq3-dev) and the
# PostgreSQL server when they are missing and we are root, so interop tests run (they are never
# skipped when CI=true) and the Titanic store contract runs on a real PostgreSQL.
set -uo pipefail
cd "$(dirname "$0")/.."

if ! /usr/bin/python3 -c "import zmq" 2>/dev/null || ! [ -e /usr/include/zmq.h ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing python3-zmq and libzmq3-dev (interop peers)..."
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-zmq libzmq3-dev >/dev/null
  else
    echo "warning: python3-zmq is missing and cannot be installed here (not root); interop tests will be skipped"
  fi
fi

if ! [ -e /usr/share/java/jeromq.jar ] || ! [ -x /usr/bin/javac ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing libjeromq-java and default-jdk-headless (JeroMQ interop peer)..."
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libjeromq-java default-jdk-headless >/dev/null
  else
    echo "warning: JeroMQ or a JDK is missing and cannot be installed here (not root); JeroMQ interop tests will be skipped"
  fi
fi

# The Titanic PostgreSQL store tests start a throwaway cluster of their own (initdb + pg_ctl, as the postgres user).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing postgresql (server binaries for the Titanic PostgreSQL store tests)..."
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "warning: PostgreSQL is missing and cannot be installed here (not root); the Titanic PostgreSQL tests will fail"
  fi
fi

# The Binary Star split-brain test makes network namespaces with ip (iproute2); it runs as root under CI.
if ! command -v ip >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing iproute2 (network namespaces for the split-brain test)..."
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null
fi

results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
# Build in parallel, then run the test projects one after another: the chaos suite's child
# processes and the heartbeat tests must not compete with three other test hosts for 2 cores.
dotnet build Reliability.sln -c Release
status=$?
if [ $status -eq 0 ]; then
  dotnet test Reliability.sln -c Release --no-build -m:1 --logger "trx" --results-directory "$results" -- RunConfiguration.TestSessionTimeout=1500000
  status=$?
fi

python3 - "$results" "$status" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
passed = failed = skipped = 0
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
for path in glob.glob(sys.argv[1] + "/**/*.trx", recursive=True):
    summary = ET.parse(path).getroot().find("t:ResultSummary", ns)
    counters = None if summary is None else summary.find("t:Counters", ns)
    if counters is None:
        continue
    passed += int(counters.get("passed", 0))
    run_failed = sum(int(counters.get(k, 0)) for k in ("failed", "error", "timeout", "aborted"))
    # A crashed test host leaves its unfinished tests uncounted: count the aborted run as a failure.
    if summary.get("outcome") not in ("Completed", "Passed", "Warning") and run_failed == 0:
        print(f"test run {path} ended with outcome {summary.get('outcome')}")
        run_failed = 1
    failed += run_failed
    # xunit's skipped tests are in the total but neither passed nor failed (trx's notExecuted stays 0).
    skipped += max(int(counters.get("total", 0)) - int(counters.get("passed", 0)) - run_failed, int(counters.get("notExecuted", 0)))
status = int(sys.argv[2])
if status != 0 and failed == 0:
    # The build or the test host failed before any result was recorded.
    print(f"dotnet test exited with {status} without a failed test result")
    failed = 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
