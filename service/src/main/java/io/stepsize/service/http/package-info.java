/**
 * HTTP on one port (DESIGN.md §5.2): the console's static files, the JSON API and /metrics. As thin
 * as the gRPC layer: each route is one call of core's Queries or Intake with the caller of its
 * bearer token, refusals become HTTP codes in {@link io.stepsize.service.http.HttpErrors} only.
 */
package io.stepsize.service.http;
