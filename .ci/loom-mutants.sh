#!/usr/bin/env bash
# Shows that the loom models have teeth: weakens each `Ordering::Release` and
# `Ordering::Acquire` in src/ring/*.rs to `Ordering::Relaxed`, one at a time, in a copy of
# the repository, and runs the loom ring models against each such mutant.
#
#   KILLED    a model failed: the ordering guards something the models check.
#   SURVIVED  every model passed with the weaker ordering.
#
# A surviving mutant means a missing model, unless the ordering guards nothing (listed
# in EXCEPTIONS below, each with its reason). The script exits non-zero when a mutant
# that is not an exception survives, or when a mutant does not build or times out.
#
# Usage: .ci/loom-mutants.sh [test-harness args, e.g. --skip some_model]
# Environment:
#   MUTANTS_TARGET_DIR  cargo target dir shared by all mutant builds
#                       (default: target/loom-mutants inside the repository)
#   MUTANT_TIMEOUT      seconds allowed per mutant run (default 900)
#   LOOM_MAX_PREEMPTIONS  passed through to the models
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=${MUTANTS_TARGET_DIR:-$repo/target/loom-mutants}
limit=${MUTANT_TIMEOUT:-900}
harness_args=("$@")

# Orderings that guard no data a model could observe, and why. An occurrence is an
# exception when the function containing it (as printed in the table) matches the first
# field and its code line contains the second.
EXCEPTIONS=(
  "Producer::is_abandoned|abandoned|the consumer publishes nothing the producer reads: on seeing the flag the producer learns only that the consumer is gone, and never touches a slot because of it"
  "<Consumer as Drop>::drop|abandoned|pairs only with Producer::is_abandoned (above); the slots the consumer hands back are published by its stores of head, not by this flag"
  "Consumer::slots|Acquire|a count only: no slot is read on the strength of this load (pop, peek and pop_iter each make their own Acquire load before reading a slot), and coherence alone keeps the count from going backwards"
)

exception_for() { # context code -> reason, or nothing
  local context=$1 code=$2 entry
  for entry in "${EXCEPTIONS[@]}"; do
    IFS='|' read -r where what why <<<"$entry"
    if [[ $context == "$where" && $code == *"$what"* ]]; then
      printf '%s' "$why"
      return 0
    fi
  done
  return 0
}

work=$(mktemp -d "${TMPDIR:-/tmp}/ringlink-mutants.XXXXXX")
trap 'rm -rf "$work"' EXIT
# `-m`: the copies get fresh modification times, so cargo rebuilds them rather than
# trusting a binary that an earlier run built from a mutant into the shared target dir.
tar -C "$repo" --exclude=./target --exclude=./.git -cf - . | tar -C "$work" -xmf -

# Loom wants optimised code to explore quickly; link-time optimisation only slows the
# dozen rebuilds down, so it is turned off here (the code under test is the same).
export RUSTFLAGS="--cfg loom"
export CARGO_TARGET_DIR=$target
export CARGO_PROFILE_RELEASE_LTO=false
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
export CARGO_TERM_COLOR=never

run_models() { # log file -> exit status: 0 pass, 1 a model failed, 2 build error, 3 timeout
  local log=$1
  if ! (cd "$work" && cargo test --release --test loom_ring --no-run) >"$log" 2>&1; then
    return 2
  fi
  local status=0
  (cd "$work" && timeout "$limit" cargo test --release --test loom_ring -- "${harness_args[@]}") \
    >>"$log" 2>&1 || status=$?
  case $status in
    0) return 0 ;;
    124) return 3 ;;
    *) return 1 ;;
  esac
}

# Every occurrence: file, line, which occurrence on the line, ordering, enclosing
# function (`Type::fn` or `<Type as Trait>::fn`), code.
list_occurrences() {
  local file
  for file in "$work"/src/ring/*.rs; do
    awk -v file="${file#"$work"/}" '
      /^[[:space:]]*(pub(\([a-z]+\))? )?(unsafe )?impl[<[:space:]]/ {
        header = $0
        sub(/^[[:space:]]*(pub(\([a-z]+\))? )?(unsafe )?impl(<[^>]*(<[^>]*>)?[^>]*>)?[[:space:]]+/, "", header)
        sub(/[[:space:]]*(where.*)?\{.*$/, "", header)
        n = split(header, parts, /[[:space:]]+for[[:space:]]+/)
        if (n == 2) {
          trait = parts[1]; type = parts[2]
          sub(/<.*/, "", trait); sub(/<.*/, "", type); sub(/.*::/, "", trait)
          owner = "<" type " as " trait ">"
        } else {
          type = header; sub(/<.*/, "", type)
          owner = type
        }
        fname = ""
      }
      /^[[:space:]]*(pub(\([a-z]+\))? )?(const )?(unsafe )?fn[[:space:]]/ {
        fname = $0
        sub(/^.*fn[[:space:]]+/, "", fname)
        sub(/[^A-Za-z0-9_].*$/, "", fname)
      }
      /^[[:space:]]*\/\// { next }
      {
        rest = $0; k = 0
        while (match(rest, /Ordering::(Release|Acquire)/)) {
          k++
          ordering = substr(rest, RSTART + 10, RLENGTH - 10)
          code = $0; sub(/^[[:space:]]+/, "", code)
          printf "%s\t%d\t%d\t%s\t%s::%s\t%s\n", file, NR, k, ordering, owner, fname, code
          rest = substr(rest, RSTART + RLENGTH)
        }
      }
    ' "$file"
  done
}

