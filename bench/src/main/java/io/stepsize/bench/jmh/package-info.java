/**
 * JMH microbenchmarks of the pure math on the hot paths (UBA evaluation, Ritz solve); run by
 * {@code stepsize bench jmh}. Depends on schedule, wire, estimator math and the client's Lanczos driver.
 */
package io.stepsize.bench.jmh;
