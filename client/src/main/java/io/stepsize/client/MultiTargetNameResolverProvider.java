package io.stepsize.client;

import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.Collection;
import java.util.List;

/**
 * The {@code stepsize} target scheme: {@code stepsize:///host1:port1,host2:port2[?health=MILLIS]}
 * names several service replicas behind one channel. With round_robin (see
 * {@link MultiTargets#serviceConfig()}) every call goes to a connected replica, and the resolver
 * leaves out the replicas whose health check does not say SERVING, so a dead or still catching-up
 * replica gets no calls. {@code health=0} turns the checks off; the default period is
 * {@link MultiTargetNameResolver#DEFAULT_HEALTH_PERIOD}.
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
    List<MultiTargets.HostPort> targets = MultiTargets.parse(path.substring(1), args.getDefaultPort());
    Duration period = MultiTargetNameResolver.DEFAULT_HEALTH_PERIOD;
    String query = targetUri.getQuery();
    if (query != null && !query.isEmpty()) {
      period = parseHealth(query, targetUri);
    }
    return new MultiTargetNameResolver(targetUri.toString(), targets, period, args);
  }

  private static Duration parseHealth(String query, URI targetUri) {
    for (String param : query.split("&")) {
      if (param.startsWith("health=")) {
        try {
          long ms = Long.parseLong(param.substring("health=".length()));
          if (ms < 0) {
            throw new NumberFormatException("negative");
          }
          return Duration.ofMillis(ms);
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("target: health must be a period in milliseconds >= 0 (got '"
              + param + "' in " + targetUri + ")");
        }
      }
      throw new IllegalArgumentException("target: unknown parameter '" + param + "' in " + targetUri
          + " (known: health)");
    }
    return MultiTargetNameResolver.DEFAULT_HEALTH_PERIOD;
  }
}
