package io.stepsize.client;

import io.grpc.CallOptions;
import io.grpc.EquivalentAddressGroup;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.MethodDescriptor;
import io.grpc.NameResolver;
import io.grpc.Status;
import io.grpc.StatusOr;
import io.grpc.SynchronizationContext;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Resolves a fixed list of replicas and, every health period, asks each one's
 * {@code grpc.health.v1.Health/Check} for the Stepsize service. Only the SERVING replicas are
 * published, so round_robin never sends a call to one that is still loading its views after a
 * restart (it would answer NOT_FOUND for jobs it has not read yet). When none is SERVING all are
 * published: the calls then fail or succeed on their own, with the real status.
 *
 * <p>The health messages are encoded by hand (field 1 of both messages) so that this client needs
 * no grpc-services dependency. The probes use plaintext channels of their own; a replica that
 * cannot be probed that way (for example behind TLS) is treated as unknown, which publishes it.
 */
final class MultiTargetNameResolver extends NameResolver {
  static final Duration DEFAULT_HEALTH_PERIOD = Duration.ofSeconds(1);
  static final Duration PROBE_TIMEOUT = Duration.ofSeconds(5);
  private static final String HEALTH_SERVICE = "stepsize.v1.Stepsize";
  private static final int SERVING = 1;

  static final MethodDescriptor<byte[], byte[]> HEALTH_CHECK = MethodDescriptor.<byte[], byte[]>newBuilder()
      .setType(MethodDescriptor.MethodType.UNARY)
      .setFullMethodName(MethodDescriptor.generateFullMethodName("grpc.health.v1.Health", "Check"))
      .setRequestMarshaller(new BytesMarshaller())
      .setResponseMarshaller(new BytesMarshaller())
      .build();

  private enum Health { SERVING, NOT_SERVING, UNKNOWN }

  private final String uri;
  private final List<MultiTargets.HostPort> targets;
  private final Duration period;
  private final SynchronizationContext syncContext;
  private final ScheduledExecutorService scheduler;
  private final Map<MultiTargets.HostPort, ManagedChannel> probes = new HashMap<>();
  private Listener2 listener;
  private Set<MultiTargets.HostPort> published;
  private ScheduledFuture<?> next;
  private boolean roundInFlight;
  private boolean shutdown;

  MultiTargetNameResolver(String uri, List<MultiTargets.HostPort> targets, Duration period, Args args) {
    this.uri = uri;
    this.targets = List.copyOf(targets);
    this.period = period;
    this.syncContext = args.getSynchronizationContext();
    this.scheduler = args.getScheduledExecutorService();
  }

  @Override
  public String getServiceAuthority() {
    return targets.get(0).toString();
  }

  @Override
  public void start(Listener2 listener) {
    this.listener = listener;
    round();
  }

  @Override
  public void refresh() {
    syncContext.execute(this::round);
  }

  @Override
  public void shutdown() {
    shutdown = true;
    if (next != null) {
      next.cancel(false);
    }
    for (ManagedChannel c : probes.values()) {
      c.shutdownNow();
    }
    probes.clear();
  }

