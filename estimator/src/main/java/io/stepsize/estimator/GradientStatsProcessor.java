package io.stepsize.estimator;

import com.google.protobuf.InvalidProtocolBufferException;
import io.stepsize.proto.v1.GradientStatsTimeline;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.proto.v1.ReportProbesRequest;
import io.stepsize.wire.GradientStatsTimelines;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Gradient-statistics reports in (valid, their job known and the step within it:
 * {@link CurvatureProcessor} checked them), {@code stepsize.gradient-stats} records out. A job's record
 * holds its whole timeline ({@link GradientStatsTimelines}) and is written as {@link TimelineProcessor}
 * writes curvature job records: by a wall-clock punctuation, at most once per emit interval for every
 * job with reports since the last, so a trainer reporting every step costs one record per interval.
 *
 * <p>The reports since a job's last record wait in a store of their own ({@code pendingStoreName}),
 * and are folded into its timeline ({@code storeName}) when the record is written. A report thus
 * rewrites only the job's short list of waiting reports, not its timeline of up to 4,096 points (which
 * cost O(timeline) per report: docs/BENCHMARKS.md §11). Both stores are written in the transaction
 * of the report, so after a crash the restored waiting reports say which records were never written,
 * and {@link #init} picks them up. (A timeline state marked dirty, the layout before the waiting store,
 * is written out the same way.)
 */
final class GradientStatsProcessor implements Processor<String, ProbeReport, String, GradientStatsTimeline> {
  private final String storeName;
  private final String pendingStoreName;
  private final Duration emitInterval;
  private ProcessorContext<String, GradientStatsTimeline> context;
  private KeyValueStore<String, State> store;
  private KeyValueStore<String, ReportProbesRequest> waiting;
  /** Jobs whose record is pending, and the newest report's timestamp. */
  private final Map<String, Long> pending = new LinkedHashMap<>();

  /** A job's timeline in the store, and whether its record on the topic is older than it. */
  record State(GradientStatsTimeline timeline, boolean dirty) {}

  GradientStatsProcessor(String storeName, String pendingStoreName, Duration emitInterval) {
    this.storeName = storeName;
    this.pendingStoreName = pendingStoreName;
    this.emitInterval = emitInterval;
  }

  @Override
  public void init(ProcessorContext<String, GradientStatsTimeline> context) {
    this.context = context;
    this.store = context.getStateStore(storeName);
    this.waiting = context.getStateStore(pendingStoreName);
    long now = context.currentSystemTimeMs();
    try (KeyValueIterator<String, ReportProbesRequest> all = waiting.all()) {
      while (all.hasNext()) {
        pending.put(all.next().key, now);
      }
    }
    try (KeyValueIterator<String, State> all = store.all()) {
      while (all.hasNext()) {
        KeyValue<String, State> kv = all.next();
        if (kv.value != null && kv.value.dirty()) {
          pending.put(kv.key, now);
        }
      }
    }
    context.schedule(emitInterval, PunctuationType.WALL_CLOCK_TIME, this::emitPending);
  }

  @Override
  public void process(Record<String, ProbeReport> report) {
    String jobId = report.key();
    ReportProbesRequest before = waiting.get(jobId);
    waiting.put(jobId, (before == null ? ReportProbesRequest.newBuilder() : before.toBuilder())
        .addProbes(report.value()).build());
    pending.put(jobId, report.timestamp());
  }

  private void emitPending(long now) {
    for (Map.Entry<String, Long> e : pending.entrySet()) {
      String jobId = e.getKey();
      State before = store.get(jobId);
      GradientStatsTimeline t = before == null ? GradientStatsTimelines.empty(jobId) : before.timeline();
      ReportProbesRequest reports = waiting.get(jobId);
      if (reports != null) {
        t = GradientStatsTimelines.addAll(t, reports.getProbesList());
        waiting.delete(jobId);
      }
      // the newest report's timestamp, as a record from the report itself would carry
      context.forward(new Record<>(jobId, t, e.getValue()));
      store.put(jobId, new State(t, false));
    }
    pending.clear();
  }

  /** The waiting store's bytes: a version byte (1), then the reports as one ReportProbesRequest. */
  static Serde<ReportProbesRequest> pendingSerde() {
    byte version = 1;
    String what = "gradient-stats reports";
    return StateBytes.serde(r -> {
      byte[] proto = r.toByteArray();
      return ByteBuffer.allocate(1 + proto.length).put(version).put(proto).array();
    }, bytes -> {
      ByteBuffer b = StateBytes.open(bytes, what, version);
      try {
        return ReportProbesRequest.parseFrom(b);
      } catch (InvalidProtocolBufferException e) {
        throw new SerializationException(what + ": not a ReportProbesRequest (" + bytes.length + " bytes)", e);
      }
    });
  }

  /**
   * The store's bytes: a version byte (1), the dirty flag (0 or 1), then the timeline's protobuf,
   * the record's own layout, so that writing the record costs no conversion.
   */
  static Serde<State> serde() {
    byte version = 1;
    String what = "gradient-stats state";
    return StateBytes.<State>serde(s -> {
      byte[] proto = s.timeline().toByteArray();
      return ByteBuffer.allocate(2 + proto.length).put(version).put(s.dirty() ? (byte) 1 : (byte) 0).put(proto).array();
    }, bytes -> {
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
