package io.stepsize.schedule;

/** A parameter group with its own range: lr_g = lr_min_g + (lr_max_g - lr_min_g)·f. */
public record ParamGroup(String name, double lrMax, double lrMin) {
  public ParamGroup {
    Checks.present("groups.name", name);
    String field = "groups[" + name + "].";
    Checks.finiteNonNegative(field + "lr_max", lrMax);
    Checks.finiteNonNegative(field + "lr_min", lrMin);
    if (lrMin > lrMax) {
      throw Checks.invalid(field + "lr_min", "must be <= lr_max", lrMin + " > " + lrMax);
    }
  }
}
