package io.stepsize.estimator;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToLongFunction;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.StateStore;
import org.apache.kafka.streams.processor.StateStoreContext;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.internals.CachedStateStore;
import org.apache.kafka.streams.state.internals.WrappedStateStore;

/**
 * A key-value store's record cache that holds values as objects, not bytes. Kafka Streams' own cache
 * serializes every put: a job's state and timeline are rewritten by every probe, and each rewrite
 * encoded the whole value (its open timeline segment, up to 64 points) only for the next probe's get
 * to hand it back. Here a put keeps the object; the value is encoded and written to the store below
 * (changelog and RocksDB) when Streams flushes caches before a commit, as its own cache is, so the
 * changelog of a commit holds the same values, and one write per key per commit instead of one per
 * put (docs/BENCHMARKS.md §12).
 *
 * <p>Streams flushes the caches of stores that are {@link CachedStateStore}s in a task's commit
 * before its producer flushes and its transaction commits (an internal interface: the only hook a
 * store has there). It is a {@link WrappedStateStore}, as Streams' own layers are, so that Streams
 * sees through it to the store's format (a timestamped store's changelog restores with its
 * timestamps). A task closed dirty (a crash, an aborted transaction) closes its stores: what
 * was not flushed is dropped with the transaction it belonged to, and the store is restored from
 * the changelog. At most {@link #MAX_BYTES} of values (as encoded) are held; the least recently
 * used ones are written down first if they were changed. Range reads write every change down
 * before they read. Interactive queries, which come from other threads than the task's, go to the
 * store below as {@link WrappedStateStore} sends them: they see the last commit and never touch the
 * cache (no estimator store is queried).
 *
 * <p>The values must be immutable: the object put is the one every later get returns and the one
 * encoded at the commit.
 */
