/**
 * {@code stepsize experiment}: a grid of training runs (schedules × budgets × seeds × optimizers ×
 * workloads) whose learning rates come from a Stepsize service, with live curvature probes, and the
 * tables and plots that compare them. Depends on the client, the schedule library, the demo
 * package's models (read-only) and JFreeChart; nothing depends on it but the CLI.
 */
package io.stepsize.lab.experiment;
