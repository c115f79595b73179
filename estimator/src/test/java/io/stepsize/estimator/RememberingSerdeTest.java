package io.stepsize.estimator;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class RememberingSerdeTest {
  /** A value type whose decode is counted and yields a new object each time. */
  private record Box(String text) {}

  private final AtomicInteger decodes = new AtomicInteger();
  private final RememberingSerde<Box> serde = new RememberingSerde<>(b -> b.text.getBytes(StandardCharsets.UTF_8),
      bytes -> {
        decodes.incrementAndGet();
        return new Box(new String(bytes, StandardCharsets.UTF_8));
      });

  @Test
  void theArrayItEncodedDecodesToTheSameObjectWithoutDecoding() {
    Box box = new Box("job-7");
    byte[] bytes = serde.serializer().serialize("t", box);
    assertThat(new String(bytes, StandardCharsets.UTF_8)).isEqualTo("job-7");
    assertThat(serde.deserializer().deserialize("t", bytes)).isSameAs(box);
    assertThat(decodes).hasValue(0);
  }

  @Test
  void equalBytesInAnotherArrayAreDecoded() {
    Box box = new Box("job-7");
    byte[] bytes = serde.serializer().serialize("t", box);
    Box read = serde.deserializer().deserialize("t", bytes.clone());
    assertThat(read).isEqualTo(box).isNotSameAs(box);
    assertThat(decodes).hasValue(1);
  }

  /** More values than slots: what a get returns is the value of its bytes, remembered or not. */
  @Test
  void everyArrayDecodesToItsOwnValueWhateverWasOverwritten() {
    int n = 4 * RememberingSerde.SLOTS;
    List<byte[]> arrays = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      arrays.add(serde.serializer().serialize("t", new Box("v" + i)));
    }
    for (int i = 0; i < n; i++) {
      assertThat(serde.deserializer().deserialize("t", arrays.get(i)).text()).isEqualTo("v" + i);
    }
    // at least 3/4 of them were pushed out of their slot by a later one, and so were decoded
    assertThat(decodes.get()).isBetween(n - RememberingSerde.SLOTS, n);
  }

  @Test
  void byContentDecodesEqualBytesOnceAndIgnoresTheCallersLaterWrites() {
    AtomicInteger parses = new AtomicInteger();
    RememberingSerde<Box> specs = RememberingSerde.byContent(b -> b.text.getBytes(StandardCharsets.UTF_8), bytes -> {
      parses.incrementAndGet();
      return new Box(new String(bytes, StandardCharsets.UTF_8));
    });
    byte[] first = "job-1 v1".getBytes(StandardCharsets.UTF_8);
    Box v1 = specs.deserializer().deserialize("t", first);
    assertThat(specs.deserializer().deserialize("t", first.clone())).isSameAs(v1);
    assertThat(parses).hasValue(1);
    // the caller's array reused for other bytes: the remembered copy is not affected
    byte[] reused = first;
    reused[7] = '2';
    assertThat(specs.deserializer().deserialize("t", reused).text()).isEqualTo("job-1 v2");
    assertThat(parses).hasValue(2);
    // a revised spec is other bytes: decoded, never the old value
    assertThat(specs.deserializer().deserialize("t", "job-1 v3".getBytes(StandardCharsets.UTF_8)).text())
        .isEqualTo("job-1 v3");
  }

  @Test
  void nullPassesBothWays() {
    assertThat(serde.serializer().serialize("t", null)).isNull();
    assertThat(serde.deserializer().deserialize("t", null)).isNull();
  }
}
