package io.stepsize.lab.train;

/** One optimizer update of the parameters in place, with the step's learning rate; holds the optimizer's state. */
@FunctionalInterface
public interface Update {
  void apply(double[] params, double[] gradient, double lr);
}
