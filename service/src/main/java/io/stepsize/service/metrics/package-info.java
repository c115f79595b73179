/**
 * Prometheus metrics of one replica: request latency by method and code, probes, dead letters,
 * estimate freshness and per-job kappa and phi with bounded cardinality. Depends on the local
 * views for the per-job gauges; nothing depends on it but the wiring.
 */
package io.stepsize.service.metrics;
