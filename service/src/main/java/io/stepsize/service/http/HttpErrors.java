package io.stepsize.service.http;

import com.google.gson.JsonObject;
import io.stepsize.service.core.ApiException;

/**
 * The one mapping from the core's refusals to HTTP codes, as gRPC's HTTP mapping does (DESIGN.md
 * §5.2), with the body {@code {"code", "message"}}: code is the gRPC status name, message the core's.
 */
final class HttpErrors {
  static final String UNAUTHENTICATED = "UNAUTHENTICATED";

  private HttpErrors() {}

  // exhaustive: a new kind does not compile until it has its code
  static int status(ApiException.Kind kind) {
    return switch (kind) {
      case INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE -> 400;
      case PERMISSION_DENIED -> 403;
      case NOT_FOUND -> 404;
      case ALREADY_EXISTS -> 409;
      case RESOURCE_EXHAUSTED -> 429;
      case UNAVAILABLE -> 503;
    };
  }

  static String body(String code, String message) {
    JsonObject o = new JsonObject();
    o.addProperty("code", code);
    o.addProperty("message", message);
    return o.toString();
  }
}
