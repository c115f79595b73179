/**
 * The curvature estimator as a Kafka Streams application (DESIGN.md §1.4, §2): the topology (probes ⋈ jobs →
 * per-job phase, merge, EWMA → curvature, history, dead letters) and its runner {@link io.stepsize.estimator.EstimatorApp}.
 * Depends on wire (topics, serdes, validation), schedule, proto, EJML and kafka-streams; never on the service,
 * the client, the broker, lab or cli (ArchitectureTest in cli checks it).
 */
package io.stepsize.estimator;