final class DecodedCacheStore<V> extends WrappedStateStore<KeyValueStore<String, V>, String, V>
    implements KeyValueStore<String, V> {
  /**
   * Bytes of values held per store and task, counted as encoded: the jobs a task estimates at once
   * (a job's state or timeline is a few KiB at m = 20: its open segment, its step's probes). The
   * objects take some times that on the heap.
   */
  static final long MAX_BYTES = 4L << 20;

  private final ToLongFunction<V> weight;
  /** Least recently used first. */
  private final LinkedHashMap<String, Entry<V>> entries = new LinkedHashMap<>(64, 0.75f, true);
  private long bytes;

  private static final class Entry<V> {
    final V value;
    final long bytes;
    boolean dirty;

    Entry(V value, long bytes, boolean dirty) {
      this.value = value;
      this.bytes = bytes;
      this.dirty = dirty;
    }
  }

  private DecodedCacheStore(KeyValueStore<String, V> inner, ToLongFunction<V> weight) {
    super(inner);
    this.weight = weight;
  }

  /**
   * {@code builder}'s store under this cache; Streams' own caching is turned off below it, as this
   * cache replaces that one. {@code weight}: a value's size as encoded, or near it.
   */
  static <V> StoreBuilder<KeyValueStore<String, V>> of(StoreBuilder<? extends KeyValueStore<String, V>> builder,
      ToLongFunction<V> weight) {
    return new StoreBuilder<>() {
      @Override
      public StoreBuilder<KeyValueStore<String, V>> withCachingEnabled() {
        throw new UnsupportedOperationException("a DecodedCacheStore is the store's cache");
      }

      @Override
      public StoreBuilder<KeyValueStore<String, V>> withCachingDisabled() {
        builder.withCachingDisabled();
        return this;
      }

      @Override
      public StoreBuilder<KeyValueStore<String, V>> withLoggingEnabled(Map<String, String> config) {
        builder.withLoggingEnabled(config);
        return this;
      }

      @Override
      public StoreBuilder<KeyValueStore<String, V>> withLoggingDisabled() {
        builder.withLoggingDisabled();
        return this;
      }

      @Override
      public KeyValueStore<String, V> build() {
        return new DecodedCacheStore<>(builder.withCachingDisabled().build(), weight);
      }

      @Override
      public Map<String, String> logConfig() {
        return builder.logConfig();
      }

      @Override
      public boolean loggingEnabled() {
        return builder.loggingEnabled();
      }

      @Override
      public String name() {
        return builder.name();
      }
    };
  }

  @Override
  public void put(String key, V value) {
    if (value == null) {
      delete(key);
      return;
    }
    hold(key, value, true);
  }

  private void hold(String key, V value, boolean dirty) {
    Entry<V> e = new Entry<>(value, weight.applyAsLong(value), dirty);
    Entry<V> old = entries.put(key, e);
    bytes += e.bytes - (old == null ? 0 : old.bytes);
    if (bytes <= MAX_BYTES) {
      return;
    }
    Iterator<Map.Entry<String, Entry<V>>> eldest = entries.entrySet().iterator();
    while (bytes > MAX_BYTES && entries.size() > 1) {
      Map.Entry<String, Entry<V>> out = eldest.next();
      if (out.getValue().dirty) {
        wrapped().put(out.getKey(), out.getValue().value);
      }
      bytes -= out.getValue().bytes;
      eldest.remove();
    }
  }

  @Override
  public V get(String key) {
    Entry<V> e = entries.get(key);
    if (e != null) {
      return e.value;
    }
    V value = wrapped().get(key);
    if (value != null) {
      hold(key, value, false);
    }
    return value;
  }

  @Override
  public V putIfAbsent(String key, V value) {
    V old = get(key);
    if (old == null) {
      put(key, value);
    }
    return old;
  }

  @Override
  public void putAll(List<KeyValue<String, V>> all) {
    for (KeyValue<String, V> kv : all) {
      put(kv.key, kv.value);
    }
  }

  /** The value held, else the one below: the store below reads its own old value as it deletes. */
  @Override
  public V delete(String key) {
    Entry<V> held = entries.remove(key);
    V below = wrapped().delete(key);
    if (held == null) {
      return below;
    }
    bytes -= held.bytes;
    return held.value;
  }

  /** Writes every changed value down; they stay held, unchanged. */
  @Override
  public void flushCache() {
    for (Map.Entry<String, Entry<V>> e : entries.entrySet()) {
      if (e.getValue().dirty) {
        wrapped().put(e.getKey(), e.getValue().value);
        e.getValue().dirty = false;
      }
    }
    super.flushCache();
  }

  @Override
  public void clearCache() {
    forgetAll();
    super.clearCache();
  }

  @Override
  public KeyValueIterator<String, V> range(String from, String to) {
    flushCache();
    return wrapped().range(from, to);
  }

  @Override
  public KeyValueIterator<String, V> reverseRange(String from, String to) {
    flushCache();
    return wrapped().reverseRange(from, to);
  }

  @Override
  public KeyValueIterator<String, V> all() {
    flushCache();
    return wrapped().all();
  }

  @Override
  public KeyValueIterator<String, V> reverseAll() {
    flushCache();
    return wrapped().reverseAll();
  }

  @Override
  public long approximateNumEntries() {
    return wrapped().approximateNumEntries();
  }

  @Override
  public void init(StateStoreContext context, StateStore root) {
    forgetAll();
    super.init(context, root);
  }

  private void forgetAll() {
    entries.clear();
    bytes = 0;
  }

  /**
   * Streams' commit of the store's changelog offsets, after the transaction: nothing is left to
   * write then, unless a value was put outside processing (a processor's init); written as Streams'
   * own cache writes it, rather than dropped.
   */
  @Override
  public void commit(Map<TopicPartition, Long> changelogOffsets) {
    flushCache();
    super.commit(changelogOffsets);
  }

  /** A closed store keeps nothing: a clean close has flushed, a dirty one is restored from its changelog. */
  @Override
  public void close() {
    forgetAll();
    super.close();
  }
}
