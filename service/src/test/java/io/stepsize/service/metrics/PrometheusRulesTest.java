package io.stepsize.service.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * deploy/prometheus checked by Debian's promtool: the config and rules parse, and the alert
 * expressions behave as alerts_test.yml says (input series in, expected alerts out), so a rule that
 * stops matching its intent fails here.
 */
class PrometheusRulesTest {
  /** One per alert in alerts.yml: edge ratio, dead letters, views lag, no probes. */
  private static final int RULES = 4;

  @Test
  void alertingRulesAreValid() throws Exception {
    Tools.Run run = Tools.run(Tools.prometheusDir(), List.of("promtool", "check", "rules", "alerts.yml"));
    assertThat(run.exitCode()).as(run.output()).isZero();
    assertThat(run.output()).contains("SUCCESS: " + RULES + " rules found");
  }

  @Test
  void configIsValidAndLoadsTheRules() throws Exception {
    Tools.Run run = Tools.run(Tools.prometheusDir(), List.of("promtool", "check", "config", "prometheus.yml"));
    assertThat(run.exitCode()).as(run.output()).isZero();
    assertThat(run.output()).contains("SUCCESS: 1 rule files found")
        .contains("SUCCESS: prometheus.yml is valid prometheus config file syntax")
        .contains("SUCCESS: " + RULES + " rules found");
  }

  @Test
  void alertExpressionsPassTheirUnitTests() throws Exception {
    Tools.Run run = Tools.run(Tools.prometheusDir(), List.of("promtool", "test", "rules", "alerts_test.yml"));
    assertThat(run.exitCode()).as(run.output()).isZero();
    assertThat(run.output()).contains("SUCCESS");
  }
}
