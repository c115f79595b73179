package io.stepsize.lab.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.stepsize.proto.v1.CurvaturePoint;
import io.stepsize.proto.v1.Start;
import io.stepsize.schedule.CurvatureTimeline;
import java.io.File;
import java.nio.file.Path;
import java.util.List;
import org.jfree.data.xy.XYSeries;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo's curvature charts (DESIGN.md §1.7) draw what the service reported, and nothing for
 * λ_h or an edge ratio it left at 0 (an estimator that does not fill them) or NaN (not defined).
 */
class DemoCurvatureChartsTest {

  private static CurvaturePoint point(long step, double max, double harmonic, double edge) {
    return CurvaturePoint.newBuilder().setStep(step).setProbes(1).setLambdaMax(max).setLambdaLow(max / 10)
        .setLambdaHarmonic(harmonic).setEdgeRatio(edge).setGradientSharpness(max / 2).build();
  }

  private static LiveTrace trace(List<CurvaturePoint> points) {
    List<LiveTrace.ProbeRecord> probes = List.of(
        new LiveTrace.ProbeRecord(0, 20, 8, 0.1, 0.5, 12.0, Start.START_GRADIENT, 3.25),
        new LiveTrace.ProbeRecord(10, 20, 9, 0.1, 0.5, 11.0, Start.START_RANDOM, 1.5),
        new LiveTrace.ProbeRecord(20, 20, 9, 0.1, 0.5, 11.0, Start.START_GRADIENT, Double.NaN));
    return new LiveTrace(null, null, new io.stepsize.proto.v1.LearningRate[0], probes, CurvatureTimeline.EMPTY, 0,
        0, 0, List.of(), points, List.of());
  }

  private static List<Double> xs(XYSeries s) {
    return s.getItems().stream().map(i -> ((org.jfree.data.xy.XYDataItem) i).getXValue()).toList();
  }

  private static List<Double> ys(XYSeries s) {
    return s.getItems().stream().map(i -> ((org.jfree.data.xy.XYDataItem) i).getYValue()).toList();
  }

  @Test
  void reportedValuesAreDrawnAndZerosAndNansAreNot(@TempDir Path dir) throws Exception {
    LiveTrace live = trace(List.of(point(0, 8, 2, 0.4), point(10, 9, 0, Double.NaN), point(20, 9.5, Double.NaN, 1.2),
        point(30, 10, 2.5, 0)));
    DemoCharts curvature = DemoReport.curvatureChart(live);
    List<XYSeries> series = curvature.series();
    assertThat(series).extracting(s -> (String) s.getKey()).containsExactly("lambda_max (Stepsize)",
        "lambda_h (Stepsize)", "g^T H g of one probe (alpha[0])");
    assertThat(xs(series.get(0))).containsExactly(0.0, 10.0, 20.0, 30.0);
    assertThat(ys(series.get(0))).containsExactly(8.0, 9.0, 9.5, 10.0);
    assertThat(xs(series.get(1))).containsExactly(0.0, 30.0);
    assertThat(ys(series.get(1))).containsExactly(2.0, 2.5);
    // alpha[0] is ĝᵀHĝ only for a gradient start: the random-start probe at 10 and the NaN at 20 are left out
    assertThat(xs(series.get(2))).containsExactly(0.0);
    assertThat(ys(series.get(2))).containsExactly(3.25);

    DemoCharts edge = DemoReport.edgeChart(live);
    assertThat(xs(edge.series().get(0))).containsExactly(0.0, 20.0);
    assertThat(ys(edge.series().get(0))).containsExactly(0.4, 1.2);
    assertThat(edge.levels()).containsExactly(java.util.Map.entry(1.0, "edge of stability"));

    File png = dir.resolve("edge.png").toFile();
    edge.writePng(png, DemoReport.WIDTH, DemoReport.HEIGHT);
    assertThat(javax.imageio.ImageIO.read(png).getWidth()).isEqualTo(DemoReport.WIDTH);
    curvature.writePng(dir.resolve("curvature.png").toFile(), DemoReport.WIDTH, DemoReport.HEIGHT);
  }

  @Test
  void anEstimatorThatFillsNeitherFieldGivesEmptySeriesThatStillRender(@TempDir Path dir) throws Exception {
    LiveTrace live = trace(List.of(point(0, 8, 0, 0), point(10, 9, 0, 0)));
    DemoCharts edge = DemoReport.edgeChart(live);
    assertThat(edge.series().get(0).isEmpty()).isTrue();
    edge.writePng(dir.resolve("edge.png").toFile(), DemoReport.WIDTH, DemoReport.HEIGHT);
    DemoCharts curvature = DemoReport.curvatureChart(live);
    assertThat(curvature.series().get(1).isEmpty()).isTrue();
    curvature.writePng(dir.resolve("curvature.png").toFile(), DemoReport.WIDTH, DemoReport.HEIGHT);
    assertThat(DemoReport.reported(0.0)).isNaN();
    assertThat(DemoReport.reported(-1.0)).isNaN();
    assertThat(DemoReport.reported(Double.POSITIVE_INFINITY)).isNaN();
    assertThat(DemoReport.reported(0.75)).isEqualTo(0.75);
  }

  @Test
  void curvatureCsvHasOneRowPerEstimateWithTheTrainersProbe() {
    LiveTrace live = trace(List.of(point(0, 8, 2, 0.4), point(10, 9, 0, Double.NaN), point(40, 1, 0, 0)));
    assertThat(DemoReport.curvatureCsv(live)).isEqualTo(
        "step,probes,start,alpha0,lambda_max,lambda_low,lambda_harmonic,gradient_sharpness,negative_mass,edge_ratio\n"
            + "0,1,gradient,3.25,8.0,0.8,2.0,4.0,0.0,0.4\n"
            + "10,1,random,1.5,9.0,0.9,0.0,4.5,0.0,NaN\n"
            + "40,1,,,1.0,0.1,0.0,0.5,0.0,0.0\n");
  }
}
