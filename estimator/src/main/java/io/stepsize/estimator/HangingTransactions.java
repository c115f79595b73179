package io.stepsize.estimator;

import io.stepsize.wire.Topics;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.AbortTransactionSpec;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.ListTransactionsOptions;
import org.apache.kafka.clients.admin.DescribeProducersResult.PartitionProducerState;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ApiException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TransactionalIdNotFoundException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.internals.Topic;
import org.apache.kafka.common.utils.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the estimator's hanging transactions before Kafka Streams starts and closes them (issue
 * 12, item 3): with the COMMIT marker their coordinator would have written when it committed
 * exactly that producer epoch, else with Admin's abort.
 *
 * <p>A transaction hangs when a partition holds an open transaction that no coordinator will ever
 * close: its producer id is unknown to every coordinator, or the coordinator of its transactional
 * id has already moved on (Empty, CompleteCommit, CompleteAbort, or a newer producer epoch, or an
 * Ongoing transaction that does not list the partition). Markers are written before a coordinator
 * leaves PrepareCommit/PrepareAbort, so an open transaction that is still there after the
 * coordinator was seen past that point can only be closed by hand. Such a transaction pins the
 * partition's last stable offset: read_committed readers (the views, changelog restores) stop
 * there, and on {@code __consumer_offsets} its pending offsets make every offset fetch of the
 * group answer UNSTABLE_OFFSET_COMMIT, so Streams stays REBALANCING for good. That was seen after
 * SIGKILL and after an OutOfMemoryError of an embedded node.
 *
 * <p>Only partitions the estimator writes are looked at: its output topics, its internal topics
 * ({@code <application id>-…}) and the {@code __consumer_offsets} partition of its group. A known
 * transactional id must belong to this application ({@code <application id>-…}); an unknown
 * producer id on those partitions cannot belong to a live producer (a transactional producer is
 * registered with its coordinator before it writes anything).
 *
 * <p>A transaction whose coordinator is still working on it (Ongoing with this partition, or in a
 * Prepare state) is left alone: the coordinator closes it, at the latest after the transaction
 * timeout.
 */
public final class HangingTransactions {
  private static final Logger log = LoggerFactory.getLogger(HangingTransactions.class);
  /** How long the scan may wait for coordinators that are still loading after a restart. */
  static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

  /** What was done to a hanging transaction. */
  public enum Action { ABORTED, COMMITTED }

  /**
   * One hanging transaction, why it was judged hanging and what was done. {@code committed}: its
   * coordinator committed exactly this producer id and epoch, so the marker it lacks is COMMIT.
   */
  public record Hang(TopicPartition partition, long producerId, int producerEpoch, long startOffset,
      String transactionalId, TransactionState coordinatorState, String reason, boolean committed, Action action) {
    Hang withAction(Action a) {
      return new Hang(partition, producerId, producerEpoch, startOffset, transactionalId, coordinatorState, reason,
          committed, a);
    }

    @Override
    public String toString() {
      return partition + " producer " + producerId + "/" + producerEpoch + " open since offset " + startOffset
          + (transactionalId == null ? "" : " (" + transactionalId + ", coordinator " + coordinatorState + ")")
          + ": " + reason;
    }
  }

  private record Open(TopicPartition partition, long producerId, int producerEpoch, long startOffset,
      int coordinatorEpoch) {
    Open withoutCoordinatorEpoch() {
      return new Open(partition, producerId, producerEpoch, startOffset, 0);
    }
  }

  private final Admin admin;
  private final Topics topics;
  private final String applicationId;
  private final Duration timeout;
  private final boolean plaintext;
  private final Map<TopicPartition, Node> leaders = new HashMap<>();

  HangingTransactions(Admin admin, Topics topics, String applicationId, Duration timeout, boolean plaintext) {
    this.admin = admin;
    this.plaintext = plaintext;
    this.topics = topics;
    this.applicationId = applicationId;
    this.timeout = timeout;
  }

  /**
   * Closes every hanging transaction on the estimator's partitions, logging each, and returns them:
   * with the COMMIT marker when its coordinator committed it and the brokers speak plaintext (see
   * {@link CommitMarker}), else with Admin's abort.
   *
   * @param plaintext whether the brokers are reached without TLS or SASL (the commit needs it)
   * @throws IllegalStateException when the brokers could not be asked within the timeout
   */
  public static List<Hang> closeHanging(Admin admin, Topics topics, String applicationId, boolean plaintext) {
    return new HangingTransactions(admin, topics, applicationId, DEFAULT_TIMEOUT, plaintext).closeHanging();
  }

