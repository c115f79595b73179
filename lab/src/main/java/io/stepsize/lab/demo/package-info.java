/**
 * The {@code stepsize demo}: real models (softmax regression, a tanh MLP) on the bundled digits set,
 * SGD with learning rates from a running Stepsize node, Lanczos probes, baselines, table and plots.
 * Depends on the schedule library, the client and the service node; nothing depends on it but the CLI.
 */
package io.stepsize.lab.demo;
