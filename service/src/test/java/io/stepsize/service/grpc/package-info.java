/** The gRPC API contract, run in-process over hand-filled local views (no broker). */
package io.stepsize.service.grpc;
