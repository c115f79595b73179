/**
 * The trainer side (DESIGN.md §2): {@link io.stepsize.client.StepsizeClient}, the remote schedule with prefetch and
 * fallback, TLS and tokens, multi-replica failover and the probe publishers (gRPC or the trainer's own Kafka producer).
 * Depends on proto, wire, the schedule library wire maps to, grpc and kafka-clients; never on the service, estimator,
 * broker, lab or cli (ArchitectureTest in cli checks it).
 */
package io.stepsize.client;
