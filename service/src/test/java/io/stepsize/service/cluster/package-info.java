/**
 * Fault tests of Stepsize on a replicated Kafka cluster: three in-JVM KRaft nodes, two service
 * replicas and a separate estimator, each stopped and restarted while probes stream in.
 */
package io.stepsize.service.cluster;
