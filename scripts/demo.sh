#!/usr/bin/env bash
# The main job: runs the demonstration (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
exec dotnet run -c Release --project examples/Reliability.Examples -- transport-demo "$@"
