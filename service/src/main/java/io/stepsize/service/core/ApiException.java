package io.stepsize.service.core;

import java.util.Objects;

/**
 * A request the server core refuses, of one of the kinds of DESIGN.md §3, with a message a person
 * can act on (it names the field and the rule). The core knows no transport: the gRPC layer maps
 * {@link Kind} to a status code.
 */
public final class ApiException extends RuntimeException {
  /** Why a request fails; each kind is one gRPC status code of the same name. */
  public enum Kind {
    INVALID_ARGUMENT,
    NOT_FOUND,
    OUT_OF_RANGE,
    ALREADY_EXISTS,
    PERMISSION_DENIED,
    RESOURCE_EXHAUSTED,
    UNAVAILABLE,
    /** The job is not in the state the request assumes (ReviseJob's expected_revision, DESIGN.md §1.5). */
    FAILED_PRECONDITION
  }

  private final Kind kind;

  public ApiException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = Objects.requireNonNull(kind, "kind");
  }

  public ApiException(Kind kind, String message) {
    this(kind, message, null);
  }

  public Kind kind() {
    return kind;
  }

  public static ApiException invalid(String message) {
    return new ApiException(Kind.INVALID_ARGUMENT, message);
  }

  public static ApiException notFound(String jobId) {
    return new ApiException(Kind.NOT_FOUND, "job_id: no job '" + jobId + "'");
  }

  public static ApiException outOfRange(String message) {
    return new ApiException(Kind.OUT_OF_RANGE, message);
  }

  public static ApiException alreadyExists(String jobId) {
    return new ApiException(Kind.ALREADY_EXISTS, "job_id: job '" + jobId
        + "' exists with a different spec; use a new job_id");
  }

  /** CreateJob of an id another tenant's job holds: the spec and owner stay hidden. */
  public static ApiException taken(String jobId) {
    return new ApiException(Kind.ALREADY_EXISTS, "job_id: job '" + jobId + "' is taken; use a new job_id");
  }

  /** A request that needs the whole views before they have caught up (DESIGN.md §3). */
  public static ApiException catchingUp() {
    return new ApiException(Kind.UNAVAILABLE, "the views are catching up with the jobs and curvature topics"
        + " after a start; retry in a few seconds", null);
  }

  public static ApiException resourceExhausted(String message) {
    return new ApiException(Kind.RESOURCE_EXHAUSTED, message);
  }

  public static ApiException unavailable(String message, Throwable cause) {
    return new ApiException(Kind.UNAVAILABLE, message, cause);
  }
}
