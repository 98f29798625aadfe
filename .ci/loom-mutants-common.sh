# Sourced by .ci/loom-mutants-mpsc.sh and .ci/loom-mutants-service.sh, which set
# MODELS (the loom test target, e.g. loom_mpsc), then call `baseline`, one `check` per
# mutant, and `report`. Each mutant runs in a fresh temporary copy of the crate.
#
# Env: CARGO_TARGET_DIR       build directory for the mutants (default: a temp dir)
#      LOOM_MAX_PREEMPTIONS   passed through to loom
#      MUTANT_LOGS            a directory to keep each killed mutant's log in
#
# The mutants are built without fat LTO (same code, much faster builds).

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$work/target}"
export RUSTFLAGS="--cfg loom"
export CARGO_PROFILE_RELEASE_LTO=false
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16

survived=0
declare -a table

copy() {
    rm -rf "$work/crate"
    mkdir -p "$work/crate"
    # -m: fresh mtimes, so cargo rebuilds what changed rather than trusting a binary an
    # earlier mutant left in a shared target directory.
    (cd "$root" && tar --exclude=./target --exclude=./.git -cf - .) | tar -xmf - -C "$work/crate"
}

run_models() {
    (cd "$work/crate" && cargo test --release --test "$MODELS" >"$work/log" 2>&1)
}

# mutate FILE FROM TO: replaces the one occurrence of the literal text FROM.
mutate() {
    FROM="$2" TO="$3" perl -0pi -e '
        my $n = () = /\Q$ENV{FROM}\E/g;
        die "expected 1 match, found $n\n" unless $n == 1;
        s/\Q$ENV{FROM}\E/$ENV{TO}/;
    ' "$work/crate/$1"
}

baseline() {
    echo "baseline: unmutated models"
    copy
    if ! run_models; then
        tail -40 "$work/log"
        echo "baseline FAILED: fix the models before judging mutants" >&2
        exit 2
    fi
}

check() { # name file from to
    local name="$1"
    copy
    if ! mutate "$2" "$3" "$4" 2>"$work/err"; then
        table+=("NOT APPLIED | $name | $(cat "$work/err")")
        survived=1
    elif run_models; then
        table+=("SURVIVED    | $name |")
        survived=1
    elif grep -qE '^error(\[E[0-9]+\])?: could not compile|^error\[E' "$work/log"; then
        table+=("BROKEN      | $name | the mutant does not build: $(grep -m1 -E '^error' "$work/log")")
        survived=1
    else
        local failed
        # A loom deadlock aborts the test binary, so look for panicking models too.
        failed="$( { grep -E '^test .* FAILED$' "$work/log" | awk '{print $2}';
                     grep -oE "^thread '[a-z_0-9]+' \([0-9]+\) panicked" "$work/log" | cut -d"'" -f2; } |
                   sort -u | paste -sd, - || true)"
        table+=("KILLED      | $name | $failed")
        if [ -n "${MUTANT_LOGS:-}" ]; then
            cp "$work/log" "$MUTANT_LOGS/$MODELS-mutant-${#table[@]}.log"
        fi
    fi
    echo "${table[-1]}"
}

report() {
    echo
    echo "result      | mutant | failing models"
    printf '%s\n' "${table[@]}"
    exit "$survived"
}
