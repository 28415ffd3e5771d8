#!/usr/bin/env bash
# Installs the Debian packages Eddy needs (if missing) and builds build/eddy
# and the tests. Idempotent; re-running rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)"
