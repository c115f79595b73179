/**
 * The UBA schedule, its baselines and the phi policies as pure functions of (job, step, curvature
 * timeline). Owns the mathematics of DESIGN.md §1.1–1.3, revisions and continuous phi (§1.5–1.6), and
 * the stability margin of §1.7 (edge ratio, guard). Depends on nothing: no I/O, no Kafka, no gRPC.
 */
package io.stepsize.schedule;
