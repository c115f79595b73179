package io.stepsize.lab.experiment;

import io.stepsize.proto.v1.EdgeGuard;
import io.stepsize.proto.v1.LowerEdge;
import io.stepsize.proto.v1.PhiMode;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.proto.v1.Start;
import io.stepsize.schedule.Baseline;
import java.util.Locale;

/**
 * One schedule of the grid. A baseline is evaluated locally (the proto has no baseline policy);
 * every UBA arm is a service job whose rates come from GetLearningRates: a {@code fixed} phi (a
 * number, or {@code paper} = 5 for SGD and 0.5 for AdamW) or {@code condition_number} with its
 * scale, exponent, mode and lower edge, φ = clamp(scale·(2κ)^exponent, 0.1, 1000).
 *
 * <p>Spec syntax (the {@code --arms} flag): a baseline name ({@code cosine}); {@code phi:5} or
 * {@code phi:paper}; {@code kappa:SCALE:EXPONENT[:live|latched|continuous]} ({@code kappa} alone is
 * the service's defaults, scale 0.1, exponent 1, live). Either UBA form takes options after it, each
 * {@code :NAME=VALUE} (issue 14): {@code edge=smallest_positive|quantile|floor|gradient_harmonic}
 * (kappa arms only), {@code guard=R} (EdgeGuard max_edge_ratio R &gt; 0) and
 * {@code start=gradient|random}. An arm with {@code edge=gradient_harmonic} probes from the gradient
 * (START_GRADIENT): λ_h is the gradient's harmonic curvature, which a random start does not measure
 * (DESIGN.md §1.7). Every other arm probes from a random start, as the grid of docs/EXPERIMENTS.md
 * was measured, so its numbers stay reproducible; the guard and continuous mode need only λ_max, which
 * either start gives. {@code start=} overrides either.
 *
 * @param label  the name in tables and plots, CSV-safe
 * @param baseline the baseline, or null for a UBA arm
 * @param fixedPhi the fixed phi; NaN for {@code paper}; null unless a fixed arm
 * @param scale condition_number scale (NaN unless a kappa arm)
 * @param exponent condition_number exponent
 * @param mode condition_number mode (LIVE for the others)
 * @param lowerEdge condition_number lower edge; UNSPECIFIED is the service's default
 * @param guard max_edge_ratio, NaN for no guard
 * @param start where this arm's probes start
 */
