package io.stepsize.client;

import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.util.Collection;
import java.util.List;

/**
 * The {@code stepsize} target scheme: {@code stepsize:///host1:port1,host2:port2} names several
 * service replicas behind one channel. The resolver publishes every replica; with the service
 * config of {@link MultiTargets#serviceConfig()} round_robin spreads the calls over the connected
 * replicas whose health (grpc-services' client-side health checking, a
 * {@code grpc.health.v1.Health/Watch} stream per replica on the call's own connection and
 * credentials) says SERVING, so a dead or still catching-up replica gets no calls. The scheme
 * takes no query parameters: whether and what to health-check is the service config's
 * {@code healthCheckConfig}, not the target's.
 *
 * <p>Registered in {@code META-INF/services/io.grpc.NameResolverProvider}, so
 * {@code ManagedChannelBuilder.forTarget("stepsize:///…")} finds it.
 */
public final class MultiTargetNameResolverProvider extends NameResolverProvider {
  public static final String SCHEME = "stepsize";

  @Override
  protected boolean isAvailable() {
    return true;
  }

  /** Below dns (5): the registry's default scheme, used for plain "host:port" targets, must stay dns. */
  @Override
  protected int priority() {
    return 4;
  }

  @Override
  public String getScheme() {
    return SCHEME;
  }

  @Override
  public String getDefaultScheme() {
    return SCHEME;
  }

  @Override
  public Collection<Class<? extends SocketAddress>> getProducedSocketAddressTypes() {
    return List.of(InetSocketAddress.class);
  }

  @Override
  public NameResolver newNameResolver(URI targetUri, NameResolver.Args args) {
    if (!SCHEME.equals(targetUri.getScheme())) {
      return null;
    }
    String path = targetUri.getPath();
    if (path == null || !path.startsWith("/")) {
      throw new IllegalArgumentException("target: must look like stepsize:///host:port,host:port (got '"
          + targetUri + "')");
    }
    String query = targetUri.getRawQuery();
    if (query != null) {
      // the old "?health=MILLIS" included: a silently ignored parameter would hide a wrong belief
      throw new IllegalArgumentException("target: unknown parameter '" + query + "' in " + targetUri
          + " (the stepsize scheme takes none; health checks are the service config's healthCheckConfig)");
    }
    List<MultiTargets.HostPort> targets = MultiTargets.parse(path.substring(1), args.getDefaultPort());
    return new MultiTargetNameResolver(targetUri.toString(), targets, args.getOverrideAuthority() == null);
  }
}
