/**
 * The curvature estimator as a Kafka Streams application: topic names and configs ({@link io.stepsize.wire.Topics}),
 * the topology (probes ⋈ jobs → per-job phase, merge, EWMA → curvature, history, dead letters) and its runner
 * {@link io.stepsize.estimator.EstimatorApp}. Depends on schedule, spec, proto, EJML (via the math package) and
 * kafka-streams; never on the client or the service.
 */
package io.stepsize.estimator;
