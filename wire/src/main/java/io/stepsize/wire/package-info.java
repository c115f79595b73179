/**
 * The contract between processes (DESIGN.md §2): the proto ↔ schedule mapping ({@link io.stepsize.wire.JobSpecs},
 * {@link io.stepsize.wire.LearningRateProtos}), each Kafka topic with its key/value serdes ({@link io.stepsize.wire.Topics},
 * {@link io.stepsize.wire.ProtoSerde}), the curvature topic's record layout, headers, the partitioner and probe validation.
 * Depends on proto, schedule and kafka-clients only: no Kafka Streams, no gRPC (ArchitectureTest in cli checks it).
 */
package io.stepsize.wire;
