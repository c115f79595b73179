package io.stepsize.service.security;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Collection;
import java.util.Date;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checks a server certificate and its key before the server starts, so that a certificate that
 * cannot serve stops the start with a message naming the file's flag (field {@code tls_cert} or
 * {@code tls_key}) instead of a stack trace, or of handshakes that fail later: the certificate
 * must be valid now, the key an unencrypted PKCS#8 PEM key (what gRPC's TLS reads), and the key
 * must be the private half of the certificate's public key.
 */
public final class TlsFiles {
  private static final Pattern PEM = Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END \\1-----");

  private TlsFiles() {}

  /** @throws IllegalArgumentException naming {@code tls_cert} or {@code tls_key} and the rule broken */
  public static void check(Path certFile, Path keyFile) {
    X509Certificate cert = certificate(certFile);
    PrivateKey key = privateKey(keyFile, cert.getPublicKey().getAlgorithm());
    if (!matches(key, cert.getPublicKey())) {
      throw new IllegalArgumentException("tls_key: " + keyFile + " is not the key of the certificate in " + certFile
          + " (" + cert.getSubjectX500Principal() + ")");
    }
  }

  private static X509Certificate certificate(Path file) {
    Collection<? extends java.security.cert.Certificate> chain;
    try (InputStream in = Files.newInputStream(file)) {
      chain = CertificateFactory.getInstance("X.509").generateCertificates(in);
    } catch (IOException | CertificateException e) {
      throw new IllegalArgumentException("tls_cert: " + file + " is not a PEM certificate chain (" + e.getMessage() + ")");
    }
    if (chain.isEmpty()) {
      throw new IllegalArgumentException("tls_cert: " + file + " holds no certificate");
    }
    X509Certificate leaf = (X509Certificate) chain.iterator().next();
    try {
      leaf.checkValidity(new Date());
    } catch (CertificateExpiredException e) {
      throw new IllegalArgumentException("tls_cert: the certificate in " + file + " (" + leaf.getSubjectX500Principal()
          + ") expired on " + leaf.getNotAfter().toInstant());
    } catch (CertificateNotYetValidException e) {
      throw new IllegalArgumentException("tls_cert: the certificate in " + file + " (" + leaf.getSubjectX500Principal()
          + ") is not valid before " + leaf.getNotBefore().toInstant());
    }
    return leaf;
  }

  private static PrivateKey privateKey(Path file, String algorithm) {
    String pem;
    try {
      pem = Files.readString(file, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new IllegalArgumentException("tls_key: cannot read " + file + " (" + e.getMessage() + ")");
    }
    Matcher m = PEM.matcher(pem);
    if (!m.find()) {
      throw new IllegalArgumentException("tls_key: " + file + " is not a PEM key (no '-----BEGIN PRIVATE KEY-----')");
    }
    String label = m.group(1);
    if (!label.equals("PRIVATE KEY")) {
      throw new IllegalArgumentException("tls_key: " + file + " is a '" + label + "', not an unencrypted PKCS#8 key"
          + " ('BEGIN PRIVATE KEY'); convert it with: openssl pkcs8 -topk8 -nocrypt -in " + file.getFileName()
          + " -out key.pkcs8.pem");
    }
    try {
      byte[] der = Base64.getMimeDecoder().decode(m.group(2).trim());
      return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
    } catch (IllegalArgumentException | InvalidKeySpecException e) {
      throw new IllegalArgumentException("tls_key: " + file + " is not a PKCS#8 " + algorithm
          + " key, the algorithm of the certificate's key (" + e.getMessage() + ")");
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("tls_key: keys of the certificate's algorithm " + algorithm
          + " are not supported (" + e.getMessage() + ")");
    }
  }

  /** Whether a signature by {@code key} verifies under {@code publicKey} (true for algorithms not tried here). */
  private static boolean matches(PrivateKey key, PublicKey publicKey) {
    String algorithm = switch (publicKey.getAlgorithm()) {
      case "RSA" -> "SHA256withRSA";
      case "EC" -> "SHA256withECDSA";
      case "Ed25519", "Ed448", "EdDSA" -> publicKey.getAlgorithm();
      default -> null; // e.g. RSASSA-PSS: the handshake is left to tell
    };
    if (algorithm == null) {
      return true;
    }
    byte[] data = new byte[32];
    new SecureRandom().nextBytes(data);
    try {
      Signature sign = Signature.getInstance(algorithm);
      sign.initSign(key);
      sign.update(data);
      byte[] signature = sign.sign();
      Signature verify = Signature.getInstance(algorithm);
      verify.initVerify(publicKey);
      verify.update(data);
      return verify.verify(signature);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }
}
