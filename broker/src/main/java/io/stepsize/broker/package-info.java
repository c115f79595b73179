/**
 * In-JVM KRaft Kafka (DESIGN.md §2): the single-node embedded default (also the tests' real broker)
 * and the replicated multi-node cluster of the fault tests. Depends on Kafka only and on no other
 * Stepsize module: it knows nothing of Stepsize's topics (ArchitectureTest in cli checks it).
 */
package io.stepsize.broker;
