/**
 * Benchmarks and load generators (DESIGN.md §2, §6; results in docs/BENCHMARKS.md), run as {@code ./stepsize bench …}
 * from {@code bench/target/stepsize-bench.jar}; each prints one {@code BENCH name key=value ...} line.
 * May depend on every module; nothing depends on it.
 */
package io.stepsize.bench;
