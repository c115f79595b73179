/**
 * Curvature from Lanczos probes: Ritz values, SLQ weights, residual bounds (EJML), the lower-edge rules,
 * merging and EWMA, and the Kafka Streams topology. Depends on schedule, proto, EJML and kafka-streams.
 */
package io.stepsize.estimator;
