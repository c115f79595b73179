package io.stepsize.estimator;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Probes that arrived before their job (DESIGN.md §4): kept in the task's {@code parked-probes}
 * store in arrival order, bounded per job and per task, handed back in that order when the job
 * arrives, and handed out as expired once they waited longer than the grace period.
 *
 * <p>Store key: the job id's UTF-8 length (int), its bytes, then an arrival sequence number (long),
 * big-endian, so one job's probes form one contiguous range in arrival order. Value: see
 * {@link #encode}. What is parked is rebuilt from the store when the task starts, so a restart or a
 * task moving to another instance keeps the probes, their order and their deadlines.
 */
final class ProbeParking {
  /** Properties that set {@link Settings}; absent ones take the defaults. */
  static final String GRACE_MS_CONFIG = "stepsize.estimator.park.grace.ms";
  static final String MAX_PER_JOB_CONFIG = "stepsize.estimator.park.max.per.job";
  static final String MAX_PER_TASK_CONFIG = "stepsize.estimator.park.max.per.task";

  /**
   * How long and how many probes wait for their job.
   *
   * @param grace how long a probe waits for its job before it is dead-lettered
   * @param maxPerJob probes of one unknown job that may wait; a further one is dead-lettered
   * @param maxPerTask probes that may wait in one task (one partition) in all
   */
  record Settings(Duration grace, int maxPerJob, int maxPerTask) {
    static final Settings DEFAULTS = new Settings(Duration.ofSeconds(60), 1_000, 100_000);

    Settings {
      if (grace.toMillis() < 1) {
        throw new IllegalArgumentException(GRACE_MS_CONFIG + ": must be >= 1 (got " + grace.toMillis() + ")");
      }
      if (maxPerJob < 1) {
        throw new IllegalArgumentException(MAX_PER_JOB_CONFIG + ": must be >= 1 (got " + maxPerJob + ")");
      }
      if (maxPerTask < 1) {
        throw new IllegalArgumentException(MAX_PER_TASK_CONFIG + ": must be >= 1 (got " + maxPerTask + ")");
      }
    }

    /** The settings in {@code config}, each absent one at its default. */
    static Settings from(Properties config) {
      return new Settings(Duration.ofMillis(number(config, GRACE_MS_CONFIG, DEFAULTS.grace.toMillis())),
          (int) number(config, MAX_PER_JOB_CONFIG, DEFAULTS.maxPerJob),
          (int) number(config, MAX_PER_TASK_CONFIG, DEFAULTS.maxPerTask));
    }

    private static long number(Properties config, String name, long defaultValue) {
      Object v = config.get(name);
      if (v == null) {
        return defaultValue;
      }
      try {
        long n = Long.parseLong(v.toString().trim());
        if (n > Integer.MAX_VALUE && !name.equals(GRACE_MS_CONFIG)) {
          throw new NumberFormatException();
        }
        return n;
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(name + ": must be a whole number (got '" + v + "')");
      }
    }

    /** The grace period as a person reads it: "60 s", "250 ms". */
    String graceText() {
      long ms = grace.toMillis();
      return ms % 1000 == 0 ? ms / 1000 + " s" : ms + " ms";
    }
  }

  /** A parked probe: the record as it reached the estimate step, and when it arrived (wall clock). */
  record Parked(String jobId, long arrivedMs, long timestamp, Headers headers, byte[] probe) {}

  private static final byte VERSION = 1;
  private static final String WHAT = "parked probe";

  /** One unknown job's waiting probes: how many, and the arrival time of the oldest. */
  private static final class Waiting {
    int count;
    long oldestArrivedMs;
  }

  private final KeyValueStore<Bytes, byte[]> store;
  private final Settings settings;
  private final Map<String, Waiting> waiting = new HashMap<>();
  private int total;
  private long nextSequence;

  ProbeParking(KeyValueStore<Bytes, byte[]> store, Settings settings) {
    this.store = store;
    this.settings = settings;
    try (KeyValueIterator<Bytes, byte[]> it = store.all()) {
      while (it.hasNext()) {
        KeyValue<Bytes, byte[]> e = it.next();
        ByteBuffer key = ByteBuffer.wrap(e.key.get());
        byte[] id = new byte[key.getInt()];
        key.get(id);
        nextSequence = Math.max(nextSequence, key.getLong() + 1);
        String jobId = new String(id, StandardCharsets.UTF_8);
        Waiting w = waiting.computeIfAbsent(jobId, j -> new Waiting());
        long arrived = decode(jobId, e.value).arrivedMs();
        // keys sort by job, then arrival: the first seen of a job is its oldest
        if (w.count++ == 0) {
          w.oldestArrivedMs = arrived;
        }
        total++;
      }
    }
  }

  Settings settings() {
    return settings;
  }

  /** Probes waiting in this task. */
  int total() {
    return total;
  }

  /** Whether probes of {@code jobId} wait. */
  boolean has(String jobId) {
    return waiting.containsKey(jobId);
  }

  /**
   * Parks a probe of {@code jobId}, or answers why it may not wait: a bound is reached, and the
   * newest probe is the one turned away, so the waiting ones keep their order without a gap.
   */
  Optional<String> park(Parked p) {
    Waiting w = waiting.get(p.jobId());
    int ofJob = w == null ? 0 : w.count;
    if (ofJob >= settings.maxPerJob) {
      return Optional.of("job_id: no job '" + p.jobId() + "' has arrived, and " + ofJob
          + " of its probes already wait for it (at most " + settings.maxPerJob + " per job)");
    }
    if (total >= settings.maxPerTask) {
      return Optional.of("job_id: no job '" + p.jobId() + "' has arrived, and " + total
          + " probes already wait for their jobs in this task (at most " + settings.maxPerTask + " per task)");
    }
    store.put(key(p.jobId(), nextSequence++), encode(p));
    if (w == null) {
      w = new Waiting();
      w.oldestArrivedMs = p.arrivedMs();
      waiting.put(p.jobId(), w);
    }
    w.count++;
    total++;
    return Optional.empty();
  }

  /** Every probe of {@code jobId} in arrival order, removed from the store. */
  List<Parked> release(String jobId) {
    if (!waiting.containsKey(jobId)) {
      return List.of();
    }
    return take(jobId, Long.MAX_VALUE);
  }

  /** Every probe that has waited at least the grace period at {@code nowMs}, removed from the store. */
  List<Parked> expired(long nowMs) {
    long arrivedBy = nowMs - settings.grace.toMillis();
    List<String> due = new ArrayList<>();
    for (Map.Entry<String, Waiting> e : waiting.entrySet()) {
      if (e.getValue().oldestArrivedMs <= arrivedBy) {
        due.add(e.getKey());
      }
    }
    List<Parked> out = new ArrayList<>();
    for (String jobId : due) {
      out.addAll(take(jobId, arrivedBy));
    }
    return out;
  }

  /** The probes of {@code jobId} from the oldest on that arrived at or before {@code arrivedBy}. */
  private List<Parked> take(String jobId, long arrivedBy) {
    Waiting w = waiting.get(jobId);
    List<Parked> out = new ArrayList<>();
    List<Bytes> done = new ArrayList<>();
    try (KeyValueIterator<Bytes, byte[]> it = store.range(key(jobId, 0), key(jobId, Long.MAX_VALUE))) {
      while (it.hasNext()) {
        KeyValue<Bytes, byte[]> e = it.next();
        Parked p = decode(jobId, e.value);
        if (p.arrivedMs() > arrivedBy) {
          w.oldestArrivedMs = p.arrivedMs();
          break;
        }
        out.add(p);
        done.add(e.key);
      }
    }
    done.forEach(store::delete);
    total -= done.size();
    w.count -= done.size();
    if (w.count == 0) {
      waiting.remove(jobId);
    }
    return out;
  }

  static Bytes key(String jobId, long sequence) {
    byte[] id = jobId.getBytes(StandardCharsets.UTF_8);
    return Bytes.wrap(ByteBuffer.allocate(Integer.BYTES + id.length + Long.BYTES).putInt(id.length).put(id)
        .putLong(sequence).array());
  }

  /**
   * <pre>
   * version     byte   {@link #VERSION}
   * arrivedMs   long   wall clock when it was parked
   * timestamp   long   the record's timestamp
   * headers     int count, then per header: name (int length, UTF-8), value (int length or -1 for null, bytes)
   * probe       int length, then the ProbeReport's bytes
   * </pre>
   */
  static byte[] encode(Parked p) {
    Header[] headers = p.headers().toArray();
    List<byte[]> names = new ArrayList<>(headers.length);
    int size = Byte.BYTES + 2 * Long.BYTES + Integer.BYTES + Integer.BYTES + p.probe().length;
    for (Header h : headers) {
      byte[] name = h.key().getBytes(StandardCharsets.UTF_8);
      names.add(name);
      size += 2 * Integer.BYTES + name.length + (h.value() == null ? 0 : h.value().length);
    }
    ByteBuffer b = ByteBuffer.allocate(size);
    b.put(VERSION).putLong(p.arrivedMs()).putLong(p.timestamp()).putInt(headers.length);
    for (int i = 0; i < headers.length; i++) {
      b.putInt(names.get(i).length).put(names.get(i));
      byte[] v = headers[i].value();
      b.putInt(v == null ? -1 : v.length);
      if (v != null) {
        b.put(v);
      }
    }
    b.putInt(p.probe().length).put(p.probe());
    return b.array();
  }

  static Parked decode(String jobId, byte[] bytes) {
    ByteBuffer b = StateBytes.open(bytes, WHAT, VERSION);
    try {
      long arrived = b.getLong();
      long timestamp = b.getLong();
      int n = StateBytes.count(b, WHAT, "header count", 2 * Integer.BYTES);
      Headers headers = new RecordHeaders();
      for (int i = 0; i < n; i++) {
        byte[] name = new byte[StateBytes.count(b, WHAT, "header name length", 1)];
        b.get(name);
        int len = b.getInt();
        byte[] value = null;
        if (len >= 0) {
          if (len > b.remaining()) {
            throw new SerializationException(WHAT + ": header value length " + len + " does not fit the "
                + b.remaining() + " bytes left (" + bytes.length + " bytes)");
          }
          value = new byte[len];
          b.get(value);
        }
        headers.add(new String(name, StandardCharsets.UTF_8), value);
      }
      byte[] probe = new byte[StateBytes.count(b, WHAT, "probe length", 1)];
      b.get(probe);
      StateBytes.end(b, WHAT);
      return new Parked(jobId, arrived, timestamp, headers, probe);
    } catch (BufferUnderflowException e) {
      throw StateBytes.truncated(bytes, WHAT, e);
    }
  }
}
