package io.stepsize.wire;

import org.apache.kafka.common.serialization.Serde;

/**
 * One Kafka topic of the contract: its full name (prefix included) and the serdes of its keys and
 * values, so a producer, a consumer and the Streams topology cannot disagree about either.
 */
public record Topic<K, V>(String name, Serde<K> keySerde, Serde<V> valueSerde) {
  @Override
  public String toString() {
    return name;
  }
}
