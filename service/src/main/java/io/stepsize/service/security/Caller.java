package io.stepsize.service.security;

import java.util.Objects;

/**
 * Who makes a request: the tenant of its bearer token, or {@link #ANONYMOUS} when the service runs
 * without tokens. Every operation on a job takes its caller first; ownership is decided here only.
 *
 * @param tenant the tenant's name; "" for {@link #ANONYMOUS} (a token's tenant is never blank)
 */
public record Caller(String tenant) {
  /** A caller of a service without authentication: every job is everyone's. */
  public static final Caller ANONYMOUS = new Caller("");

  public Caller {
    Objects.requireNonNull(tenant, "tenant");
  }

  public boolean authenticated() {
    return !tenant.isEmpty();
  }

  /**
   * Whether this caller may use a job written by {@code owner} ("" when the service ran without
   * authentication then; such a job belongs to no tenant once tokens are on).
   */
  public boolean mayUse(String owner) {
    return !authenticated() || tenant.equals(owner);
  }
}
