/**
 * In-JVM KRaft Kafka: a single node (the embedded default and the tests' real broker) and a
 * replicated multi-node cluster for fault tests. Depends on kafka_2.13 only; knows nothing of
 * Stepsize's topics.
 */
package io.stepsize.broker;
