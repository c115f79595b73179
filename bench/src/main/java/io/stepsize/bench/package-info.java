/**
 * Benchmarks and load generators; each prints one {@code BENCH name key=value ...} line.
 * Depends on everything.
 */
package io.stepsize.bench;
