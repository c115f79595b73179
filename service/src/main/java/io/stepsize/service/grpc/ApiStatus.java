package io.stepsize.service.grpc;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.stepsize.service.core.ApiException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The one mapping from the core's refusals to gRPC statuses; anything else is INTERNAL. */
final class ApiStatus {
  private static final Logger log = LoggerFactory.getLogger(ApiStatus.class);

  private ApiStatus() {}

  static StatusRuntimeException of(RuntimeException e) {
    if (e instanceof ApiException api) {
      return code(api.kind()).withDescription(api.getMessage()).withCause(api.getCause()).asRuntimeException();
    }
    if (e instanceof StatusRuntimeException status) {
      return status;
    }
    log.error("internal error", e);
    return Status.INTERNAL.withDescription(e.toString()).asRuntimeException();
  }

  // exhaustive: a new kind does not compile until it has its code
  private static Status code(ApiException.Kind kind) {
    return switch (kind) {
      case INVALID_ARGUMENT -> Status.INVALID_ARGUMENT;
      case NOT_FOUND -> Status.NOT_FOUND;
      case OUT_OF_RANGE -> Status.OUT_OF_RANGE;
      case ALREADY_EXISTS -> Status.ALREADY_EXISTS;
      case PERMISSION_DENIED -> Status.PERMISSION_DENIED;
      case RESOURCE_EXHAUSTED -> Status.RESOURCE_EXHAUSTED;
      case UNAVAILABLE -> Status.UNAVAILABLE;
      case FAILED_PRECONDITION -> Status.FAILED_PRECONDITION;
    };
  }
}
