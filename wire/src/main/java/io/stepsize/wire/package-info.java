/**
 * The wire-to-domain translation of job specs and curvature records ({@link io.stepsize.wire.JobSpecs}),
 * and the layout of the compacted curvature topic ({@link io.stepsize.wire.CurvatureRecords}: job
 * records and timeline segments, folded by {@link io.stepsize.wire.CurvatureAssembly}), shared by the
 * estimator, the service and the Java client so all read a job alike. Depends on proto and schedule only.
 */
package io.stepsize.wire;
