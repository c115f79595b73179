package io.stepsize.schedule;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A job's schedule with its revisions (DESIGN.md §1.5) and continuous phi (§1.6): still a pure
 * function of (spec, revisions, estimates applying at or before s, step).
 *
 * <p>Revision n governs the steps from its from_step a_n to the next revision's (or to the total
 * in force), with the schedule the spec and revisions 1..n make (its "era"); the spec is era 0.
 * Where a revision or a phi change of continuous mode re-plans the rest of a phase, the plan keeps
 * a {@link Replan}: its value v is the value the job answered for that step before, so it depends
 * on the estimates applying there. The re-plans of one timeline are worked out once, in step order,
 * and kept until another timeline is asked about ({@link #evaluate} is then a binary search and
 * the formula, as for a job without revisions). A job with no revision and no continuous phase
 * needs no re-plans and answers exactly as {@link LrEvaluator#evaluate(JobSchedule, long, CurvatureTimeline)}.
 *
 * <p>The plan knows the job's {@link StabilityMargin} (DESIGN.md §1.7): every value carries its edge
 * ratio, and {@link #evaluate} applies the guard last, to the answer only. Re-plans and holds read
 * the scheduled (unguarded) curve, so the served lr is min(scheduled, cap) at each step and a guard
 * that stops acting leaves the plan as if it had never acted. Revisions do not change the margin.
 */
public final class JobPlan {

  /** One revision's schedule and the step it governs from; era 0 is the spec, from step 0. */
  private record Era(JobSchedule schedule, long from, Revision revision) {}

  /** The re-plans of one timeline, per era, in step order. */
  private record Memo(CurvatureTimeline timeline, List<Replan>[] replans) {}

  private final JobSchedule spec;
  private final StabilityMargin margin;
  private final List<Revision> revisions;
  private final Era[] eras;
  private final boolean needsReplans;
  private volatile Memo memo;

  private JobPlan(JobSchedule spec, StabilityMargin margin, List<Revision> revisions, Era[] eras) {
    this.spec = spec;
    this.margin = margin;
    this.revisions = List.copyOf(revisions);
    this.eras = eras;
    boolean replans = eras.length > 1;
    for (Era e : eras) {
      replans |= continuous(e.schedule);
    }
    this.needsReplans = replans;
  }

  /**
   * The plan of a spec and its revisions in order (revision n is {@code revisions.get(n - 1)}). A
   * broken rule names the revision: {@code revisions[i].from_step: ...}.
   */
  public static JobPlan of(JobSchedule spec, List<Revision> revisions) {
    return of(spec, revisions, StabilityMargin.DEFAULT);
  }

  /** {@link #of(JobSchedule, List)} for a job with its optimizer, momentum and guard (DESIGN.md §1.7). */
  public static JobPlan of(JobSchedule spec, List<Revision> revisions, StabilityMargin margin) {
    JobPlan plan = new JobPlan(Checks.present("spec", spec), Checks.present("margin", margin), List.of(),
        new Era[] {new Era(spec, 0, null)});
    for (int i = 0; i < revisions.size(); i++) {
      try {
        plan = plan.revise(Checks.present("revision", revisions.get(i)));
      } catch (InvalidFieldException e) {
        throw e.under("revisions[" + i + "].");
      }
    }
    return plan;
  }

  /**
   * This plan with one more revision, checked against the schedule in force before it (the rules of
   * DESIGN.md §1.5); a broken rule names the revision's field ({@code from_step: ...}).
   */
  public JobPlan revise(Revision r) {
    Era last = eras[eras.length - 1];
    JobSchedule before = last.schedule;
    Budget b = before.budget();
    long a = r.fromStep();
    long total = b.totalSteps();
    if (eras.length > 1 && a < last.from) {
      throw Checks.invalid("from_step", "must be >= the previous revision's from_step = " + last.from, "got " + a);
    }
    if (a > total) {
      throw Checks.invalid("from_step", "must be <= total_steps = " + total
          + " (a finished job is extended from total_steps)", "got " + a);
    }
    long newTotal = r.totalSteps() != null ? r.totalSteps() : total;
    if (newTotal <= a) {
      throw Checks.invalid("total_steps", "must be > from_step = " + a,
          "got " + newTotal + (r.totalSteps() == null ? ", the total_steps in force" : ""));
    }
    long w = b.warmupSteps();
    if (newTotal <= w) {
      throw Checks.invalid("total_steps", "must be > warmup_steps = " + w, "got " + newTotal);
    }
    long[] previous = effectiveBoundaries(b);
    long[] boundaries;
    if (r.boundaryCount() > 0) {
      long[] listed = r.phaseBoundaries();
      if (listed[0] <= a) {
        throw Checks.invalid("phase_boundaries", "must list only the boundaries after from_step = " + a,
            "got " + listed[0]);
      }
      boundaries = concat(kept(previous, a, total), listed);
    } else if (newTotal != total) {
      for (long boundary : previous) {
        if (boundary > a && boundary < total) {
          throw Checks.invalid("phase_boundaries", "must be given when total_steps changes and the job has a"
              + " boundary in (from_step, total_steps) = (" + a + ", " + total + ")", "the job has " + boundary);
        }
      }
      boundaries = concat(kept(previous, a, total), new long[] {newTotal});
    } else {
      boundaries = previous;
    }
    Budget budget = new Budget(newTotal, w, boundaries, b.phaseOffset());
    List<ParamGroup> groups = before.groups();
    if (!r.groups().isEmpty()) {
      List<String> names = before.groups().stream().map(ParamGroup::name).toList();
      List<String> got = r.groups().stream().map(ParamGroup::name).toList();
      if (!names.equals(got)) {
        throw Checks.invalid("groups", "must name the job's groups in order, " + names, "got " + got);
      }
      groups = r.groups();
    }
    if (r.setLr() != null && !r.hold() && a < w) {
      throw Checks.invalid("set_lr", "needs from_step >= warmup_steps = " + w + " or hold (the warmup is kept)",
          "from_step = " + a);
    }
    JobSchedule revised = new JobSchedule(budget,
        r.lrMax() != null ? r.lrMax() : before.lrMax(),
        r.lrMin() != null ? r.lrMin() : before.lrMin(),
        groups,
        r.policy() != null ? r.policy() : before.policy(),
        r.fallbackPhi() != null ? r.fallbackPhi() : before.fallbackPhi(),
        before.applyDelaySteps());
    List<Revision> all = new ArrayList<>(revisions);
    all.add(r);
    Era[] more = Arrays.copyOf(eras, eras.length + 1);
    more[eras.length] = new Era(revised, a, r);
    return new JobPlan(spec, margin, all, more);
  }

  /** B_1..B_K with the implicit single boundary T written out. */
  private static long[] effectiveBoundaries(Budget b) {
    long[] given = b.boundaries();
    return given.length == 0 ? new long[] {b.totalSteps()} : given;
  }

  /** The boundaries a revision from a keeps: those at or before a, except T itself (extended). */
  private static long[] kept(long[] boundaries, long a, long total) {
    return Arrays.stream(boundaries).filter(x -> x <= a && x < total).toArray();
  }

  private static long[] concat(long[] x, long[] y) {
    long[] all = Arrays.copyOf(x, x.length + y.length);
    System.arraycopy(y, 0, all, x.length, y.length);
    return all;
  }

  /** Whether a schedule's phi policy is condition_number in continuous mode (DESIGN.md §1.6). */
  static boolean continuous(JobSchedule job) {
    return job.policy() instanceof PhiPolicy.ConditionNumber c && c.mode() == PhiMode.CONTINUOUS;
  }

  /** The spec's schedule (revision 0). */
  public JobSchedule spec() {
    return spec;
  }

  /** The job's optimizer, momentum and guard. */
  public StabilityMargin margin() {
    return margin;
  }

  /** The revisions, revision n at index n - 1. */
  public List<Revision> revisions() {
    return revisions;
  }

  /** The schedule in force: the spec with every revision applied. */
  public JobSchedule inForce() {
    return eras[eras.length - 1].schedule;
  }

  /** The budget in force (its total_steps is the one steps are checked against). */
  public Budget budget() {
    return inForce().budget();
  }

  /** The schedule of revision n (0: the spec). */
  public JobSchedule schedule(int revision) {
    return eras[revision].schedule;
  }

  /** The revision that governs a step: the last whose from_step is <= step (0: the spec). */
  public int revisionAt(long step) {
    int lo = 0;
    int hi = eras.length - 1;
    while (lo < hi) {
      int mid = (lo + hi + 1) >>> 1;
      if (eras[mid].from <= step) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return lo;
  }

  /**
   * The learning rate of {@code step} (in [0, total_steps in force)) given the estimates so far: the
   * scheduled value with its edge ratio, lowered by the guard when the estimate in force asks for it.
   */
  public LrValue evaluate(long step, CurvatureTimeline timeline) {
    CurvatureTimeline estimates = timeline == null ? CurvatureTimeline.EMPTY : timeline;
    LrValue v = scheduled(step, estimates);
    return margin.maxEdgeRatio() == null ? v : margin.guard(v, estimates.applyingTo(step));
  }

  private LrValue scheduled(long step, CurvatureTimeline estimates) {
    budget().checkStep(step);
    int era = revisionAt(step);
    if (!needsReplans) {
      JobSchedule s = eras[era].schedule;
      return s.policy().evaluate(s, step, s.budget().phaseOf(step), estimates, null, era, margin);
    }
    Memo m = memo;
    if (m == null || m.timeline != estimates) {
      m = new Memo(estimates, replans(estimates));
      memo = m;
    }
    return valueIn(era, step, estimates, m.replans);
  }

  private LrValue valueIn(int era, long step, CurvatureTimeline estimates, List<Replan>[] replans) {
    JobSchedule s = eras[era].schedule;
    int phase = s.budget().phaseOf(step);
    return s.policy().evaluate(s, step, phase, estimates, replanAt(replans[era], phase, step), era, margin);
  }

  /** The re-plan in force at a step of a phase: the last one at or before it, if it is of that phase or a hold. */
  private static Replan replanAt(List<Replan> replans, int phase, long step) {
    int lo = 0;
    int hi = replans.size() - 1;
    int found = -1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      if (replans.get(mid).step() <= step) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0) {
      return null;
    }
    Replan r = replans.get(found);
    return r.hold() || r.phase() == phase ? r : null;
  }

  /**
   * Every re-plan under one timeline, in step order: each revision's at its from_step, then in a
   * continuous era each step e inside a phase (e > B_{k-1}) where phi changes, from the value the
   * curve had at e with the phi before it. Later values read earlier ones, so the order matters.
   */
  @SuppressWarnings("unchecked")
  private List<Replan>[] replans(CurvatureTimeline estimates) {
    List<Replan>[] all = new List[eras.length];
    for (int i = 0; i < eras.length; i++) {
      List<Replan> here = new ArrayList<>();
      all[i] = here;
      Era era = eras[i];
      JobSchedule s = era.schedule;
      Budget b = s.budget();
      long from = era.from;
      long end = i + 1 < eras.length ? eras[i + 1].from : b.totalSteps();
      if (i > 0) {
        Revision r = era.revision;
        // for a >= the old T, the old value at T - 1 (DESIGN.md §1.5)
        long at = Math.min(from, eras[i - 1].schedule.budget().totalSteps() - 1);
        LrValue before = valueIn(i - 1, at, estimates, all);
        double v = r.setLr() != null ? r.setLr() : before.lr();
        double[] groupValues = r.setLr() != null ? scaled(before, s, r.setLr()) : before.groupLrs().clone();
        int phase = b.phaseOf(from);
        if (r.hold()) {
          here.add(new Replan(from, end, phase, false, v, groupValues, true));
          continue;
        }
        if (phase > 0) {
          here.add(new Replan(from, b.phaseEnd(phase), phase, Uba.rising(b, phase), v, groupValues, false));
        }
      }
      if (!continuous(s)) {
        continue;
      }
      PhiPolicy.ConditionNumber policy = (PhiPolicy.ConditionNumber) s.policy();
      for (long e = estimates.nextChangeAfter(from); e < end; e = estimates.nextChangeAfter(e)) {
        int phase = b.phaseOf(e);
        if (phase == 0 || e == b.phaseStart(phase)) {
          continue; // a phase starts with the phi in force at its first step
        }
        double old = policy.phiAt(s, e - 1, phase, estimates);
        if (old == policy.phiAt(s, e, phase, estimates)) {
          continue;
        }
        LrValue was = LrEvaluator.value(s, e, phase, old, Source.CURVATURE, replanAt(here, phase, e), i, margin,
            estimates);
        here.add(new Replan(e, b.phaseEnd(phase), phase, Uba.rising(b, phase), was.lr(), was.groupLrs().clone(),
            false));
      }
    }
    return all;
  }

  /**
   * The group values of a set_lr: each group keeps its ratio to the job at a (v_g = v_g,before ·
   * set_lr / v_before), or, when the job's value before was 0, its ratio of lr_max.
   */
  private static double[] scaled(LrValue before, JobSchedule s, double setLr) {
    double[] g = before.groupLrs().clone();
    for (int i = 0; i < g.length; i++) {
      if (before.lr() > 0) {
        g[i] = g[i] * (setLr / before.lr());
      } else {
        g[i] = s.lrMax() > 0 ? setLr * (s.groups().get(i).lrMax() / s.lrMax()) : setLr;
      }
    }
    return g;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof JobPlan p && p.spec.equals(spec) && p.margin.equals(margin) && p.revisions.equals(revisions);
  }

  @Override
  public int hashCode() {
    return (spec.hashCode() * 31 + margin.hashCode()) * 31 + revisions.hashCode();
  }

  @Override
  public String toString() {
    return "JobPlan[spec=" + spec + ", margin=" + margin + ", revisions=" + revisions + "]";
  }
}