# Replaces the k-th `Ordering::Release|Acquire` on line `line` of `file` with Relaxed.
mutate() {
  local file=$1 line=$2 k=$3
  awk -v L="$line" -v K="$k" '
    NR == L {
      out = ""; rest = $0; n = 0
      while (match(rest, /Ordering::(Release|Acquire)/)) {
        n++
        if (n == K) {
          out = out substr(rest, 1, RSTART - 1) "Ordering::Relaxed"
        } else {
          out = out substr(rest, 1, RSTART + RLENGTH - 1)
        }
        rest = substr(rest, RSTART + RLENGTH)
      }
      $0 = out rest
    }
    { print }
  ' "$repo/$file" >"$work/$file"
}

echo "baseline: the models must pass on the unmutated code (target dir $target)"
if ! run_models "$work/baseline.log"; then
  cat "$work/baseline.log" >&2
  echo "the loom models fail without any mutation; fix that first" >&2
  exit 2
fi

mapfile -t occurrences < <(list_occurrences)
if [[ ${#occurrences[@]} -eq 0 ]]; then
  echo "no Ordering::Release/Acquire found in src/ring/*.rs" >&2
  exit 2
fi

rows=()
bad=0
index=0
for occurrence in "${occurrences[@]}"; do
  IFS=$'\t' read -r file line k ordering context code <<<"$occurrence"
  index=$((index + 1))
  printf '[%d/%d] %s:%s %s (%s) ... ' "$index" "${#occurrences[@]}" "$file" "$line" "$ordering" "$context"
  mutate "$file" "$line" "$k"
  if cmp -s "$repo/$file" "$work/$file"; then
    echo "mutation did not apply" >&2
    exit 2
  fi
  log="$work/mutant-$index.log"
  status=0
  run_models "$log" || status=$?
  cp "$repo/$file" "$work/$file"
  reason=$(exception_for "$context" "$code")
  case $status in
    0)
      result=SURVIVED
      if [[ -n $reason ]]; then
        note="exception: $reason"
      else
        note="NO MODEL NEEDS THIS ORDERING: add one"
        bad=1
      fi
      ;;
    1)
      result=KILLED
      # The failing models: those reported FAILED, and those whose panic aborted the
      # test process (a second panic in a destructor while unwinding) before reporting.
      models=$({
        grep -E '^test .* FAILED$' "$log" | sed -E 's/^test (.*) \.\.\. FAILED$/\1/'
        grep -oE "^thread '[^']+' .*panicked at" "$log" | sed -E "s/^thread '([^']+)'.*/\1/"
      } | grep -v '^main$' | sort -u | paste -sd, - || true)
      first=$(grep -m1 -A1 'panicked at' "$log" | sed -n 2p | cut -c1-60 || true)
      note="by ${models:-?}: ${first:-?}"
      if [[ -n $reason ]]; then
        note="$note (listed as an exception: drop it from EXCEPTIONS)"
      fi
      ;;
    2) result=BUILD-ERROR; note="see below"; bad=1; sed -n '1,40p' "$log" >&2 ;;
    3) result=TIMEOUT; note="no verdict in ${limit}s"; bad=1 ;;
  esac
  echo "$result"
  rows+=("$file:$line"$'\t'"$ordering"$'\t'"$context"$'\t'"$code"$'\t'"$result"$'\t'"$note")
done

echo
printf '%s\n' "location"$'\t'"weakened"$'\t'"in"$'\t'"code"$'\t'"result"$'\t'"note" "${rows[@]}" |
  column -t -s $'\t'

if [[ $bad -ne 0 ]]; then
  echo
  echo "FAIL: a mutant that should be killed survived, or a mutant run did not finish" >&2
  exit 1
fi
echo
echo "OK: every guarding ordering is needed by a loom model"
