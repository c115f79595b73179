/**
 * An in-JVM single-node KRaft Kafka broker (the embedded default and the tests' real broker).
 * Depends on kafka_2.13 only; knows nothing of Stepsize's topics.
 */
package io.stepsize.broker;
