package io.stepsize.client;

import io.grpc.CallCredentials;
import io.grpc.ChannelCredentials;
import io.grpc.CompositeChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.TlsChannelCredentials;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.concurrent.Executor;

/**
 * How a client authenticates to a Stepsize service: TLS trusting {@code trustCa} (the JVM's trust
 * store when null), a client certificate for mutual TLS, and a bearer token sent on every call.
 * Tokens go only over TLS, as gRPC's own call credentials insist for a reason: a token in
 * plaintext is a token given away. {@code authority} overrides the name checked in the server's
 * certificate (tests, or servers reached by IP).
 */
public record ClientSecurity(boolean tls, Path trustCa, Path clientCert, Path clientKey, String bearerToken,
    String authority) {
  public static final ClientSecurity PLAINTEXT = new ClientSecurity(false, null, null, null, null, null);

  public ClientSecurity {
    if ((clientCert == null) != (clientKey == null)) {
      throw new IllegalArgumentException("client certificate and key go together");
    }
    if (!tls && (trustCa != null || clientCert != null || bearerToken != null)) {
      throw new IllegalArgumentException("certificates and bearer tokens need TLS");
    }
  }

  public static ClientSecurity tls(Path trustCa) {
    return new ClientSecurity(true, trustCa, null, null, null, null);
  }

  public ClientSecurity withClientCertificate(Path cert, Path key) {
    return new ClientSecurity(tls, trustCa, cert, key, bearerToken, authority);
  }

  public ClientSecurity withBearerToken(String token) {
    return new ClientSecurity(tls, trustCa, clientCert, clientKey, token, authority);
  }

  public ClientSecurity withAuthority(String name) {
    return new ClientSecurity(tls, trustCa, clientCert, clientKey, bearerToken, name);
  }

  ChannelCredentials channelCredentials() {
    if (!tls) {
      return InsecureChannelCredentials.create();
    }
    try {
      TlsChannelCredentials.Builder b = TlsChannelCredentials.newBuilder();
      if (trustCa != null) {
        b.trustManager(trustCa.toFile());
      }
      if (clientCert != null) {
        b.keyManager(clientCert.toFile(), clientKey.toFile());
      }
      ChannelCredentials creds = b.build();
      return bearerToken == null ? creds : CompositeChannelCredentials.create(creds, new BearerToken(bearerToken));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the CA, client certificate or key", e);
    }
  }

  /** {@code authorization: Bearer <token>} on every call. */
  static final class BearerToken extends CallCredentials {
    private static final Metadata.Key<String> AUTHORIZATION =
        Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    private final String token;

    BearerToken(String token) {
      this.token = token;
    }

    @Override
    public void applyRequestMetadata(RequestInfo info, Executor executor, MetadataApplier applier) {
      try {
        Metadata headers = new Metadata();
        headers.put(AUTHORIZATION, "Bearer " + token);
        applier.apply(headers);
      } catch (RuntimeException e) {
        applier.fail(Status.UNAUTHENTICATED.withCause(e));
      }
    }
  }
}
