#!/usr/bin/env bash
# Fails when a C++ file under version control differs from what clang-format
# (.clang-format at the root) makes of it. Fix with:
#   git ls-files '*.cc' '*.h' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if git ls-files '*.cc' '*.h' | xargs clang-format --dry-run --Werror 2> "$log"; then
  echo "check-format: every file is formatted"
else
  grep -E '^[^ ].*: (error|warning)' "$log" | cut -d: -f1 | sort -u | sed 's/^/check-format: not formatted: /'
  exit 1
fi
