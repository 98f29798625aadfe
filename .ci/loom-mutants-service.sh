#!/usr/bin/env bash
# Shows that the loom models of the service layer (loom-tests/service.rs) have teeth:
# weakens, one at a time and in a temporary copy of the crate, each wake-up, fence,
# re-check or ordering that a model guards, and expects some model to fail (KILLED). A
# mutant the models do not notice is reported SURVIVED, and the script then exits 1.
#
# Usage: .ci/loom-mutants-service.sh          (from anywhere inside the checkout)
# Env:   see .ci/loom-mutants-common.sh (the models default to 2 preemptions).
set -euo pipefail

MODELS=loom_service
# shellcheck source=loom-mutants-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/loom-mutants-common.sh"

baseline

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
        if self.state.parked.load(Ordering::Relaxed) {' \
'        if self.state.parked.load(Ordering::Relaxed) {'

report
