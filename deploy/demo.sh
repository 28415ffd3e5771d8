#!/usr/bin/env bash
# The README's first command: set up, build, and run the main job end to end
# on the embedded broker (a generator feeds ad events to Kafka; the
# ad-pipeline job filters and reshapes them into another topic).
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/build.sh
exec build/eddy demo "$@"
