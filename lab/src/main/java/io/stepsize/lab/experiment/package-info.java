/**
 * {@code stepsize experiment}: a grid of training runs (schedules × budgets × seeds × optimizers ×
 * workloads) whose learning rates come from a Stepsize service, with live curvature probes, and the
 * tables and plots that compare them. May depend on lab.train, lab.demo's models, data and probe, the
 * client, schedule, estimator.math and JFreeChart; only the CLI and bench (Summary) depend on it.
 */
package io.stepsize.lab.experiment;
