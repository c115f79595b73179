package io.stepsize.estimator;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.StateStore;
import org.apache.kafka.streams.processor.StateStoreContext;
import org.apache.kafka.streams.query.PositionBound;
import org.apache.kafka.streams.query.Query;
import org.apache.kafka.streams.query.QueryConfig;
import org.apache.kafka.streams.query.QueryResult;
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
 * the changelog. At most {@link #MAX_ENTRIES} keys are held; the least recently used one is written
 * down first if it was changed. Range reads write every change down before they read.
 *
 * <p>The values must be immutable: the object put is the one every later get returns and the one
 * encoded at the commit.
 */
final class DecodedCacheStore<V> extends WrappedStateStore<KeyValueStore<String, V>, String, V>
    implements KeyValueStore<String, V> {
  /**
   * Keys held per store and task: the jobs a task estimates at once. A job's state, timeline or spec
   * is a few KiB at m = 20 (its open segment, its step's probes), so some MiB per task.
   */
  static final int MAX_ENTRIES = 1024;

  private final KeyValueStore<String, V> inner;
  private final Map<String, Entry<V>> entries = new LinkedHashMap<>(64, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Entry<V>> eldest) {
      if (size() <= MAX_ENTRIES) {
        return false;
      }
      if (eldest.getValue().dirty) {
        inner.put(eldest.getKey(), eldest.getValue().value);
      }
      return true;
    }
  };

  private static final class Entry<V> {
    final V value;
    boolean dirty;

    Entry(V value, boolean dirty) {
      this.value = value;
      this.dirty = dirty;
    }
  }

  private DecodedCacheStore(KeyValueStore<String, V> inner) {
    super(inner);
    this.inner = inner;
  }

  /**
   * {@code builder}'s store under this cache; Streams' own caching is turned off below it, as this
   * cache replaces that one.
   */
  static <V> StoreBuilder<KeyValueStore<String, V>> of(StoreBuilder<? extends KeyValueStore<String, V>> builder) {
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
        return new DecodedCacheStore<>(builder.withCachingDisabled().build());
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
    entries.put(key, new Entry<>(value, true));
  }

  @Override
  public V get(String key) {
    Entry<V> e = entries.get(key);
    if (e != null) {
      return e.value;
    }
    V value = inner.get(key);
    if (value != null) {
      entries.put(key, new Entry<>(value, false));
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

  @Override
  public V delete(String key) {
    V old = get(key);
    entries.remove(key);
    inner.delete(key);
    return old;
  }

  /** Writes every changed value down; they stay held, unchanged. */
  @Override
  public void flushCache() {
    for (Map.Entry<String, Entry<V>> e : entries.entrySet()) {
      if (e.getValue().dirty) {
        inner.put(e.getKey(), e.getValue().value);
        e.getValue().dirty = false;
      }
    }
    super.flushCache();
  }

  @Override
  public void clearCache() {
    entries.clear();
    super.clearCache();
  }

  @Override
  public KeyValueIterator<String, V> range(String from, String to) {
    flushCache();
    return inner.range(from, to);
  }

  @Override
  public KeyValueIterator<String, V> reverseRange(String from, String to) {
    flushCache();
    return inner.reverseRange(from, to);
  }

  @Override
  public KeyValueIterator<String, V> all() {
    flushCache();
    return inner.all();
  }

  @Override
  public KeyValueIterator<String, V> reverseAll() {
    flushCache();
    return inner.reverseAll();
  }

  @Override
  public long approximateNumEntries() {
    return inner.approximateNumEntries();
  }

  @Override
  public void init(StateStoreContext context, StateStore root) {
    entries.clear();
    super.init(context, root);
  }

  @Override
  public void flush() {
    flushCache();
    inner.flush();
  }

  /** A closed store keeps nothing: a clean close has flushed, a dirty one is restored from its changelog. */
  @Override
  public void close() {
    entries.clear();
    super.close();
  }

  @Override
  public <R> QueryResult<R> query(Query<R> query, PositionBound positionBound, QueryConfig config) {
    flushCache();
    return super.query(query, positionBound, config);
  }
}
