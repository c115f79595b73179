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
 * <p>{@link #byContent} matches equal bytes rather than the same array, for a store whose layers copy
 * the bytes on the way (a timestamped store strips its timestamp into a new array): a job's spec is
 * read by every probe and changes only when the job is revised.
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
  private final boolean byContent;

  /** Remembers arrays by identity: the cheap match, for values rewritten all the time. */
  RememberingSerde(Function<T, byte[]> encode, Function<byte[], T> decode) {
    this(encode, decode, false);
  }

  private RememberingSerde(Function<T, byte[]> encode, Function<byte[], T> decode, boolean byContent) {
    this.encode = encode;
    this.decode = decode;
    this.byContent = byContent;
  }

  /** Remembers by the bytes' content; decoding remembers too, as the bytes came from elsewhere. */
  static <T> RememberingSerde<T> byContent(Function<T, byte[]> encode, Function<byte[], T> decode) {
    return new RememberingSerde<>(encode, decode, true);
  }

  private int slot(byte[] bytes) {
    return (byContent ? java.util.Arrays.hashCode(bytes) : System.identityHashCode(bytes)) & (SLOTS - 1);
  }

  private boolean matches(byte[] remembered, byte[] bytes) {
    return remembered == bytes || byContent && java.util.Arrays.equals(remembered, bytes);
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
    int slot = slot(bytes);
    Entry e = slots[slot];
    if (e != null && matches(e.bytes, bytes)) {
      return (T) e.value;
    }
    T value = decode.apply(bytes);
    if (byContent) {
      // the caller may reuse its array: keep a copy of its own
      slots[slot] = new Entry(bytes.clone(), value);
    }
    return value;
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
