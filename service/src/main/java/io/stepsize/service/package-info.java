/**
 * The Stepsize server: the gRPC API ({@code grpc}), its transport-free core ({@code core}), the
 * local views of the jobs and curvature topics ({@code view}), security and limits, metrics, and
 * {@link io.stepsize.service.StepsizeNode}, one process's wiring. Depends on wire (and through it
 * schedule and proto); only StepsizeNode touches estimator and broker, to run them in-process.
 */
package io.stepsize.service;
