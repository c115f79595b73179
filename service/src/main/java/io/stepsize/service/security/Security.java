package io.stepsize.service.security;

import java.nio.file.Path;

/**
 * How a replica authenticates: TLS from a PEM certificate chain and key; mutual TLS when a client
 * CA is given (every client must present a certificate it signed); bearer tokens when a tokens
 * file is given. All null is plaintext without authentication, the embedded default.
 */
public record Security(Path tlsCert, Path tlsKey, Path tlsClientCa, Path tokensFile) {
  public static final Security NONE = new Security(null, null, null, null);

  public Security {
    if ((tlsCert == null) != (tlsKey == null)) {
      throw new IllegalArgumentException("tls: a certificate and its key go together");
    }
    if (tlsClientCa != null && tlsCert == null) {
      throw new IllegalArgumentException("tls: a client CA (mutual TLS) needs the server's certificate and key");
    }
  }

  /**
   * Fails, naming {@code tls_cert} or {@code tls_key}, when the server's certificate has expired
   * (or is not valid yet), its key is not a PKCS#8 PEM key, or the key is not the certificate's.
   */
  public void checkTlsFiles() {
    if (tls()) {
      TlsFiles.check(tlsCert, tlsKey);
    }
  }

  public boolean tls() {
    return tlsCert != null;
  }

  public boolean mutualTls() {
    return tlsClientCa != null;
  }
}
