package io.stepsize.schedule;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** A parameter group with its own range: lr_g = lr_min_g + (lr_max_g - lr_min_g)·f. */
public record ParamGroup(String name, double lrMax, double lrMin) {
  /** The longest group name: names travel in every error message about their group. */
  public static final int MAX_NAME_CHARS = 128;

  public ParamGroup {
    Checks.present("groups.name", name);
    String field = "groups[" + name + "].";
    Checks.finiteNonNegative(field + "lr_max", lrMax);
    Checks.finiteNonNegative(field + "lr_min", lrMin);
    if (lrMin > lrMax) {
      throw Checks.invalid(field + "lr_min", "must be <= lr_max", lrMin + " > " + lrMax);
    }
  }

  /**
   * The rule of a job's group names, by position: each is non-empty, at most {@link #MAX_NAME_CHARS}
   * characters, and unique within the job (a group is named in messages and answers by its name).
   */
  public static void checkNames(List<String> names) {
    Map<String, Integer> seen = new HashMap<>();
    for (int i = 0; i < names.size(); i++) {
      String name = names.get(i);
      String field = "groups[" + i + "].name";
      if (name == null || name.isEmpty()) {
        throw Checks.invalid(field, "must not be empty", "");
      }
      if (name.length() > MAX_NAME_CHARS) {
        throw Checks.invalid(field, "must be at most " + MAX_NAME_CHARS + " characters", "got " + name.length());
      }
      Integer first = seen.putIfAbsent(name, i);
      if (first != null) {
        throw Checks.invalid(field, "must be unique within the job", "'" + name + "' is also groups[" + first + "]");
      }
    }
  }
}
