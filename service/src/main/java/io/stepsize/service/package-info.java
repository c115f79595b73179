/**
 * The gRPC server, the local views of the jobs and curvature topics, the embedded default wiring and
 * the {@code stepsize} command line. Depends on every module above it; the RPC layer only translates.
 */
package io.stepsize.service;