  List<Hang> closeHanging() {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      try {
        return scanAndAbort();
      } catch (RetriableException e) {
        // coordinators load their logs after a restart: ask again until they answer
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("hanging transactions: brokers did not answer within " + timeout, e);
        }
        log.debug("hanging transactions: retrying after {}", e.toString());
        sleep(500);
      }
    }
  }

  private List<Hang> scanAndAbort() {
    List<TopicPartition> partitions = partitions();
    List<Open> open = openTransactions(partitions);
    if (open.isEmpty()) {
      return List.of();
    }
    awaitCoordinatorsLoaded();
    Set<Long> producerIds = new HashSet<>();
    open.forEach(o -> producerIds.add(o.producerId()));
    Map<Long, String> idOf = new HashMap<>();
    for (TransactionListing l : get(admin.listTransactions(new ListTransactionsOptions().filterProducerIds(producerIds))
        .all())) {
      idOf.put(l.producerId(), l.transactionalId());
    }
    Map<String, TransactionDescription> described = describe(new HashSet<>(idOf.values()));

    List<Hang> candidates = new ArrayList<>();
    for (Open o : open) {
      String txnId = idOf.get(o.producerId());
      TransactionDescription d = txnId == null ? null : described.get(txnId);
      String reason = hangingReason(o, txnId, d);
      if (reason != null) {
        // TV2 bumps the epoch when it ends a transaction, TV1 does not
        boolean committed = d != null && d.state() == TransactionState.COMPLETE_COMMIT
            && d.producerId() == o.producerId()
            && (d.producerEpoch() == o.producerEpoch() + 1 || d.producerEpoch() == o.producerEpoch());
        candidates.add(new Hang(o.partition(), o.producerId(), o.producerEpoch(), o.startOffset(), txnId,
            d == null ? null : d.state(), reason, committed, null));
      }
    }
    if (candidates.isEmpty()) {
      return List.of();
    }
    // The coordinator was seen past the transaction above; if the partition still shows the same
    // open transaction now, its marker is not on the way (markers precede Complete*/Empty).
    Map<Open, Open> still = new HashMap<>();
    for (Open o : openTransactions(candidates.stream().map(Hang::partition).distinct().toList())) {
      still.put(o.withoutCoordinatorEpoch(), o);
    }
    List<Hang> closed = new ArrayList<>();
    for (Hang h : candidates) {
      Open again = still.get(new Open(h.partition(), h.producerId(), h.producerEpoch(), h.startOffset(), 0));
      if (again == null) {
        continue;
      }
      if (h.committed() && plaintext) {
        try {
          CommitMarker.write(leaders.get(h.partition()), h.partition(), h.producerId(), (short) h.producerEpoch(),
              again.coordinatorEpoch(), timeout);
          log.warn("committing hanging transaction on {} (its coordinator committed it)", h);
          closed.add(h.withAction(Action.COMMITTED));
          continue;
        } catch (IOException | ApiException e) {
          log.error("could not write the COMMIT marker of {}: aborting instead", h, e);
        }
      }
      if (h.coordinatorState() == TransactionState.COMPLETE_COMMIT) {
        // Admin can only abort: committed output is dropped while its input offsets stay committed
        // (on __consumer_offsets: committed offsets fall back, and the estimator drops the re-read probes)
        log.error("aborting hanging transaction on {}: its coordinator committed it, so this discards committed "
            + "output", h);
      } else {
        log.warn("aborting hanging transaction on {}", h);
      }
      get(admin.abortTransaction(new AbortTransactionSpec(h.partition(), h.producerId(), (short) h.producerEpoch(),
          again.coordinatorEpoch())).all());
      closed.add(h.withAction(Action.ABORTED));
    }
    return closed;
  }

  /**
   * Returns once every partition of the transaction log is loaded by its coordinator. A broker that
   * has not yet become the leader of a transaction-log partition answers ListTransactions with an
   * empty list and no error (only a partition already loading is reported), so right after a
   * restart every transaction would look unknown. DescribeTransactions, by contrast, is retried
   * until the coordinator of the id's partition has loaded it: one id per partition proves all
   * loaded.
   */
  private void awaitCoordinatorsLoaded() {
    TopicDescription log;
    try {
      log = admin.describeTopics(List.of(Topic.TRANSACTION_STATE_TOPIC_NAME)).topicNameValues()
          .get(Topic.TRANSACTION_STATE_TOPIC_NAME).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof UnknownTopicOrPartitionException) {
        return; // no transactional producer ever ran here
      }
      throw rethrow(e);
    } catch (InterruptedException | TimeoutException e) {
      throw failed(e);
    }
    int n = log.partitions().size();
    List<String> ids = new ArrayList<>();
    for (int partition = 0; partition < n; partition++) {
      ids.add(idOnPartition(partition, n));
    }
    describe(ids);
  }

  /** A transactional id that no producer uses, on transaction-log partition {@code partition} of {@code n}. */
  static String idOnPartition(int partition, int n) {
    for (int i = 0; ; i++) {
      String id = "stepsize-coordinator-check-" + i;
      // the transaction coordinator's own rule for where an id's state lives
      if (Utils.abs(id.hashCode()) % n == partition) {
        return id;
      }
    }
  }

  /** Null when the transaction is not (provably) hanging, else why it is. */
  private String hangingReason(Open o, String txnId, TransactionDescription d) {
    if (txnId == null) {
      return "no coordinator knows producer id " + o.producerId();
    }
    if (!txnId.startsWith(applicationId + "-")) {
      log.warn("open transaction on {} belongs to {}, not to {}: left alone", o.partition(), txnId, applicationId);
      return null;
    }
    if (d == null) {
      return "the coordinator no longer knows transactional id " + txnId;
    }
    TransactionState s = d.state();
    if (s == TransactionState.PREPARE_COMMIT || s == TransactionState.PREPARE_ABORT
        || s == TransactionState.PREPARE_EPOCH_FENCE || s == TransactionState.UNKNOWN) {
      return null;
    }
    boolean sameProducer = d.producerId() == o.producerId() && d.producerEpoch() == o.producerEpoch();
    if (s == TransactionState.ONGOING && sameProducer && d.topicPartitions().contains(o.partition())) {
      return null;
    }
    if (s == TransactionState.ONGOING) {
      return sameProducer ? "the coordinator's ongoing transaction does not include the partition"
          : "the coordinator is at producer " + d.producerId() + "/" + d.producerEpoch();
    }
    return "the coordinator is " + s + " at producer " + d.producerId() + "/" + d.producerEpoch();
  }

  private Map<String, TransactionDescription> describe(Collection<String> ids) {
    Map<String, TransactionDescription> out = new HashMap<>();
    if (ids.isEmpty()) {
      return out;
    }
    var result = admin.describeTransactions(ids);
    ids.forEach(id -> {
      try {
        var f = result.description(id);
        out.put(id, f.get(timeout.toMillis(), TimeUnit.MILLISECONDS));
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TransactionalIdNotFoundException)) {
          throw rethrow(e);
        }
      } catch (InterruptedException | TimeoutException e) {
        throw failed(e);
      }
    });
    return out;
  }

  private List<Open> openTransactions(List<TopicPartition> partitions) {
    List<Open> open = new ArrayList<>();
    Map<TopicPartition, PartitionProducerState> states = get(admin.describeProducers(partitions).all());
    states.forEach((tp, state) -> {
      for (ProducerState p : state.activeProducers()) {
        if (p.currentTransactionStartOffset().isPresent()) {
          // a partition that has seen no marker of this producer has no coordinator epoch: 0 then,
          // as Kafka's own abort tool does (a marker must not carry an epoch below the partition's)
          open.add(new Open(tp, p.producerId(), p.producerEpoch(), p.currentTransactionStartOffset().getAsLong(),
              p.coordinatorEpoch().orElse(0)));
        }
      }
    });
    return open;
  }

  /** The output topics, the internal topics and the group's offsets partition. */
  private List<TopicPartition> partitions() {
    Set<String> names = new HashSet<>(List.of(topics.curvature().name(), topics.curvatureHistory().name(),
        topics.probesDlq().name(), topics.gradientStats().name()));
    for (String name : get(admin.listTopics(new ListTopicsOptions().listInternal(true)).names())) {
      if (name.startsWith(applicationId + "-")) {
        names.add(name);
      }
    }
    names.add(Topic.GROUP_METADATA_TOPIC_NAME);
    List<TopicPartition> out = new ArrayList<>();
    admin.describeTopics(names).topicNameValues().forEach((name, f) -> {
      TopicDescription d;
      try {
        d = f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (ExecutionException e) {
        if (e.getCause() instanceof UnknownTopicOrPartitionException) {
          return; // not created yet (__consumer_offsets before the first group): nothing can hang there
        }
        throw rethrow(e);
      } catch (InterruptedException | TimeoutException e) {
        throw failed(e);
      }
      if (name.equals(Topic.GROUP_METADATA_TOPIC_NAME)) {
        // the group coordinator's own rule for where a group's offsets live
        out.add(new TopicPartition(name, Utils.abs(applicationId.hashCode()) % d.partitions().size()));
      } else {
        d.partitions().forEach(p -> out.add(new TopicPartition(name, p.partition())));
      }
      for (var p : d.partitions()) {
        leaders.put(new TopicPartition(name, p.partition()), p.leader());
      }
    });
    return out;
  }

  private <T> T get(org.apache.kafka.common.KafkaFuture<T> f) {
    try {
      return f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw rethrow(e);
    } catch (InterruptedException | TimeoutException e) {
      throw failed(e);
    }
  }

  private static RuntimeException rethrow(ExecutionException e) {
    if (e.getCause() instanceof RuntimeException r) {
      return r;
    }
    return new IllegalStateException("hanging transactions: " + e.getCause(), e.getCause());
  }

  private static RuntimeException failed(Exception e) {
    if (e instanceof InterruptedException) {
      Thread.currentThread().interrupt();
    }
    return new IllegalStateException("hanging transactions: the brokers did not answer: " + e, e);
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while looking for hanging transactions", e);
    }
  }

}
