package io.stepsize.service.security;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * The bearer tokens a service accepts and the tenant each one stands for, from a properties file of
 * {@code token = tenant} lines. Tokens are compared by their SHA-256 digests, so the table never
 * keeps a token in memory and a lookup takes the same time whichever token is asked.
 */
public final class Tenants {
  private final Map<String, String> tenantByDigest;

  private Tenants(Map<String, String> tenantByDigest) {
    this.tenantByDigest = Map.copyOf(tenantByDigest);
  }

  public static Tenants of(Map<String, String> tenantByToken) {
    Map<String, String> byDigest = new HashMap<>();
    tenantByToken.forEach((token, tenant) -> {
      if (token.isBlank() || tenant.isBlank()) {
        throw new IllegalArgumentException("tokens: token and tenant must not be blank");
      }
      byDigest.put(digest(token), tenant.trim());
    });
    if (byDigest.isEmpty()) {
      throw new IllegalArgumentException("tokens: the file defines no token");
    }
    return new Tenants(byDigest);
  }

  /** Reads {@code token = tenant} lines (java.util.Properties syntax). */
  public static Tenants load(Path file) throws IOException {
    Properties p = new Properties();
    try (InputStream in = Files.newInputStream(file)) {
      p.load(in);
    }
    Map<String, String> map = new HashMap<>();
    p.stringPropertyNames().forEach(token -> map.put(token, p.getProperty(token)));
    return of(map);
  }

  public Optional<String> tenantOf(String token) {
    return Optional.ofNullable(tenantByDigest.get(digest(token)));
  }

  public int size() {
    return tenantByDigest.size();
  }

  private static String digest(String token) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
      return java.util.HexFormat.of().formatHex(d);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
