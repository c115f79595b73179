/**
 * The trainer side: StepsizeClient, the remote schedule with prefetch and fallback, the probe publisher
 * and the Lanczos driver. Depends on proto, schedule, grpc and kafka-clients; never on the service.
 */
package io.stepsize.client;
