/**
 * The {@code stepsize} command (DESIGN.md §5.1): picocli verbs ({@code serve}, {@code estimator}, {@code schedule},
 * {@code demo}, {@code experiment}) over the modules below, and the shaded jar {@code cli/target/stepsize.jar}
 * that {@code ./stepsize} runs. May depend on every module but bench; only cli and bench use picocli.
 */
package io.stepsize.cli;
