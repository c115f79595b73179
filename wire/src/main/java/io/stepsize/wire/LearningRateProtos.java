package io.stepsize.wire;

import io.stepsize.proto.v1.LearningRate;
import io.stepsize.proto.v1.Source;
import io.stepsize.schedule.LrValue;

/** Domain values to wire messages, in one place so every RPC answers alike. */
public final class LearningRateProtos {
  private LearningRateProtos() {}

  public static LearningRate learningRate(String jobId, LrValue v) {
    LearningRate.Builder b = LearningRate.newBuilder()
        .setJobId(jobId)
        .setStep(v.step())
        .setLr(v.lr())
        .setFactor(v.factor())
        .setPhi(v.phi())
        .setPhase(v.phase())
        .setKappa(v.kappa())
        .setLambdaLow(v.lambdaLow())
        .setLambdaMax(v.lambdaMax())
        .setCurvatureStep(v.curvatureStep())
        .setSource(source(v.source()))
        .setRevision(v.revision())
        // NaN (no estimate in force, or not of the operator the optimizer steps on) is sent as NaN:
        // proto3 doubles carry it, and 0 would read as "far from the edge"
        .setEdgeRatio(v.edgeRatio())
        .setGuarded(v.guarded());
    for (double g : v.groupLrs()) {
      b.addGroupLrs(g);
    }
    if (v.note() != null && !v.note().isEmpty()) {
      b.setNote(v.note());
    }
    return b.build();
  }

  public static Source source(io.stepsize.schedule.Source s) {
    return switch (s) {
      case FALLBACK -> Source.SOURCE_FALLBACK;
      case CURVATURE -> Source.SOURCE_CURVATURE;
      case FIXED -> Source.SOURCE_FIXED;
      case WARMUP -> Source.SOURCE_WARMUP;
    };
  }
}
