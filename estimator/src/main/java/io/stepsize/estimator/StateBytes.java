package io.stepsize.estimator;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.function.Function;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;

/**
 * The checks every estimator state codec makes on the bytes it reads ({@link TimelineCodec},
 * {@link JobStateCodec}), so that bytes of another layout are rejected with a message rather than
 * misread. Each codec reads its fields in order from the buffer {@link #open} returns.
 */
final class StateBytes {
  private StateBytes() {}

  /** A store's serde from a codec; null passes both ways (a deleted key). */
  static <T> Serde<T> serde(Function<T, byte[]> encode, Function<byte[], T> decode) {
    return Serdes.serdeFrom((topic, value) -> value == null ? null : encode.apply(value),
        (topic, bytes) -> bytes == null ? null : decode.apply(bytes));
  }

  /** The buffer past the version byte, when that byte is {@code version}. */
  static ByteBuffer open(byte[] bytes, String what, byte version) {
    return open(bytes, what, version, version);
  }

  /**
   * The buffer past the version byte, when that byte is in [{@code oldest}, {@code current}]: a codec
   * reads the layouts of older versions it still knows (bytes[0] says which), and writes the current.
   */
  static ByteBuffer open(byte[] bytes, String what, byte oldest, byte current) {
    String expected = oldest == current ? Byte.toString(current) : oldest + " to " + current;
    if (bytes.length == 0) {
      throw new SerializationException(what + ": empty (0 bytes), expected version " + expected);
    }
    if (bytes[0] < oldest || bytes[0] > current) {
      throw new SerializationException(what + ": version " + bytes[0] + ", expected " + expected + " (" + bytes.length
          + " bytes); state from another Stepsize version must be reset (kafka-streams-application-reset, or a "
          + "fresh data directory)");
    }
    ByteBuffer b = ByteBuffer.wrap(bytes);
    b.get();
    return b;
  }

  /**
   * A count read from {@code b}, checked against the bytes left, so that a corrupt count neither
   * allocates a huge array nor reads into the next field.
   */
  static int count(ByteBuffer b, String what, String field, int bytesEach) {
    int n = b.getInt();
    if (n < 0 || (long) n * bytesEach > b.remaining()) {
      throw new SerializationException(what + ": " + field + " " + n + " does not fit the " + b.remaining()
          + " bytes left (" + b.capacity() + " bytes)");
    }
    return n;
  }

  static void end(ByteBuffer b, String what) {
    if (b.hasRemaining()) {
      throw new SerializationException(what + ": " + b.remaining() + " bytes after the last field (" + b.capacity()
          + " bytes)");
    }
  }

  static SerializationException truncated(byte[] bytes, String what, BufferUnderflowException e) {
    return new SerializationException(what + ": truncated (" + bytes.length + " bytes)", e);
  }
}
