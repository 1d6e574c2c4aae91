#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS] [LIBFUZZER_ARGS...]: builds the libFuzzer target (clang, ASan +
# UBSan) in build-fuzz/ if needed and fuzzes the request-to-response path for SECONDS (default
# 60). Exits non-zero on a crash, leak, timeout or sanitizer report; the reproducer is left in
# build-fuzz/fuzz-artifacts/. New corpus units go to build-fuzz/fuzz-corpus/ (kept between
# runs); the seeds in tests/fuzz/corpus/ and the saved reproducers in tests/fuzz/regressions/
# are only read, and every one of them runs first. UVH_FUZZ_BUILD=DIR picks another build dir.
set -euo pipefail
cd "$(dirname "$0")/../.."

secs=${1:-60}
shift || true
build=${UVH_FUZZ_BUILD:-build-fuzz}
fuzzer=$build/tests/fuzz/fuzz_request

if ! command -v clang >/dev/null; then
  echo "fuzz: clang is needed (Debian: apt-get install clang libclang-rt-14-dev)" >&2
  exit 1
fi
if [[ ! -f $build/build.ninja ]]; then
  CC=clang meson setup "$build" --wrap-mode=nodownload -Dfuzz=true -Dtests=disabled \
    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
meson compile -C "$build" >/dev/null
if [[ ! -x $fuzzer ]]; then
  echo "fuzz: $build has no $fuzzer: configure it with CC=clang -Dfuzz=true, or remove it" >&2
  exit 1
fi

work=$build/fuzz-corpus
artifacts=$build/fuzz-artifacts
log=$build/fuzz.log
mkdir -p "$work" "$artifacts"
corpora=("$work" tests/fuzz/corpus)
if compgen -G 'tests/fuzz/regressions/*' >/dev/null; then
  corpora+=(tests/fuzz/regressions)
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1:abort_on_error=0:print_legend=0"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:print_stacktrace=1"

echo "fuzz: $fuzzer for $secs s (log: $log)"
rc=0
"$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -dict=tests/fuzz/http.dict -artifact_prefix="$artifacts/" "$@" \
  "${corpora[@]}" >"$log" 2>&1 || rc=$?

# libFuzzer exits non-zero on a crash, leak, timeout or halting sanitizer report; a UBSan report
# that did not halt (other options) is caught here.
report='^==[0-9]+== ?ERROR: |runtime error:|^fuzz_request: |^ALARM: '
if ((rc != 0)) || grep -qE "$report" "$log"; then
  first=$(grep -nE "$report" "$log" | head -1 | cut -d: -f1 || true)
  echo "----- $log from the first report (at most 150 lines) -----"
  sed -n "${first:-1},\$p" "$log" | head -n 150 || true
  echo "-----"
  unit=$(sed -n 's/.*Test unit written to //p' "$log" | tail -1)
  echo "fuzz: FAILED (libFuzzer exit $rc); reproduce with: $fuzzer ${unit:-<the test unit>}"
  exit 1
fi

final_stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
if [[ -z $(final_stat number_of_executed_units) ]]; then # -fork=N: the parent's last status
  echo "fuzz: $(grep -E '^#[0-9]+: cov: ' "$log" | tail -1), no crash"
  exit 0
fi
done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE ' "$log" | tail -1 || true)
cov=$(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\)\/.*/cov \1, ft \2, corpus \3 units/p' \
  <<<"$done_line")
took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
echo "fuzz: $(final_stat number_of_executed_units) runs in ${took:-$secs} s" \
  "($(final_stat average_exec_per_sec) exec/s, ${cov:-no stats}, peak rss $(final_stat peak_rss_mb) MB), no crash"
