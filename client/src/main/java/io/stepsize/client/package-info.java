/**
 * The trainer side: {@link io.stepsize.client.StepsizeClient}, the remote schedule with prefetch and
 * fallback, the probe publishers and the Lanczos driver. Depends on proto, spec, schedule, grpc and
 * kafka-clients; never on the service.
 */
package io.stepsize.client;
