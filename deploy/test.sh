#!/usr/bin/env bash
# The README's second command: set up a fresh Debian 12 machine, build, and
# run every unit and integration test, then the sanitizer builds
# (deploy/sanitize.sh; benchmarks are separate: ctest -L bench).
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install-deps.sh
./deploy/check-format.sh
./deploy/build.sh
(cd build && ctest -L 'unit|integration' --output-on-failure -j 2 --timeout 600)
# ASan+UBSan over the unit tests, TSan over the concurrency tests.
./deploy/sanitize.sh
