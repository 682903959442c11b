#!/usr/bin/env bash
# Runs every libFuzzer harness for FUZZ_SECONDS each (`make fuzz`). Usage: run.sh BUILD_DIR [NAME...]
# Seeds, made afresh each run: the committed hand-written ones (tests/fuzz/seeds/NAME/), the
# shipped samples (scenarios/, scenarios/traces/) and, when ../shared/traces/ is there, the first
# 4 KiB (whole lines) of each public trace, read from there, never copied into the repository.
# The corpus each harness grows is kept in BUILD_DIR/corpus/NAME between runs; crashes go to
# BUILD_DIR/artifacts/. Exit 1 if any harness found a crash, a leak, a timeout or ran out of memory.
set -uo pipefail
build=$(cd "${1:?usage: run.sh BUILD_DIR [NAME...]}" && pwd) || exit 2; shift
seconds=${FUZZ_SECONDS:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
shared=${FLEETSIM_SHARED_TRACES:-$root/../shared/traces}
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(fuzz_scenario fuzz_request_csv fuzz_node_list
  fuzz_import_azure_llm_2023 fuzz_import_mooncake fuzz_import_servegen fuzz_import_generic_csv
  fuzz_jobs_gavel fuzz_jobs_openb fuzz_jobs_dlrm_2025 fuzz_jobs_generic_csv fuzz_jobs_philly_runtime)

head_lines() { if [ "$(stat -c %s "$1")" -gt 4096 ]; then head -c 4096 "$1" | sed '$d'; else cat "$1"; fi; }
# seed NAME KNOB FILE...: FILE's first 4 KiB, whole lines, after the knob byte (none if KNOB is "").
wanted() { [[ " ${names[*]} " == *" $1 "* ]]; }
seed() {
  local name=$1 knob=$2; shift 2
  wanted "$name" || return 0
  local dir=$build/seeds/$name; mkdir -p "$dir"
  for f in "$@"; do
    [ -f "$f" ] || continue
    local out=$dir/$(basename "$f")-k$knob
    { [ -z "$knob" ] || printf "\\x$knob"; head_lines "$f"; } > "$out"
  done
}
# split NAME KNOB MAIN SIDE: a two-part seed (trace, then the side table's first 4 KiB).
split_seed() {
  wanted "$1" || return 0
  local dir=$build/seeds/$1; mkdir -p "$dir"
  [ -f "$3" ] && [ -f "$4" ] || return 0
  { printf "\\x$2"; head -c 4096 "$3"; printf '\n--8<--\n'; head -c 4096 "$4"; } > "$dir/$(basename "$3")-split"
}

for n in "${names[@]}"; do
  rm -rf "$build/seeds/$n"
  mkdir -p "$build/seeds/$n" "$build/corpus/$n" "$build/artifacts"
  [ -d "$root/tests/fuzz/seeds/$n" ] && cp "$root/tests/fuzz/seeds/$n"/* "$build/seeds/$n/" 2>/dev/null
done
seed fuzz_scenario "" "$root"/scenarios/*.yaml "$root"/scenarios/sweeps/*.yaml
seed fuzz_request_csv "" "$root"/scenarios/traces/sample-requests.csv
for k in 00 01; do
  seed fuzz_node_list "$k" "$root"/scenarios/traces/openb-nodes-small.csv "$shared"/alibaba-openb-2023/openb_node_list_*.csv "$shared"/alibaba-pai-2020-machine-spec/*.csv
  seed fuzz_import_azure_llm_2023 "$k" "$shared"/azure-llm-2023/*.csv
  seed fuzz_import_mooncake "$k" "$shared"/mooncake-fast25/*.jsonl
  seed fuzz_import_servegen "$k" "$shared"/servegen/m-small-trace-only/chunk-0-trace.csv
  seed fuzz_import_generic_csv "$k" "$root"/scenarios/traces/sample-requests.csv
  seed fuzz_jobs_gavel "$k" "$shared"/gavel-generated/*.trace "$shared"/gavel-traces/msr-seed0/0e4a51.trace
  seed fuzz_jobs_openb "$k" "$root"/scenarios/traces/openb-pods-small.csv "$shared"/alibaba-openb-2023/openb_pod_list_*.csv
  seed fuzz_jobs_dlrm_2025 "$k" "$shared"/alibaba-dlrm-2025/*.csv
  seed fuzz_jobs_generic_csv "$k" "$root"/scenarios/traces/finetune-jobs.csv "$root"/scenarios/traces/empty-jobs.csv
  seed fuzz_jobs_philly_runtime "$k" "$shared"/philly-runtime/*.csv
done
split_seed fuzz_import_servegen 00 "$shared"/servegen/deepseek-r1/chunk-24-trace.csv "$shared"/servegen/deepseek-r1/chunk-24-dataset.json
split_seed fuzz_jobs_gavel 00 "$shared"/gavel-generated/gavel_1000jobs_lam300_seed0.trace "$shared"/gavel-generated/gavel_simulation_throughputs.json

failed=0
for n in "${names[@]}"; do
  bin=$build/tests/fuzz/$n
  [ -x "$bin" ] || { echo "$n: not built ($bin)"; failed=1; continue; }
  log=$build/artifacts/$n.log
  echo "== $n: ${seconds}s"
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: a YAML alias bomb must not pass.
  (cd "$build" && "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
      -print_final_stats=1 -artifact_prefix="$build/artifacts/$n-" "$build/corpus/$n" "$build/seeds/$n") > "$log" 2>&1
  rc=$?
  grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$log" | tail -1
  grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$log" | tr '\n' ' '; echo
  if [ $rc -ne 0 ]; then
    echo "$n: FAILED (exit $rc), see $log"; grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5
    failed=1
  fi
done
exit $failed
