/**
 * The lab's one training loop ({@link io.stepsize.lab.train.TrainingLoop}): the seeded batch order,
 * the optimizer updates (SGD with momentum, AdamW, as PyTorch defines them) and the hooks the demo
 * and the experiments plug their learning rates and probes into. Depends on the JDK only; models and
 * data sets come in as an objective over batch indices.
 */
package io.stepsize.lab.train;
