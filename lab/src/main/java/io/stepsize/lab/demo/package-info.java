/**
 * The {@code stepsize demo}, and the workloads the experiments share with it: models with exact
 * HVPs (softmax regression, a tanh MLP), the bundled digits set, the Lanczos curvature probe; the live
 * run against an embedded node, local baselines, the table, CSVs and charts. May depend on lab.train,
 * the client, the service (StepsizeNode), wire, schedule, estimator.math and JFreeChart; only
 * lab.experiment and the CLI depend on it.
 */
package io.stepsize.lab.demo;
