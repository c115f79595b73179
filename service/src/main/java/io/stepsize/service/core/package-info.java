/**
 * The server core, free of any transport: {@link io.stepsize.service.core.Jobs} is the one way to
 * a job (ownership and request rate checked there), {@link io.stepsize.service.core.Queries} reads,
 * {@link io.stepsize.service.core.Intake} validates and publishes, and refusals are
 * {@link io.stepsize.service.core.ApiException}s. Depends on wire, schedule, the local views,
 * security and kafka-clients' Producer; never on gRPC, the estimator or the broker.
 */
package io.stepsize.service.core;
