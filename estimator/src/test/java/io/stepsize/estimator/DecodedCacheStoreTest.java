package io.stepsize.estimator;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.internals.WrappedStateStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The object cache under a real Streams task (TopologyTestDriver commits after every input record):
 * each commit writes each changed key once, with its last value, to the changelog; reads between
 * commits get the very object put, with no decode; a key pushed out of the cache was written down.
 */
class DecodedCacheStoreTest {
  private static final String STORE = "values";
  private static final String CHANGELOG = "cache-test-" + STORE + "-changelog";
  /** What the cache counts for each value, so that it holds CAPACITY of them. */
  private static final long BOX_BYTES = 1024;
  private static final int CAPACITY = (int) (DecodedCacheStore.MAX_BYTES / BOX_BYTES);

  @TempDir Path stateDir;

  private final AtomicInteger encodes = new AtomicInteger();
  private final AtomicInteger decodes = new AtomicInteger();
  /** A value whose identity shows whether a get decoded. */
  private record Box(String text) {}

  private final Serde<Box> boxes = StateBytes.serde(b -> {
    encodes.incrementAndGet();
    return b.text.getBytes(StandardCharsets.UTF_8);
  }, bytes -> {
    decodes.incrementAndGet();
    return new Box(new String(bytes, StandardCharsets.UTF_8));
  });

  /**
   * What the processor saw: a put whose get right after did not return the object put ("key:i"), and
   * the values read after a fill or a delete.
   */
  private final List<String> observed = new java.util.ArrayList<>();

  /**
   * Record "key" → "n" puts key = "key:1" … "key:n" and reads each back; "key" → "fill:N" puts key =
   * "key:f", then N other keys (more than the cache holds), then reads key.
   */
  private final class Writer implements Processor<String, String, Void, Void> {
    private KeyValueStore<String, Box> store;

    @Override
    public void init(ProcessorContext<Void, Void> context) {
      store = context.getStateStore(STORE);
    }

    @Override
    public void process(Record<String, String> record) {
      String key = record.key();
      if (record.value().equals("del")) {
        store.put(key, new Box(key + ":d"));
        store.delete(key);
        observed.add("after del " + key + " = " + store.get(key));
        return;
      }
      if (record.value().startsWith("fill:")) {
        int n = Integer.parseInt(record.value().substring(5));
        store.put(key, new Box(key + ":f"));
        for (int i = 0; i < n; i++) {
          store.put("other-" + i, new Box("o" + i));
        }
        Box back = store.get(key);
        observed.add("after fill " + key + " = " + (back == null ? null : back.text()));
        return;
      }
      int n = Integer.parseInt(record.value());
      for (int i = 1; i <= n; i++) {
        Box box = new Box(key + ":" + i);
        store.put(key, box);
        if (store.get(key) != box) {
          observed.add(key + ":" + i);
        }
      }
    }
  }