  /** One round of health checks, then publish and schedule the next; runs in the sync context. */
  private void round() {
    if (shutdown || roundInFlight) {
      return;
    }
    if (period.isZero()) {
      publish(new LinkedHashSet<>(targets));
      return;
    }
    roundInFlight = true;
    Map<MultiTargets.HostPort, Health> results = new HashMap<>();
    AtomicInteger pending = new AtomicInteger(targets.size());
    // generous: a probe that times out drops a replica; a dead one is refused at once anyway
    long timeoutMs = PROBE_TIMEOUT.toMillis();
    for (MultiTargets.HostPort t : targets) {
      ManagedChannel channel = probes.computeIfAbsent(t,
          k -> ManagedChannelBuilder.forTarget("dns:///" + k).usePlaintext().build());
      ClientCalls.asyncUnaryCall(
          channel.newCall(HEALTH_CHECK, CallOptions.DEFAULT.withDeadlineAfter(timeoutMs, TimeUnit.MILLISECONDS)),
          healthRequest(), new StreamObserver<>() {
            @Override
            public void onNext(byte[] value) {
              done(value == null ? Health.UNKNOWN : servingStatus(value) == SERVING ? Health.SERVING : Health.NOT_SERVING);
            }

            @Override
            public void onError(Throwable t) {
              Status.Code code = Status.fromThrowable(t).getCode();
              // no health service, or it does not know the name: nothing to learn, keep the replica
              done(code == Status.Code.UNIMPLEMENTED || code == Status.Code.NOT_FOUND ? Health.UNKNOWN
                  : Health.NOT_SERVING);
            }

            @Override
            public void onCompleted() {}

            private void done(Health h) {
              syncContext.execute(() -> {
                results.put(t, h);
                if (pending.decrementAndGet() == 0) {
                  roundInFlight = false;
                  finish(results);
                }
              });
            }
          });
    }
  }

  private void finish(Map<MultiTargets.HostPort, Health> results) {
    if (shutdown) {
      return;
    }
    Set<MultiTargets.HostPort> up = new LinkedHashSet<>();
    for (MultiTargets.HostPort t : targets) {
      if (results.get(t) != Health.NOT_SERVING) {
        up.add(t);
      }
    }
    publish(up.isEmpty() ? new LinkedHashSet<>(targets) : up);
    next = scheduler.schedule(() -> syncContext.execute(this::round), period.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void publish(Set<MultiTargets.HostPort> up) {
    if (up.equals(published)) {
      return;
    }
    List<EquivalentAddressGroup> groups = new ArrayList<>();
    for (MultiTargets.HostPort t : up) {
      InetSocketAddress address = new InetSocketAddress(t.host(), t.port());
      if (!address.isUnresolved()) {
        groups.add(new EquivalentAddressGroup(address));
      }
    }
    if (groups.isEmpty()) {
      listener.onError(Status.UNAVAILABLE.withDescription("no address of " + uri + " resolves"));
      return;
    }
    published = up;
    listener.onResult2(ResolutionResult.newBuilder().setAddressesOrError(StatusOr.fromValue(groups)).build());
  }

  /** HealthCheckRequest{service = "stepsize.v1.Stepsize"}: field 1, length-delimited. */
  private static byte[] healthRequest() {
    byte[] name = HEALTH_SERVICE.getBytes(StandardCharsets.UTF_8);
    byte[] out = new byte[2 + name.length];
    out[0] = 0x0A;
    out[1] = (byte) name.length;
    System.arraycopy(name, 0, out, 2, name.length);
    return out;
  }

  /** HealthCheckResponse.status (field 1, varint); 0 (UNKNOWN) when absent. Skips any other field. */
  static int servingStatus(byte[] message) {
    int i = 0;
    int status = 0;
    while (i < message.length) {
      long[] tag = varint(message, i);
      i = (int) tag[1];
      int field = (int) (tag[0] >>> 3);
      int wire = (int) (tag[0] & 7);
      switch (wire) {
        case 0 -> {
          long[] v = varint(message, i);
          i = (int) v[1];
          if (field == 1) {
            status = (int) v[0];
          }
        }
        case 1 -> i += 8;
        case 2 -> {
          long[] len = varint(message, i);
          i = (int) (len[1] + len[0]);
        }
        case 5 -> i += 4;
        default -> {
          return 0;
        }
      }
    }
    return status;
  }

  /** {value, index after it}. */
  private static long[] varint(byte[] b, int i) {
    long value = 0;
    int shift = 0;
    while (i < b.length) {
      byte x = b[i++];
      value |= (long) (x & 0x7F) << shift;
      if ((x & 0x80) == 0) {
        break;
      }
      shift += 7;
    }
    return new long[] {value, i};
  }

  private static final class BytesMarshaller implements MethodDescriptor.Marshaller<byte[]> {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw Status.INTERNAL.withDescription("reading a health response").withCause(e).asRuntimeException();
      }
    }
  }
}
