package io.stepsize.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.stepsize.service.security.Security;
import java.io.FileInputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code serve} refuses a certificate or key that cannot serve, or an address it cannot listen on,
 * before it starts anything: exit 2 and a message naming the flag. The certificates are made here with the JDK's keytool: one valid,
 * one that expired, and a second key pair for a key that does not match.
 */
class ServeRefusalsTest {
  private static final char[] PASSWORD = "secret".toCharArray();
  @TempDir static Path dir;
  static Path validCert;
  static Path validKey;
  static Path expiredCert;
  static Path expiredKey;
  static Path otherKey;
  static Path traditionalKey;

  private final CliHarness cli = new CliHarness("serve");

  @BeforeAll
  static void makeCertificates() throws Exception {
    Path store = dir.resolve("keys.p12");
    keytool("-genkeypair", "-alias", "valid", "-validity", "30");
    keytool("-genkeypair", "-alias", "expired", "-startdate", "-30d", "-validity", "1");
    keytool("-genkeypair", "-alias", "other", "-validity", "30");
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = new FileInputStream(store.toFile())) {
      ks.load(in, PASSWORD);
    }
    validCert = pem("valid.pem", "CERTIFICATE", ks.getCertificate("valid").getEncoded());
    validKey = pem("valid.key", "PRIVATE KEY", ks.getKey("valid", PASSWORD).getEncoded());
    expiredCert = pem("expired.pem", "CERTIFICATE", ks.getCertificate("expired").getEncoded());
    expiredKey = pem("expired.key", "PRIVATE KEY", ks.getKey("expired", PASSWORD).getEncoded());
    otherKey = pem("other.key", "PRIVATE KEY", ks.getKey("other", PASSWORD).getEncoded());
    traditionalKey = pem("valid-rsa.key", "RSA PRIVATE KEY", pkcs1(ks.getKey("valid", PASSWORD).getEncoded()));
    assertThat(((X509Certificate) ks.getCertificate("expired")).getNotAfter()).isInThePast();
  }

  private static void keytool(String... args) throws Exception {
    List<String> command = new java.util.ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
        "-keystore", dir.resolve("keys.p12").toString(), "-storetype", "PKCS12", "-storepass", "secret",
        "-keyalg", "RSA", "-keysize", "2048", "-dname", "CN=localhost"));
    command.addAll(Arrays.asList(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor()).as(output).isZero();
  }

  private static Path pem(String name, String label, byte[] der) throws Exception {
    String body = Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der);
    return Files.writeString(dir.resolve(name), "-----BEGIN " + label + "-----\n" + body + "\n-----END " + label + "-----\n");
  }

  /**
   * The PKCS#1 RSAPrivateKey inside a PKCS#8 PrivateKeyInfo: SEQUENCE { INTEGER version,
   * SEQUENCE algorithm, OCTET STRING privateKey }; the octet string's content is the PKCS#1 key.
   */
  private static byte[] pkcs1(byte[] pkcs8) {
    int[] pos = {0};
    header(pkcs8, pos); // the outer SEQUENCE: step into it
    skip(pkcs8, pos); // version
    skip(pkcs8, pos); // algorithm
    int length = header(pkcs8, pos); // OCTET STRING
    return Arrays.copyOfRange(pkcs8, pos[0], pos[0] + length);
  }

  /** Reads a DER tag and length at pos, leaving pos at the content; returns the content's length. */
  private static int header(byte[] der, int[] pos) {
    pos[0]++; // tag
    int first = der[pos[0]++] & 0xff;
    if (first < 0x80) {
      return first;
    }
    int length = 0;
    for (int i = 0; i < (first & 0x7f); i++) {
      length = (length << 8) | (der[pos[0]++] & 0xff);
    }
    return length;
  }

  private static void skip(byte[] der, int[] pos) {
    int length = header(der, pos);
    pos[0] += length;
  }

  private int serve(Path cert, Path key) {
    return cli.run("--tls-cert", cert.toString(), "--tls-key", key.toString(), "--grpc-port", "0",
        "--data-dir", dir.resolve("data").toString());
  }

  @Test
  void anExpiredCertificateIsRefusedNamingTheFlag() {
    assertThat(serve(expiredCert, expiredKey)).isEqualTo(2);
    assertThat(cli.err.toString()).contains("--tls-cert: the certificate in " + expiredCert + " (CN=localhost) expired on ");
  }

  @Test
  void aKeyThatIsNotTheCertificatesIsRefusedNamingTheFlag() {
    assertThat(serve(validCert, otherKey)).isEqualTo(2);
    assertThat(cli.err.toString()).contains("--tls-key: " + otherKey + " is not the key of the certificate in "
        + validCert + " (CN=localhost)");
  }

  @Test
  void aTraditionalRsaKeyIsRefusedNamingTheFlagAndTheConversion() {
    assertThat(serve(validCert, traditionalKey)).isEqualTo(2);
    assertThat(cli.err.toString()).contains("--tls-key: " + traditionalKey + " is a 'RSA PRIVATE KEY', not an"
        + " unencrypted PKCS#8 key ('BEGIN PRIVATE KEY'); convert it with: openssl pkcs8 -topk8 -nocrypt -in"
        + " valid-rsa.key -out key.pkcs8.pem")
        .doesNotContain("Exception");
    assertThat(Files.exists(dir.resolve("data"))).isFalse(); // refused before anything started
  }

  @Test
  void anHttpPortOutOfRangeIsRefusedNamingTheFlag() {
    assertThat(cli.run("--http-port", "70000", "--data-dir", dir.resolve("data").toString())).isEqualTo(2);
    assertThat(cli.err.toString()).contains("--http-port: must be -1 or in [0, 65535] (got 70000)");
    assertThat(Files.exists(dir.resolve("data"))).isFalse(); // refused before anything started
  }

  @Test
  void aBindAddressThatIsNotThisMachinesIsRefusedNamingTheFlag() {
    // TEST-NET-3 (RFC 5737): never assigned to a machine
    assertThat(cli.run("--bind-address", "203.0.113.7", "--data-dir", dir.resolve("data").toString())).isEqualTo(2);
    assertThat(cli.err.toString()).contains(
        "--bind-address: 203.0.113.7 is not an address of this machine (0.0.0.0 listens on all of them)");
  }

  @Test
  void theValidPairPassesTheCheck() {
    new Security(validCert, validKey, null, null).checkTlsFiles(); // throws if refused
  }
}
