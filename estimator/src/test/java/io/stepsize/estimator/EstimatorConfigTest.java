package io.stepsize.estimator;

import static org.assertj.core.api.Assertions.assertThat;

import io.stepsize.wire.Topics;
import java.nio.file.Path;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class EstimatorConfigTest {
  private static final Path DIR = Path.of("state");

  @Test
  void producerBatchesAre256KibUnlessTheDeploymentSaysOtherwise() {
    Properties none = EstimatorApp.config("k:9092", Topics.unprefixed(), DIR, new Properties());
    assertThat(none.getProperty("producer.batch.size")).isEqualTo("262144");

    Properties own = new Properties();
    own.put("producer.batch.size", "65536");
    own.put("security.protocol", "SSL");
    Properties config = EstimatorApp.config("k:9092", Topics.unprefixed(), DIR, own);
    assertThat(config.getProperty("producer.batch.size")).isEqualTo("65536");
    assertThat(config.getProperty("security.protocol")).isEqualTo("SSL");
  }

  @Test
  void correctnessSettingsAreNotTheDeploymentsToChange() {
    Properties own = new Properties();
    own.put("processing.guarantee", "at_least_once");
    own.put("commit.interval.ms", "30000");
    Properties config = EstimatorApp.config("k:9092", Topics.unprefixed(), DIR, own);
    assertThat(config.getProperty("processing.guarantee")).isEqualTo("exactly_once_v2");
    assertThat(config.getProperty("commit.interval.ms")).isEqualTo("100");
  }
}
