#!/usr/bin/env bash
# The main job: broker, workers and clients on loopback as real processes, with a worker killed,
# the broker restarted and a partition injected, ending with a table showing every request answered.
set -euo pipefail
cd "$(dirname "$0")/.."
exec dotnet run -c Release --project chaos-tests/Reliability.Chaos -- demo "$@"
