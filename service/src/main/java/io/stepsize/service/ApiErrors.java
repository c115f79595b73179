package io.stepsize.service;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/** The status codes of DESIGN.md §3, each with a message a person can act on. */
public final class ApiErrors {
  private ApiErrors() {}

  public static StatusRuntimeException invalid(String message) {
    return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
  }

  public static StatusRuntimeException notFound(String jobId) {
    return Status.NOT_FOUND.withDescription("job_id: no job '" + jobId + "'").asRuntimeException();
  }

  public static StatusRuntimeException outOfRange(String message) {
    return Status.OUT_OF_RANGE.withDescription(message).asRuntimeException();
  }

  public static StatusRuntimeException alreadyExists(String jobId) {
    return Status.ALREADY_EXISTS.withDescription("job_id: job '" + jobId
        + "' exists with a different spec; use a new job_id").asRuntimeException();
  }

  public static StatusRuntimeException permissionDenied(String message) {
    return Status.PERMISSION_DENIED.withDescription(message).asRuntimeException();
  }

  public static StatusRuntimeException resourceExhausted(String message) {
    return Status.RESOURCE_EXHAUSTED.withDescription(message).asRuntimeException();
  }

  public static StatusRuntimeException unavailable(String message, Throwable cause) {
    return Status.UNAVAILABLE.withDescription(message).withCause(cause).asRuntimeException();
  }
}
