package io.stepsize.schedule;

/**
 * A broken rule of one field, worded {@code "<field>: <rule> (<detail>)"} by {@link Checks}. It keeps the
 * field apart from the rest, so a caller that knows where the field sits in a larger message (wire/
 * knows the proto path, e.g. {@code phi_policy.condition_number.}) can say so without restating the rule.
 */
public final class InvalidFieldException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final String field;
  private final String rest;

  InvalidFieldException(String field, String rest) {
    super(field + rest);
    this.field = field;
    this.rest = rest;
  }

  /** The field as the schedule names it (snake_case, as in DESIGN.md and the proto). */
  public String field() {
    return field;
  }

  /** The same rule, with {@code path} put before the field name. */
  public InvalidFieldException under(String path) {
    InvalidFieldException moved = new InvalidFieldException(path + field, rest);
    moved.initCause(this);
    return moved;
  }
}
