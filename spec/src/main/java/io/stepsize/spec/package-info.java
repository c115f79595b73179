/**
 * The wire-to-domain translation of job specs and curvature records ({@link io.stepsize.spec.JobSpecs}),
 * shared by the estimator, the service and the Java client so all read a job alike. Depends on proto
 * and schedule only.
 */
package io.stepsize.spec;
