#!/usr/bin/env bash
# Portable verdicts: run the golden (nbval) comparisons under every torch CPU kernel path this
# machine can run (ATEN_CPU_CAPABILITY default, avx2, avx512) with 1 and 2 BLAS/torch threads, and
# print a table. Every row must read "0 failed": what nbval compares is a property of the
# mathematics, not of one CPU. On a CUDA machine add `cuda` to the paths (SELFDISTILL_DEVICE).
#   bash scripts/portability.sh                 # every path and thread count
#   PORTABILITY_CHAPTERS="sd-rounds generations" bash scripts/portability.sh   # some chapters
# Each configuration runs the golden notebooks serially (-n 0) so the thread count is the one
# named; a configuration is bounded by PORTABILITY_TIMEOUT seconds (default 1800).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup-env.sh"
limit=${PORTABILITY_TIMEOUT:-1800}
paths=(default avx2)
grep -q -w avx512f /proc/cpuinfo 2>/dev/null && paths+=(avx512)
targets=(tests/_nbval)
if [ -n "${PORTABILITY_CHAPTERS:-}" ]; then
  targets=()
  for name in $PORTABILITY_CHAPTERS; do targets+=("tests/_nbval/$name.ipynb"); done
fi
out=$(mktemp -d)
printf '%-10s %-8s %-8s %-8s %s\n' "cpu path" threads passed failed "failed cells"
status=0
for path in "${paths[@]}"; do
  for threads in 1 2; do
    log="$out/$path-$threads.log"
    rc=0
    ATEN_CPU_CAPABILITY=$path OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads \
      OPENBLAS_NUM_THREADS=$threads timeout "$limit" \
      python -m pytest -n 0 -q -p no:cacheprovider "${targets[@]}" "$@" >"$log" 2>&1 || rc=$?
    passed=$(grep -oE '[0-9]+ passed' "$log" | tail -1 | cut -d' ' -f1 || true)
    failed=$(grep -oE '[0-9]+ failed' "$log" | tail -1 | cut -d' ' -f1 || true)
    cells=$(grep -oE '^FAILED tests/_nbval/[^ ]+' "$log" | sed 's|FAILED tests/_nbval/||' \
            | tr '\n' ' ' || true)
    [ "$rc" -eq 124 ] && cells="timed out after ${limit} s"
    printf '%-10s %-8s %-8s %-8s %s\n' "$path" "$threads" "${passed:-0}" "${failed:-0}" "$cells"
    if [ "$rc" -ne 0 ]; then status=1; fi
  done
done
echo "logs: $out"
exit "$status"
