package io.stepsize.estimator;

import com.google.protobuf.InvalidProtocolBufferException;
import io.stepsize.proto.v1.GradientStatsTimeline;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.wire.GradientStatsTimelines;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Gradient-statistics reports in (valid, their job known and the step within it:
 * {@link CurvatureProcessor} checked them), {@code stepsize.gradient-stats} records out. Each report
 * goes into its job's timeline by {@link GradientStatsTimelines#add}; the job's record (its whole
 * timeline) is written as {@link TimelineProcessor} writes curvature job records: by a wall-clock
 * punctuation, at most once per emit interval for every job changed since the last, so a trainer
 * reporting every step costs one record per interval, not one per step.
 *
 * <p>Whether a job's record is pending is kept in the state ({@link State#dirty}), written in the
 * same transaction as the report: after a crash the restored state says which records were never
 * written, and {@link #init} picks them up.
 */
final class GradientStatsProcessor implements Processor<String, ProbeReport, String, GradientStatsTimeline> {
  private final String storeName;
  private final Duration emitInterval;
  private ProcessorContext<String, GradientStatsTimeline> context;
  private KeyValueStore<String, State> store;
  private final Map<String, Pending> pending = new LinkedHashMap<>();

  private record Pending(GradientStatsTimeline timeline, long timestamp) {}

  /** A job's timeline in the store, and whether its record on the topic is older than it. */
  record State(GradientStatsTimeline timeline, boolean dirty) {}

  GradientStatsProcessor(String storeName, Duration emitInterval) {
    this.storeName = storeName;
    this.emitInterval = emitInterval;
  }

  @Override
  public void init(ProcessorContext<String, GradientStatsTimeline> context) {
    this.context = context;
    this.store = context.getStateStore(storeName);
    try (KeyValueIterator<String, State> all = store.all()) {
      while (all.hasNext()) {
        KeyValue<String, State> kv = all.next();
        if (kv.value != null && kv.value.dirty()) {
          pending.put(kv.key, new Pending(kv.value.timeline(), context.currentSystemTimeMs()));
        }
      }
    }
    context.schedule(emitInterval, PunctuationType.WALL_CLOCK_TIME, this::emitPending);
  }

  @Override
  public void process(Record<String, ProbeReport> report) {
    String jobId = report.key();
    // a job written to since the last emit has its timeline here, decoded: the store would decode it again
    Pending waiting = pending.get(jobId);
    GradientStatsTimeline previous;
    if (waiting != null) {
      previous = waiting.timeline();
    } else {
      State before = store.get(jobId);
      previous = before == null ? GradientStatsTimelines.empty(jobId) : before.timeline();
    }
    GradientStatsTimeline t = GradientStatsTimelines.add(previous, report.value().getStep(),
        report.value().getGradient());
    store.put(jobId, new State(t, true));
    pending.put(jobId, new Pending(t, report.timestamp()));
  }

  private void emitPending(long now) {
    for (Map.Entry<String, Pending> e : pending.entrySet()) {
      GradientStatsTimeline t = e.getValue().timeline();
      // the newest report's timestamp, as a record from the report itself would carry
      context.forward(new Record<>(e.getKey(), t, e.getValue().timestamp()));
      store.put(e.getKey(), new State(t, false));
    }
    pending.clear();
  }

  /**
   * The store's bytes: a version byte (1), the dirty flag (0 or 1), then the timeline's protobuf,
   * the record's own layout, so that writing the record costs no conversion.
   */
  static Serde<State> serde() {
    byte version = 1;
    String what = "gradient-stats state";
    return Serdes.serdeFrom((topic, s) -> {
      if (s == null) {
        return null;
      }
      byte[] proto = s.timeline().toByteArray();
      return ByteBuffer.allocate(2 + proto.length).put(version).put(s.dirty() ? (byte) 1 : (byte) 0).put(proto).array();
    }, (topic, bytes) -> {
      if (bytes == null) {
        return null;
      }
      ByteBuffer b = StateBytes.open(bytes, what, version);
      if (!b.hasRemaining()) {
        throw new SerializationException(what + ": no dirty flag (" + bytes.length + " bytes)");
      }
      boolean dirty = b.get() != 0;
      try {
        return new State(GradientStatsTimeline.parseFrom(b), dirty);
      } catch (InvalidProtocolBufferException e) {
        throw new SerializationException(what + ": not a GradientStatsTimeline (" + bytes.length + " bytes)", e);
      }
    });
  }
}
