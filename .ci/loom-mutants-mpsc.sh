#!/usr/bin/env bash
# Shows that the loom models of the channel (loom-tests/mpsc.rs) have teeth: weakens,
# one at a time and in a temporary copy of the crate, each ordering, fence or step that
# a model guards, and expects some model to fail (KILLED). A mutant the models do not
# notice is reported SURVIVED, and the script then exits 1.
#
# Usage: .ci/loom-mutants-mpsc.sh            (from anywhere inside the checkout)
# Env:   see .ci/loom-mutants-common.sh (the models default to 3 preemptions).
set -euo pipefail

MODELS=loom_mpsc
# shellcheck source=loom-mutants-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/loom-mutants-common.sh"

baseline

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
        if self.state.parked.load(Ordering::Relaxed) {' \
'        if self.state.parked.load(Ordering::Relaxed) {'

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

report
