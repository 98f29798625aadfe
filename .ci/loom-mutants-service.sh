#!/usr/bin/env bash
# Shows that the loom models of the service layer (loom-tests/service.rs) have teeth:
# weakens, one at a time and in a temporary copy of the crate, each wake-up, fence,
# re-check or ordering that a model guards, and expects some model to fail (KILLED). A
# mutant the models do not notice is reported SURVIVED, and the script then exits 1.
#
# Usage: .ci/loom-mutants-service.sh          (from anywhere inside the checkout)
# Env:   CARGO_TARGET_DIR  build directory for the mutants (default: a temp dir)
#        LOOM_MAX_PREEMPTIONS  passed through to loom (the models default to 2)
#
# The mutants are built without fat LTO (same code, much faster builds).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$work/target}"
export RUSTFLAGS="--cfg loom"
export CARGO_PROFILE_RELEASE_LTO=false
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16

copy() {
    rm -rf "$work/crate"
    mkdir -p "$work/crate"
    (cd "$root" && tar --exclude=./target --exclude=./.git -cf - .) | tar -xmf - -C "$work/crate"  # -m: fresh mtimes, so cargo rebuilds what changed
}

run_models() {
    (cd "$work/crate" && cargo test --release --test loom_service >"$work/log" 2>&1)
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
        echo "${table[-1]}"
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
    fi
    echo "${table[-1]}"
}

# ---- the service layer's own wake-ups and re-checks ----

check "send: no doorbell ring after the push" src/service/link.rs \
'                // After the push: a server going to sleep sees the request or is woken.
                self.server.0.doorbell.notify();' \
''

check "recv: no doorbell ring after popping a reply" src/service/link.rs \
'                self.server.0.doorbell.notify();
                Ok(reply)' \
'                Ok(reply)'

check "server: no wake-up of the client after a batch" src/service/link.rs \
'            self.client.0.notify();' \
''

check "connect: the joining flag is not raised" src/service/server.rs \
'            self.shared.joining.store(true, Ordering::Relaxed);' \
''

check "stop: no doorbell ring after setting the flag" src/service/server.rs \
'        // not followed by a request: the strong fence.
        self.shared.doorbell.notify_strong();' \
''

check "server's last look ignores the stop flag" src/service/server.rs \
'        self.is_stopping()
            || self.joining.load(Ordering::Relaxed)' \
'        self.joining.load(Ordering::Relaxed)'

check "server's last look ignores joining links" src/service/server.rs \
'            || self.joining.load(Ordering::Relaxed)
            || links' \
'            || links'

check "server's last look ignores queued requests" src/service/link.rs \
'            None => !self.requests.is_empty() || self.requests.is_abandoned(),' \
'            None => self.requests.is_abandoned(),'

check "server's last look ignores room for a waiting reply" src/service/link.rs \
'            Some(_) => self.replies.slots() > 0 || self.replies.is_abandoned(),' \
'            Some(_) => self.replies.is_abandoned(),'

check "closing a link does not wake its client" src/service/link.rs \
'        self.0.notify_strong();' \
''

check "closing a link wakes its client before dropping the ring ends" src/service/link.rs \
'pub(super) struct ServerLink<Req: ?Sized, Resp: ?Sized> {
    requests: Consumer<Box<Req>>,
    replies: Producer<Box<Resp>>,
    /// A reply that found the reply ring full. While it waits, no request is taken from
    /// this link: the client slows only itself by not reading its replies.
    pending: Option<Box<Resp>>,
    /// The client is gone and every request it sent has been handled.
    closed: bool,
    /// Declared last, so dropped last: wakes the client after the ring ends above are
    /// dropped (marking the link abandoned), even if dropping a request panics.
    client: WakeOnDrop,
}' \
'pub(super) struct ServerLink<Req: ?Sized, Resp: ?Sized> {
    client: WakeOnDrop,
    requests: Consumer<Box<Req>>,
    replies: Producer<Box<Resp>>,
    pending: Option<Box<Resp>>,
    closed: bool,
}'

check "recv: no last pop after seeing the server gone" src/service/link.rs \
'Err(_) if replies.is_abandoned() => Some(replies.pop().map_err(|_| RecvError)),' \
'Err(_) if replies.is_abandoned() => Some(Err(RecvError)),'

# ---- the wait layer's handshake, as these models use it (src/wait.rs owns it) ----

check "loom light_fence (the waker's StoreLoad: notify) removed" src/sync.rs \
'    pub(crate) fn light_fence() {
        fence(Ordering::SeqCst);
    }' \
'    pub(crate) fn light_fence() {}'

check "loom heavy_fence (the sleeper's StoreLoad) removed" src/sync.rs \
'    pub(crate) fn heavy_fence() {
        fence(Ordering::SeqCst);
    }' \
'    pub(crate) fn heavy_fence() {}'

check "notify_strong fence (stop, link close, client drop) removed" src/wait.rs \
'        fence(Ordering::SeqCst);
        if self.parked.load(Ordering::Relaxed) {' \
'        if self.parked.load(Ordering::Relaxed) {'

echo
echo "result      | mutant | failing models"
printf '%s\n' "${table[@]}"
exit "$survived"