  private TopologyTestDriver driver() {
    Topology t = new Topology();
    t.addSource("in", new StringDeserializer(), new StringDeserializer(), "in");
    t.addProcessor("write", Writer::new, "in");
    t.addStateStore(DecodedCacheStore.of(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(STORE),
        Serdes.String(), boxes), b -> BOX_BYTES), "write");
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "cache-test");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    return new TopologyTestDriver(t, p);
  }

  private List<KeyValue<String, String>> changelog(TopologyTestDriver d) {
    return d.createOutputTopic(CHANGELOG, new StringDeserializer(), new StringDeserializer()).readKeyValuesToList();
  }

  @Test
  void aCommitWritesEachChangedKeyOnceWithItsLastValue() {
    try (TopologyTestDriver d = driver()) {
      var in = d.createInputTopic("in", new StringSerializer(), new StringSerializer());
      in.pipeInput("a", "100");
      in.pipeInput("b", "3");
      assertThat(changelog(d)).containsExactly(KeyValue.pair("a", "a:100"), KeyValue.pair("b", "b:3"));
      assertThat(encodes).as("one encode per key per commit, not per put").hasValue(2);
      assertThat(observed).as("every get right after a put hands back the object put").isEmpty();
      assertThat(decodes).hasValue(0);

      in.pipeInput("a", "2");
      assertThat(changelog(d)).containsExactly(KeyValue.pair("a", "a:2"));
      // the driver's store is the one the processor wrote: its values read back through it
      KeyValueStore<String, Box> store = d.getKeyValueStore(STORE);
      assertThat(store.get("a").text()).isEqualTo("a:2");
      assertThat(store.get("b").text()).isEqualTo("b:3");
    }
  }

  @Test
  void aKeyPushedOutOfTheCacheWasWrittenDownAndReadsBack() {
    try (TopologyTestDriver d = driver()) {
      var in = d.createInputTopic("in", new StringSerializer(), new StringSerializer());
      in.pipeInput("k", "1");
      assertThat(changelog(d)).containsExactly(KeyValue.pair("k", "k:1"));
      int before = decodes.get();
      in.pipeInput("k", "fill:" + (CAPACITY + 10));
      assertThat(observed).containsExactly("after fill k = k:f");
      assertThat(decodes.get() - before).as("k came back from the store below").isEqualTo(1);
      List<KeyValue<String, String>> written = changelog(d);
      assertThat(written).as("each key once, k first: written when pushed out, before the commit")
          .hasSize(1 + CAPACITY + 10).startsWith(KeyValue.pair("k", "k:f"));
    }
  }

  @Test
  void aKeyDeletedBeforeItsCommitIsATombstoneAndStaysGone() {
    try (TopologyTestDriver d = driver()) {
      var in = d.createInputTopic("in", new StringSerializer(), new StringSerializer());
      in.pipeInput("a", "1");
      assertThat(changelog(d)).containsExactly(KeyValue.pair("a", "a:1"));
      in.pipeInput("a", "del");
      assertThat(observed).containsExactly("after del a = null");
      assertThat(changelog(d)).containsExactly(KeyValue.pair("a", null));
      in.pipeInput("b", "1");
      assertThat(changelog(d)).as("the deleted value never comes back").containsExactly(KeyValue.pair("b", "b:1"));
      assertThat(d.<String, Box>getKeyValueStore(STORE).get("a")).isNull();
    }
  }

  @Test
  void anAllReadSeesTheValuesNotYetCommitted() {
    try (TopologyTestDriver d = driver()) {
      var in = d.createInputTopic("in", new StringSerializer(), new StringSerializer());
      in.pipeInput("x", "4");
      KeyValueStore<String, Box> store = d.getKeyValueStore(STORE);
      store.put("y", new Box("y:1"));
      List<String> all = new java.util.ArrayList<>();
      try (var it = store.all()) {
        it.forEachRemaining(kv -> all.add(kv.key + "=" + kv.value.text()));
      }
      assertThat(all).containsExactly("x=x:4", "y=y:1");
    }
  }

  /**
   * Streams restores a timestamped store's changelog (value, record timestamp) into its timestamped
   * layout only when it sees the store is one, through the layers over it: a restored job spec was
   * garbage before this cache became a wrapped store (EstimatorBrokerTest's restart on an empty
   * state directory caught it).
   */
  @Test
  void streamsSeesTheStoreBelowThroughIt() {
    var timestamped = DecodedCacheStore.of(Stores.timestampedKeyValueStoreBuilder(
        Stores.persistentTimestampedKeyValueStore("t"), Serdes.String(), Serdes.String()), v -> 1).build();
    var plain = DecodedCacheStore.of(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore("p"),
        Serdes.String(), Serdes.String()), v -> 1).build();
    assertThat(WrappedStateStore.isTimestamped(timestamped)).isTrue();
    assertThat(WrappedStateStore.isTimestamped(plain)).isFalse();
  }
}
