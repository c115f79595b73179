package io.stepsize.cli;

import io.stepsize.client.ClientSecurity;
import io.stepsize.client.StepsizeClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * How a verb reaches a running service (DESIGN.md §5.1): {@code --target}, TLS, a client certificate
 * and a bearer token from a file, with the rules of {@link ClientSecurity}. A mixin, so every verb
 * that talks to a service spells them alike.
 */
public final class ServiceOptions {
  @CommandLine.Spec(CommandLine.Spec.Target.MIXEE) CommandLine.Model.CommandSpec spec;

  @Option(names = "--target", defaultValue = "localhost:50051", paramLabel = "HOST:PORT",
      description = "The service (default ${DEFAULT-VALUE}).")
  String target;

  @Option(names = "--tls", description = "Use TLS, trusting the JVM's certificate authorities unless --tls-ca is given.")
  boolean tls;

  @Option(names = "--tls-ca", paramLabel = "FILE", description = "PEM of the authority that signed the server's certificate (implies --tls).")
  Path tlsCa;

  @Option(names = "--tls-cert", paramLabel = "FILE", description = "Client certificate (PEM) for mutual TLS; with --tls-key.")
  Path tlsCert;

  @Option(names = "--tls-key", paramLabel = "FILE", description = "Client key (PEM, PKCS#8) for mutual TLS; with --tls-cert.")
  Path tlsKey;

  @Option(names = "--authority", paramLabel = "NAME", description = "Server name checked in its certificate, when it differs from the target's host.")
  String authority;

  @Option(names = "--token-file", paramLabel = "FILE",
      description = "File holding the bearer token of your tenant (needs TLS: a token is never sent in plaintext).")
  Path tokenFile;

  @Option(names = "--deadline", defaultValue = "10", paramLabel = "SECONDS",
      description = "Deadline of each call in seconds (default ${DEFAULT-VALUE}).")
  double deadlineSeconds;

  /** A client for the options, or a usage error naming the flag that cannot work. */
  StepsizeClient connect() {
    if (!(deadlineSeconds > 0) || deadlineSeconds > 3600) {
      throw usage("--deadline: must be in (0, 3600] seconds (got " + deadlineSeconds + ")");
    }
    if ((tlsCert == null) != (tlsKey == null)) {
      throw usage((tlsCert == null ? "--tls-key" : "--tls-cert") + ": --tls-cert and --tls-key go together");
    }
    boolean useTls = tls || tlsCa != null || tlsCert != null;
    if (tokenFile != null && !useTls) {
      throw usage("--token-file: needs TLS (--tls or --tls-ca): a token in plaintext is a token given away");
    }
    for (var flag : new Object[][] {{"--tls-ca", tlsCa}, {"--tls-cert", tlsCert}, {"--tls-key", tlsKey},
        {"--token-file", tokenFile}}) {
      if (flag[1] != null && !Files.isReadable((Path) flag[1])) {
        throw usage(flag[0] + ": cannot read " + flag[1]);
      }
    }
    ClientSecurity security = ClientSecurity.PLAINTEXT;
    if (useTls) {
      security = ClientSecurity.tls(tlsCa);
      if (tlsCert != null) {
        security = security.withClientCertificate(tlsCert, tlsKey);
      }
      if (tokenFile != null) {
        security = security.withBearerToken(readToken());
      }
      if (authority != null) {
        security = security.withAuthority(authority);
      }
    }
    return StepsizeClient.connect(target, Duration.ofMillis(Math.round(deadlineSeconds * 1000)), security);
  }

  private String readToken() {
    String token;
    try {
      token = Files.readString(tokenFile).strip();
    } catch (IOException e) {
      throw usage("--token-file: cannot read " + tokenFile + ": " + e.getMessage());
    }
    if (token.isEmpty()) {
      throw usage("--token-file: " + tokenFile + " is empty");
    }
    return token;
  }

  private CommandLine.ParameterException usage(String message) {
    return new CommandLine.ParameterException(spec.commandLine(), message);
  }
}
