package io.stepsize.lab.experiment;

import io.stepsize.proto.v1.PhiMode;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.schedule.Baseline;
import java.util.Locale;

/**
 * One schedule of the grid. A baseline is evaluated locally (the proto has no baseline policy);
 * every UBA arm is a service job whose rates come from GetLearningRates: a {@code fixed} phi (a
 * number, or {@code paper} = 5 for SGD and 0.5 for AdamW) or {@code condition_number} with its
 * scale, exponent and mode, φ = clamp(scale·(2κ)^exponent, 0.1, 1000).
 *
 * <p>Spec syntax (the {@code --arms} flag): a baseline name ({@code cosine}); {@code phi:5} or
 * {@code phi:paper}; {@code kappa:SCALE:EXPONENT[:live|latched]} ({@code kappa} alone is the
 * service's defaults, scale 0.1, exponent 1, live).
 *
 * @param label  the name in tables and plots, CSV-safe
 * @param baseline the baseline, or null for a UBA arm
 * @param fixedPhi the fixed phi; NaN for {@code paper}; null unless a fixed arm
 * @param scale condition_number scale (NaN unless a kappa arm)
 * @param exponent condition_number exponent
 * @param latched condition_number mode
 */
public record Arm(String label, Baseline baseline, Double fixedPhi, double scale, double exponent, boolean latched) {

  public static Arm parse(String spec) {
    String s = spec.trim().toLowerCase(Locale.ROOT);
    String[] parts = s.split(":");
    switch (parts[0]) {
      case "phi" -> {
        if (parts.length != 2) {
          throw new IllegalArgumentException("arm '" + spec + "': expected phi:VALUE or phi:paper");
        }
        if (parts[1].equals("paper")) {
          return new Arm("uba-phi=paper", null, Double.NaN, Double.NaN, Double.NaN, false);
        }
        double phi = number(spec, parts[1]);
        if (!(phi > 0) || !Double.isFinite(phi)) {
          throw new IllegalArgumentException("arm '" + spec + "': phi must be finite and > 0");
        }
        return new Arm("uba-phi=" + fmt(phi), null, phi, Double.NaN, Double.NaN, false);
      }
      case "kappa" -> {
        if (parts.length != 1 && parts.length != 3 && parts.length != 4) {
          throw new IllegalArgumentException("arm '" + spec + "': expected kappa or kappa:SCALE:EXPONENT[:live|latched]");
        }
        double scale = parts.length == 1 ? io.stepsize.schedule.PhiPolicy.ConditionNumber.DEFAULT_SCALE : number(spec, parts[1]);
        double exponent = parts.length == 1 ? 1 : number(spec, parts[2]);
        if (!(scale > 0) || !Double.isFinite(scale) || !Double.isFinite(exponent)) {
          throw new IllegalArgumentException("arm '" + spec + "': scale must be finite and > 0, exponent finite");
        }
        boolean latched = false;
        if (parts.length == 4) {
          if (!parts[3].equals("live") && !parts[3].equals("latched")) {
            throw new IllegalArgumentException("arm '" + spec + "': mode must be live or latched");
          }
          latched = parts[3].equals("latched");
        }
        String label = "uba-kappa:" + fmt(scale) + ":" + fmt(exponent) + ":" + (latched ? "latched" : "live");
        return new Arm(label, null, null, scale, exponent, latched);
      }
      default -> {
        if (parts.length != 1) {
          throw new IllegalArgumentException("arm '" + spec + "': unknown kind " + parts[0]);
        }
        Baseline b = Baseline.byName(parts[0]);
        return new Arm(b.label(), b, null, Double.NaN, Double.NaN, false);
      }
    }
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
        .setScale(scale).setExponent(exponent)
        .setMode(latched ? PhiMode.PHI_MODE_LATCHED : PhiMode.PHI_MODE_LIVE)).build();
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
