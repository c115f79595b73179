package io.stepsize.estimator;

import java.util.function.Function;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * A state store's serde that does not decode the bytes it has just encoded. Kafka Streams' record
 * cache keeps the very array a put serialized and hands that array back on the next get of the
 * key; a job's state and timeline are read and rewritten by every probe, so without this each probe
 * would decode what the probe before encoded (docs/BENCHMARKS.md §11). Bytes it did not encode, or
 * encoded too long ago (read from RocksDB, restored from a changelog, another value since in the same
 * slot), are decoded as usual: what a get returns never depends on whether the array was remembered.
 *
 * <p>The values must be immutable: one object is handed out for every get of the same bytes. Safe
 * across stream threads: a slot holds one immutable entry, read and written as one reference.
 */
final class RememberingSerde<T> implements Serde<T> {
  /** A power of two; at most this many (bytes, value) pairs are held, a few MiB for timelines. */
  static final int SLOTS = 512;

  private record Entry(byte[] bytes, Object value) {}

  private final Entry[] slots = new Entry[SLOTS];
  private final Function<T, byte[]> encode;
  private final Function<byte[], T> decode;

  RememberingSerde(Function<T, byte[]> encode, Function<byte[], T> decode) {
    this.encode = encode;
    this.decode = decode;
  }

  private static int slot(byte[] bytes) {
    return System.identityHashCode(bytes) & (SLOTS - 1);
  }

  byte[] encode(T value) {
    if (value == null) {
      return null;
    }
    byte[] bytes = encode.apply(value);
    slots[slot(bytes)] = new Entry(bytes, value);
    return bytes;
  }

  @SuppressWarnings("unchecked")
  T decode(byte[] bytes) {
    if (bytes == null) {
      return null;
    }
    Entry e = slots[slot(bytes)];
    return e != null && e.bytes == bytes ? (T) e.value : decode.apply(bytes);
  }

  @Override
  public Serializer<T> serializer() {
    return (topic, value) -> encode(value);
  }

  @Override
  public Deserializer<T> deserializer() {
    return (topic, bytes) -> decode(bytes);
  }
}
