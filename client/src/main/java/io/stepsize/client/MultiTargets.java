package io.stepsize.client;

import io.stepsize.proto.v1.StepsizeGrpc;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Helpers for a channel over several service replicas: the {@code stepsize:///…} target, parsing
 * of its host:port list, and a service config that balances round_robin over the replicas whose
 * gRPC health check says SERVING and retries UNAVAILABLE on another replica.
 */
public final class MultiTargets {
  private MultiTargets() {}

  /** One replica's address as written in the target. */
  public record HostPort(String host, int port) {
    @Override
    public String toString() {
      return host.contains(":") ? "[" + host + "]:" + port : host + ":" + port;
    }
  }

  /**
   * {@code stepsize:///a:1,b:2} for {@code ["a:1", "b:2"]}; each entry must be host:port, an IPv6
   * host in brackets ({@code [::1]:2}). The brackets go percent-encoded, because a URI path may not
   * hold them and gRPC parses the target as a URI; the resolver reads the decoded path.
   */
  public static String target(List<String> targets) {
    if (targets == null || targets.isEmpty()) {
      throw new IllegalArgumentException("targets: must name at least one host:port");
    }
    for (String t : targets) {
      parseOne(t, -1);
    }
    String list = String.join(",", targets).replace("[", "%5B").replace("]", "%5D");
    return MultiTargetNameResolverProvider.SCHEME + ":///" + list;
  }

  /** Parses {@code host:port,host:port,[v6]:port}; a missing port takes {@code defaultPort} (if > 0). */
  public static List<HostPort> parse(String list, int defaultPort) {
    List<HostPort> out = new ArrayList<>();
    for (String part : list.split(",")) {
      if (!part.isBlank()) {
        out.add(parseOne(part.strip(), defaultPort));
      }
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException("target: must name at least one host:port (got '" + list + "')");
    }
    return out;
  }

  private static HostPort parseOne(String s, int defaultPort) {
    String host;
    String port;
    if (s.startsWith("[")) {
      int end = s.indexOf(']');
      if (end < 0) {
        throw new IllegalArgumentException("target: unclosed '[' in '" + s + "'");
      }
      host = s.substring(1, end);
      port = s.length() > end + 1 && s.charAt(end + 1) == ':' ? s.substring(end + 2) : null;
    } else {
      int colon = s.lastIndexOf(':');
      host = colon < 0 ? s : s.substring(0, colon);
      port = colon < 0 ? null : s.substring(colon + 1);
    }
    if (host.isEmpty()) {
      throw new IllegalArgumentException("target: host must not be empty in '" + s + "'");
    }
    int p;
    if (port == null || port.isEmpty()) {
      if (defaultPort <= 0) {
        throw new IllegalArgumentException("target: must be host:port (got '" + s + "')");
      }
      p = defaultPort;
    } else {
      try {
        p = Integer.parseInt(port);
      } catch (NumberFormatException e) {
        p = -1;
      }
      if (p < 1 || p > 65535) {
        throw new IllegalArgumentException("target: port must be in [1, 65535] (got '" + s + "')");
      }
    }
    return new HostPort(host, p);
  }

  /**
   * round_robin over the replicas that say SERVING, and UNAVAILABLE retried up to 5 attempts: a
   * call that met a replica going down is sent again, to another one. Every Stepsize RPC is
   * idempotent.
   *
   * <p>{@code healthCheckConfig} turns on gRPC's client-side health checking (the
   * {@code round_robin} of grpc-services, registered through ServiceLoader, which outranks the plain
   * one): each subchannel keeps a {@code grpc.health.v1.Health/Watch} stream for
   * {@code stepsize.v1.Stepsize} open on its own connection, with the channel's credentials, and is
   * picked only while the answer is SERVING. A replica still loading its views after a restart
   * says NOT_SERVING (it would answer NOT_FOUND for jobs it has not read yet), so it gets no calls.
   * A server without a health service (UNIMPLEMENTED) is taken as healthy. When no replica is
   * SERVING the calls fail UNAVAILABLE, after the retries.
   */
  public static Map<String, Object> serviceConfig() {
    Map<String, Object> method = StepsizeClient.retryUnavailable(5);
    return Map.of(
        "loadBalancingConfig", List.of(Map.of("round_robin", Map.of())),
        "healthCheckConfig", Map.of("serviceName", StepsizeGrpc.SERVICE_NAME),
        "methodConfig", List.of(method));
  }
}
