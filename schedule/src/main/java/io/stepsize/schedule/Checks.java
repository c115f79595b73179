package io.stepsize.schedule;

/**
 * The one place that words validation errors, so that every rule reads the same everywhere:
 * {@code "<field>: <rule> (<detail>)"}, where {@code field} is the DESIGN.md / proto field name in
 * snake_case. The service turns these messages into INVALID_ARGUMENT and the CLI into exit code 2,
 * unchanged, so they must stand on their own for a person who only sees the message.
 */
public final class Checks {
  private Checks() {}

  /** The exception for a broken rule: {@code field: rule (detail)}; detail may be empty. */
  public static InvalidFieldException invalid(String field, String rule, String detail) {
    return new InvalidFieldException(field, ": " + rule + (detail == null || detail.isEmpty() ? "" : " (" + detail + ")"));
  }

  /** {@code field: must be finite and > 0 (got v)}: phi, fallback_phi, scale, ... */
  public static double finitePositive(String field, double v) {
    if (!(v > 0) || !Double.isFinite(v)) {
      throw invalid(field, "must be finite and > 0", "got " + v);
    }
    return v;
  }

  /** {@code field: must be finite and >= 0 (got v)}: learning rates, ratios. */
  public static double finiteNonNegative(String field, double v) {
    if (!(v >= 0) || !Double.isFinite(v)) {
      throw invalid(field, "must be finite and >= 0", "got " + v);
    }
    return v;
  }

  /** {@code field: must be finite (got v)}. */
  public static double finite(String field, double v) {
    if (!Double.isFinite(v)) {
      throw invalid(field, "must be finite", "got " + v);
    }
    return v;
  }

  /** {@code field: must be >= min (got v)}. */
  public static long atLeast(String field, long v, long min) {
    if (v < min) {
      throw invalid(field, "must be >= " + min, "got " + v);
    }
    return v;
  }

  /** {@code field: must be set}: for references that may not be null. */
  public static <T> T present(String field, T v) {
    if (v == null) {
      throw invalid(field, "must be set", "");
    }
    return v;
  }
}
