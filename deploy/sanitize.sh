#!/usr/bin/env bash
# The sanitizer builds CI runs after the main tests (deploy/test.sh):
#   build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer, every unit test;
#   build-tsan/  ThreadSanitizer, the tests of the code that runs on several
#                threads (the thread pool, the executor's parallel tasks).
# Unoptimised (-O0: it compiles in about half the time -O1 takes, and the
# unit tests are small) without debug info, so the two builds stay a
# fraction of CI's budget; any report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

configure() {  # DIR FLAGS
  cmake -S . -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=Release -DEDDY_BUILD_BENCH=OFF \
    -DCMAKE_CXX_FLAGS_RELEASE="-O0 -DNDEBUG" -DCMAKE_C_FLAGS_RELEASE="-O0 -DNDEBUG" \
    -DCMAKE_CXX_FLAGS="$2 -fno-omit-frame-pointer" -DCMAKE_C_FLAGS="$2 -fno-omit-frame-pointer" \
    -DCMAKE_EXE_LINKER_FLAGS="$2" >/dev/null
}

# Unit tests: label unit, minus the layering test (it reads files, nothing to sanitize).
configure build-asan "-fsanitize=address,undefined -fno-sanitize-recover=undefined"
targets=$(grep -ho 'eddy_test(\([a-z_]*\) unit' tests/CMakeLists.txt | awk '{print $1}' | sed 's/eddy_test(//' | grep -v layering_test)
cmake --build build-asan -j "$(nproc)" --target eddy $targets
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -L unit -E '^Layering' --output-on-failure -j 2 --timeout 600

configure build-tsan "-fsanitize=thread"
cmake --build build-tsan -j "$(nproc)" --target thread_pool_test executor_test
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/deploy/tsan-suppressions.txt \
  ctest --test-dir build-tsan -R '^(ThreadPool|Executor)\.' --output-on-failure -j 2 --timeout 600
