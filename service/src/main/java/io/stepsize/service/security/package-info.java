/**
 * Who may call the service and how much: bearer-token tenants, per-tenant job ownership, TLS
 * settings and request limits. Depends on grpc-api and Guava only; the service wires it in.
 */
package io.stepsize.service.security;
