package io.stepsize.client;

import io.grpc.Attributes;
import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.Status;
import io.grpc.StatusOr;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * Resolves a fixed list of replicas to one address group each and publishes them all. It does no
 * health checking of its own: that is round_robin's job, through the {@code healthCheckConfig} of
 * {@link MultiTargets#serviceConfig()}. gRPC then watches each replica's
 * {@code grpc.health.v1.Health/Watch} on the very subchannel that carries the calls, with the
 * channel's own credentials (TLS, mutual TLS, bearer token), and sends calls only to the SERVING
 * replicas. Publishing every address keeps a NOT_SERVING replica connected, so it is back in the
 * rotation as soon as its health stream says SERVING, without waiting for a re-resolution.
 *
 * <p>Unless the channel overrides the authority, each replica's address carries its own
 * {@code host:port} as authority, so over TLS every replica's certificate is checked against the
 * name it was listed under (gRPC would otherwise use the first host's name for all of them).
 */
final class MultiTargetNameResolver extends NameResolver {
  private final String uri;
  private final List<MultiTargets.HostPort> targets;
  private final boolean authorityPerReplica;
  private Listener2 listener;

  /** @param authorityPerReplica false when the channel has an overrideAuthority, which then applies to all */
  MultiTargetNameResolver(String uri, List<MultiTargets.HostPort> targets, boolean authorityPerReplica) {
    this.uri = uri;
    this.targets = List.copyOf(targets);
    this.authorityPerReplica = authorityPerReplica;
  }

  @Override
  public String getServiceAuthority() {
    return targets.get(0).toString();
  }

  @Override
  public void start(Listener2 listener) {
    this.listener = listener;
    resolve();
  }

  /** Asked by the channel after a connection failure: host names are looked up again. */
  @Override
  public void refresh() {
    resolve();
  }

  @Override
  public void shutdown() {}

  private void resolve() {
    List<EquivalentAddressGroup> groups = new ArrayList<>();
    for (MultiTargets.HostPort t : targets) {
      InetSocketAddress address = new InetSocketAddress(t.host(), t.port());
      // a name that does not resolve (yet) is left out; the others still serve
      if (!address.isUnresolved()) {
        Attributes attrs = authorityPerReplica
            ? Attributes.newBuilder().set(EquivalentAddressGroup.ATTR_AUTHORITY_OVERRIDE, t.toString()).build()
            : Attributes.EMPTY;
        groups.add(new EquivalentAddressGroup(address, attrs));
      }
    }
    if (groups.isEmpty()) {
      listener.onResult2(ResolutionResult.newBuilder()
          .setAddressesOrError(StatusOr.fromStatus(
              Status.UNAVAILABLE.withDescription("no address of " + uri + " resolves")))
          .build());
      return;
    }
    listener.onResult2(ResolutionResult.newBuilder().setAddressesOrError(StatusOr.fromValue(groups)).build());
  }
}