public record Arm(String label, Baseline baseline, Double fixedPhi, double scale, double exponent, PhiMode mode,
    LowerEdge lowerEdge, double guard, Start start) {

  private static final String KAPPA_FORM = "kappa or kappa:SCALE:EXPONENT[:live|latched|continuous][:OPTION=VALUE...]";

  public static Arm parse(String spec) {
    String s = spec.trim().toLowerCase(Locale.ROOT);
    String[] parts = s.split(":", -1);
    switch (parts[0]) {
      case "phi" -> {
        if (parts.length < 2 || parts[1].contains("=")) {
          throw new IllegalArgumentException("arm '" + spec + "': expected phi:VALUE or phi:paper[:OPTION=VALUE...]");
        }
        Options o = Options.parse(spec, parts, 2);
        if (parts[1].equals("paper")) {
          return new Arm("uba-phi=paper" + o.suffix, null, Double.NaN, Double.NaN, Double.NaN, PhiMode.PHI_MODE_LIVE,
              LowerEdge.LOWER_EDGE_UNSPECIFIED, o.guard, o.start);
        }
        double phi = number(spec, parts[1]);
        if (!(phi > 0) || !Double.isFinite(phi)) {
          throw new IllegalArgumentException("arm '" + spec + "': phi must be finite and > 0");
        }
        return new Arm("uba-phi=" + fmt(phi) + o.suffix, null, phi, Double.NaN, Double.NaN, PhiMode.PHI_MODE_LIVE,
            LowerEdge.LOWER_EDGE_UNSPECIFIED, o.guard, o.start);
      }
      case "kappa" -> {
        // the positional part: nothing, or SCALE:EXPONENT with an optional mode; options follow
        int positional = 1;
        while (positional < parts.length && !parts[positional].contains("=")) {
          positional++;
        }
        if (positional != 1 && positional != 3 && positional != 4) {
          throw new IllegalArgumentException("arm '" + spec + "': expected " + KAPPA_FORM);
        }
        double scale = positional == 1 ? io.stepsize.schedule.PhiPolicy.ConditionNumber.DEFAULT_SCALE
            : number(spec, parts[1]);
        double exponent = positional == 1 ? 1 : number(spec, parts[2]);
        if (!(scale > 0) || !Double.isFinite(scale) || !Double.isFinite(exponent)) {
          throw new IllegalArgumentException("arm '" + spec + "': scale must be finite and > 0, exponent finite");
        }
        PhiMode mode = PhiMode.PHI_MODE_LIVE;
        if (positional == 4) {
          mode = switch (parts[3]) {
            case "live" -> PhiMode.PHI_MODE_LIVE;
            case "latched" -> PhiMode.PHI_MODE_LATCHED;
            case "continuous" -> PhiMode.PHI_MODE_CONTINUOUS;
            default -> throw new IllegalArgumentException("arm '" + spec + "': mode must be live, latched or continuous");
          };
        }
        Options o = Options.parse(spec, parts, positional);
        String label = "uba-kappa:" + fmt(scale) + ":" + fmt(exponent) + ":" + modeName(mode) + o.suffix;
        return new Arm(label, null, null, scale, exponent, mode, o.edge, o.guard, o.start);
      }
      default -> {
        if (parts.length != 1) {
          throw new IllegalArgumentException("arm '" + spec + "': unknown kind " + parts[0]);
        }
        Baseline b = Baseline.byName(parts[0]);
        return new Arm(b.label(), b, null, Double.NaN, Double.NaN, PhiMode.PHI_MODE_LIVE,
            LowerEdge.LOWER_EDGE_UNSPECIFIED, Double.NaN, Start.START_RANDOM);
      }
    }
  }

  /** The {@code :NAME=VALUE} options of a UBA arm, and the label suffix that names them in a fixed order. */
  private record Options(LowerEdge edge, double guard, Start start, String suffix) {
    static Options parse(String spec, String[] parts, int from) {
      LowerEdge edge = LowerEdge.LOWER_EDGE_UNSPECIFIED;
      double guard = Double.NaN;
      Start start = null;
      boolean kappa = parts[0].equals("kappa");
      java.util.Set<String> seen = new java.util.HashSet<>();
      for (int i = from; i < parts.length; i++) {
        String[] kv = parts[i].split("=", 2);
        if (kv.length != 2 || kv[1].isEmpty()) {
          throw new IllegalArgumentException("arm '" + spec + "': option '" + parts[i]
              + "' must be NAME=VALUE (edge, guard or start)");
        }
        if (!seen.add(kv[0])) {
          throw new IllegalArgumentException("arm '" + spec + "': option " + kv[0] + " given twice");
        }
        switch (kv[0]) {
          case "edge" -> {
            if (!kappa) {
              throw new IllegalArgumentException("arm '" + spec + "': edge applies to kappa arms only");
            }
            edge = switch (kv[1]) {
              case "smallest_positive" -> LowerEdge.LOWER_EDGE_SMALLEST_POSITIVE;
              case "quantile" -> LowerEdge.LOWER_EDGE_QUANTILE;
              case "floor" -> LowerEdge.LOWER_EDGE_FLOOR;
              case "gradient_harmonic" -> LowerEdge.LOWER_EDGE_GRADIENT_HARMONIC;
              default -> throw new IllegalArgumentException("arm '" + spec
                  + "': edge must be smallest_positive, quantile, floor or gradient_harmonic");
            };
          }
          case "guard" -> {
            guard = number(spec, kv[1]);
            if (!(guard > 0) || !Double.isFinite(guard)) {
              throw new IllegalArgumentException("arm '" + spec + "': guard must be finite and > 0");
            }
          }
          case "start" -> start = switch (kv[1]) {
            case "gradient" -> Start.START_GRADIENT;
            case "random" -> Start.START_RANDOM;
            default -> throw new IllegalArgumentException("arm '" + spec + "': start must be gradient or random");
          };
          default -> throw new IllegalArgumentException("arm '" + spec + "': unknown option " + kv[0]
              + " (edge, guard or start)");
        }
      }
      // λ_h needs a gradient start; λ_max (the guard's and continuous mode's input) does not
      Start implied = edge == LowerEdge.LOWER_EDGE_GRADIENT_HARMONIC ? Start.START_GRADIENT : Start.START_RANDOM;
      if (start == null) {
        start = implied;
      }
      StringBuilder suffix = new StringBuilder();
      if (edge != LowerEdge.LOWER_EDGE_UNSPECIFIED) {
        suffix.append(":edge=").append(edgeName(edge));
      }
      if (!Double.isNaN(guard)) {
        suffix.append(":guard=").append(fmt(guard));
      }
      // the start is named only where it differs from what the rest of the spec implies
      if (start != implied) {
        suffix.append(":start=").append(start == Start.START_GRADIENT ? "gradient" : "random");
      }
      return new Options(edge, guard, start, suffix.toString());
    }
  }

  static String modeName(PhiMode mode) {
    return switch (mode) {
      case PHI_MODE_LATCHED -> "latched";
      case PHI_MODE_CONTINUOUS -> "continuous";
      default -> "live";
    };
  }

  static String edgeName(LowerEdge edge) {
    return edge.name().substring("LOWER_EDGE_".length()).toLowerCase(Locale.ROOT);
  }

  private static double number(String spec, String s) {
    try {
      return Double.parseDouble(s);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("arm '" + spec + "': '" + s + "' is not a number");
    }
  }

  /** Shortest form: 5 not 5.0, 0.25 as is. */
  static String fmt(double v) {
    return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
  }

  public boolean isBaseline() {
    return baseline != null;
  }

  public boolean isKappa() {
    return baseline == null && fixedPhi == null;
  }

  public boolean isFixed() {
    return fixedPhi != null;
  }

  public boolean latched() {
    return mode == PhiMode.PHI_MODE_LATCHED;
  }

  public boolean guarded() {
    return !Double.isNaN(guard);
  }

  /** The fixed phi this arm uses with {@code optimizer}; NaN for kappa arms and baselines. */
  public double phiFor(OptimizerKind optimizer) {
    if (fixedPhi == null) {
      return Double.NaN;
    }
    return fixedPhi.isNaN() ? optimizer.paperPhi() : fixedPhi;
  }

  /** The job's phi policy; fallback_phi is left unset, so the optimizer's default applies. */
  public PhiPolicy policy(OptimizerKind optimizer) {
    if (isBaseline()) {
      throw new IllegalStateException(label + " is a baseline: no service policy");
    }
    if (isFixed()) {
      return PhiPolicy.newBuilder().setFixed(PhiPolicy.Fixed.newBuilder().setPhi(phiFor(optimizer))).build();
    }
    return PhiPolicy.newBuilder().setConditionNumber(PhiPolicy.ConditionNumber.newBuilder()
        .setScale(scale).setExponent(exponent).setMode(mode).setLowerEdge(lowerEdge)).build();
  }

  /** The job's guard, or null for none. */
  public EdgeGuard edgeGuard() {
    return guarded() ? EdgeGuard.newBuilder().setMaxEdgeRatio(guard).build() : null;
  }

  /** The φ(κ) this arm applies, clamped to the service's default [0.1, 1000] as its job is: for checks. */
  public double phiOfKappa(double kappa) {
    io.stepsize.schedule.PhiPolicy.ConditionNumber d = io.stepsize.schedule.PhiPolicy.ConditionNumber.defaults();
    return new io.stepsize.schedule.PhiPolicy.ConditionNumber(scale, exponent, d.phiMin(), d.phiMax(),
        d.lowerEdge(), d.floorRatio(), d.quantile(), d.tol(), d.mode()).phiFor(kappa);
  }

  @Override
  public String toString() {
    return label;
  }
}
