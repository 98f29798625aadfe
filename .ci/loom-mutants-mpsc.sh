#!/usr/bin/env bash
# Shows that the loom models of the channel (loom-tests/mpsc.rs) have teeth: weakens,
# one at a time and in a temporary copy of the crate, each ordering, fence or step that
# a model guards, and expects some model to fail (KILLED). A mutant the models do not
# notice is reported SURVIVED, and the script then exits 1.
#
# Usage: .ci/loom-mutants-mpsc.sh            (from anywhere inside the checkout)
# Env:   CARGO_TARGET_DIR  build directory for the mutants (default: a temp dir)
#        LOOM_MAX_PREEMPTIONS  passed through to loom (the models default to 3)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$work/target}"
export RUSTFLAGS="--cfg loom"

copy() {
    rm -rf "$work/crate"
    mkdir -p "$work/crate"
    (cd "$root" && tar --exclude=./target --exclude=./.git -cf - .) | tar -xf - -C "$work/crate"
}

run_models() {
    (cd "$work/crate" && cargo test --release --test loom_mpsc >"$work/log" 2>&1)
}

# mutate FILE FROM TO: replaces the one occurrence of the literal text FROM.
mutate() {
    FROM="$2" TO="$3" perl -0pi -e '
        my $n = () = /\Q$ENV{FROM}\E/g;
        die "expected 1 match, found $n\n" unless $n == 1;
        s/\Q$ENV{FROM}\E/$ENV{TO}/;
    ' "$work/crate/$1"
}

echo "baseline: unmutated models"
copy
if ! run_models; then
    tail -40 "$work/log"
    echo "baseline FAILED: fix the models before judging mutants" >&2
    exit 2
fi

survived=0
declare -a table
check() { # name file from to
    local name="$1"
    copy
    if ! mutate "$2" "$3" "$4" 2>"$work/err"; then
        table+=("NOT APPLIED | $name | $(cat "$work/err")")
        survived=1
        return
    fi
    if run_models; then
        table+=("SURVIVED    | $name |")
        survived=1
    else
        local failed
        # A loom deadlock aborts the test binary, so look for panicking models too.
        failed="$( { grep -E '^test .* FAILED$' "$work/log" | awk '{print $2}';
                     grep -oE "^thread '[a-z_0-9]+' \([0-9]+\) panicked" "$work/log" | cut -d"'" -f2; } |
                   sort -u | paste -sd, - || true)"
        if grep -qE '^error(\[E[0-9]+\])?: could not compile|^error\[E' "$work/log"; then
            table+=("BROKEN      | $name | the mutant does not build: $(grep -m1 -E '^error' "$work/log")")
            survived=1
        else
            table+=("KILLED      | $name | $failed")
        fi
        cp "$work/log" "${MUTANT_LOGS:-$work}/mutant-${#table[@]}.log" 2>/dev/null || true
    fi
    echo "${table[-1]}"
}

check "loom light_fence (waker's StoreLoad) removed" src/sync.rs \
'    pub(crate) fn light_fence() {
        fence(Ordering::SeqCst);
    }' \
'    pub(crate) fn light_fence() {}'

check "loom heavy_fence (sleeper's StoreLoad) removed" src/sync.rs \
'    pub(crate) fn heavy_fence() {
        fence(Ordering::SeqCst);
    }' \
'    pub(crate) fn heavy_fence() {}'

check "notify_strong fence (drops, rendezvous) removed" src/wait.rs \
'        fence(Ordering::SeqCst);
        if self.parked.load(Ordering::Relaxed) {' \
'        if self.parked.load(Ordering::Relaxed) {'

check "park: re-check after announcing removed" src/wait.rs \
'            heavy_fence();
            if let Some(ready) = poll() {' \
'            heavy_fence();
            if let Some(ready) = None {'

check "SyncSender::drop does not wake the receiver" src/mpsc/sender.rs \
'let _wake_receiver = NotifyOnDrop(&self.shared.receiver);' \
'let _wake_receiver = ();'

check "Receiver::drop does not wake the sender" src/mpsc/receiver.rs \
'let _wake_sender = NotifyOnDrop(&self.shared.sender);' \
'let _wake_sender = ();'

check "recv: no last pop after seeing the sender gone" src/mpsc/mod.rs \
'Some(consumer.pop().map_err(|_| RecvError))' \
'Some(Err(RecvError))'

check "rendezvous finish: IDLE store Release -> Relaxed" src/mpsc/rendezvous.rs \
'shared.rendezvous.store(IDLE, Release);' \
'shared.rendezvous.store(IDLE, Relaxed);'

check "rendezvous claim of a waiting receiver: Acquire -> Relaxed" src/mpsc/rendezvous.rs \
'compare_exchange(RECEIVER_WAITING, CLAIMED, Acquire, Relaxed)' \
'compare_exchange(RECEIVER_WAITING, CLAIMED, Relaxed, Relaxed)'

check "rendezvous sender announcement: Acquire -> Relaxed" src/mpsc/rendezvous.rs \
'compare_exchange(IDLE, SENDER_WAITING, Acquire, Relaxed)' \
'compare_exchange(IDLE, SENDER_WAITING, Relaxed, Relaxed)'

# Not listed: the ring's own orderings (the ring's models own them). Its `abandoned`
# `Release` is masked here anyway: under loom every send ends with `light_fence`, a full
# fence, which also orders the push before the producer's drop.

echo
echo "result      | mutant | failing models"
printf '%s\n' "${table[@]}"
exit "$survived"
