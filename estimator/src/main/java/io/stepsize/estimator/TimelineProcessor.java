package io.stepsize.estimator;

import io.stepsize.proto.v1.Curvature;
import io.stepsize.wire.CurvatureRecords;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Estimates in, {@code stepsize.curvature} records out ({@link CurvatureRecords}). A segment that
 * an estimate closes is written at once, with the tombstone of the segment that leaves the
 * retained window; the job record (latest estimate and open segment) is written by a wall-clock
 * punctuation for every job changed since the last one, so a job probed a hundred times between
 * two punctuations costs one record, not a hundred.
 *
 * <p>Whether a job record is pending lives in the state itself ({@link Timeline#dirty}), written in
 * the same transaction as the estimate: after a crash, the restored state still says which job
 * records were never written, and {@link #init} picks them up.
 */
final class TimelineProcessor implements Processor<String, Curvature, String, Curvature> {
  private final String storeName;
  private final String pointsStoreName;
  private final Duration emitInterval;
  private KeyValueStore<String, byte[]> points;
  private ProcessorContext<String, Curvature> context;
  private KeyValueStore<String, Timeline> store;
  /** Jobs whose record is pending: their state as last written, and the newest estimate's timestamp. */
  private final Map<String, Pending> pending = new LinkedHashMap<>();

  private record Pending(Timeline timeline, long timestamp) {}

  /** {@code pointsStoreName}: where closed segments' points are kept for the edge ratio ({@link EarlierPoints}); null: not kept. */
  TimelineProcessor(String storeName, String pointsStoreName, Duration emitInterval) {
    this.storeName = storeName;
    this.pointsStoreName = pointsStoreName;
    this.emitInterval = emitInterval;
  }

  @Override
  public void init(ProcessorContext<String, Curvature> context) {
    this.context = context;
    this.store = context.getStateStore(storeName);
    this.points = pointsStoreName == null ? null : context.getStateStore(pointsStoreName);
    try (KeyValueIterator<String, Timeline> all = store.all()) {
      while (all.hasNext()) {
        KeyValue<String, Timeline> kv = all.next();
        if (kv.value != null && kv.value.dirty()) {
          pending.put(kv.key, new Pending(kv.value, context.currentSystemTimeMs()));
        }
      }
    }
    context.schedule(emitInterval, PunctuationType.WALL_CLOCK_TIME, this::emitPending);
  }

  @Override
  public void process(Record<String, Curvature> estimate) {
    String jobId = estimate.key();
    Timeline before = store.get(jobId);
    Timeline.Added added = (before == null ? Timeline.empty() : before).add(jobId, estimate.value());
    if (added.closed() != null) {
      long index = added.timeline().openIndex() - 1;
      long dropped = index - CurvatureRecords.RETAINED_SEGMENTS;
      if (dropped >= 0) {
        context.forward(estimate.withKey(CurvatureRecords.segmentKey(jobId, dropped)).withValue(null));
      }
      context.forward(estimate.withKey(CurvatureRecords.segmentKey(jobId, index)).withValue(added.closed()));
      if (points != null) {
        EarlierPoints.close(points, jobId, index, before.openSegment());
      }
    }
    store.put(jobId, added.timeline());
    pending.put(jobId, new Pending(added.timeline(), estimate.timestamp()));
  }

  /** Writes the record of every job changed since the last call, and marks each written. */
  private void emitPending(long now) {
    for (Map.Entry<String, Pending> e : pending.entrySet()) {
      String jobId = e.getKey();
      Timeline t = e.getValue().timeline();
      // the newest estimate's timestamp, as a record from the estimate itself would carry
      context.forward(new Record<>(jobId, t.jobRecord(jobId), e.getValue().timestamp()));
      store.put(jobId, t.withDirty(false));
    }
    pending.clear();
  }
}
