//! What the loom model files share.

/// Runs `f` under loom, in every interleaving up to `default_preemptions` preemptions,
/// unless the `LOOM_MAX_PREEMPTIONS` environment variable sets another bound (loom reads
/// it into the builder). Each file passes the largest bound its models finish with
/// quickly; its `model` function says why that bound.
pub fn model<F>(default_preemptions: usize, f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(default_preemptions);
    }
    builder.check(f);
}
