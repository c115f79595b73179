package io.stepsize.estimator;

import static org.assertj.core.api.Assertions.assertThat;

import io.stepsize.wire.Topics;
import java.nio.file.Path;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class EstimatorConfigTest {
  /** The application's settings when the deployment's own client properties are {@code keyValues}. */
  private static Properties config(String... keyValues) {
    Properties own = new Properties();
    for (int i = 0; i < keyValues.length; i += 2) {
      own.put(keyValues[i], keyValues[i + 1]);
    }
    return EstimatorApp.config("k:9092", Topics.unprefixed(), Path.of("state"), own);
  }

  @Test
  void producerBatchesAre256KibUnlessTheDeploymentSaysOtherwise() {
    assertThat(config().getProperty("producer.batch.size")).isEqualTo("262144");

    Properties config = config("producer.batch.size", "65536", "security.protocol", "SSL");
    assertThat(config.getProperty("producer.batch.size")).isEqualTo("65536");
    assertThat(config.getProperty("security.protocol")).isEqualTo("SSL");
  }

  @Test
  void correctnessSettingsAreNotTheDeploymentsToChange() {
    Properties config = config("processing.guarantee", "at_least_once", "commit.interval.ms", "30000");
    assertThat(config.getProperty("processing.guarantee")).isEqualTo("exactly_once_v2");
    assertThat(config.getProperty("commit.interval.ms")).isEqualTo("100");
  }
}
