package io.stepsize.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The limit flags of {@code stepsize serve} (docs/SECURITY.md, Limits): a bad value exits 2 naming its flag, before anything starts. */
class ServeLimitsFlagsTest {

  @Test
  void badLimitsExitTwoNamingTheFlag() {
    String[][] cases = {
        {"--max-spec-bytes: must be in [1024, 1000000], the largest record Stepsize publishes (got 2000000)",
            "--max-spec-bytes", "2000000"},
        {"--max-groups: must be >= 0 (got -1)", "--max-groups", "-1"},
        {"--max-window-numbers: must be >= max(1, max_groups) = 1000 (got 999)", "--max-window-numbers", "999"},
        {"--max-concurrent-windows: must be >= 1 (got 0)", "--max-concurrent-windows", "0"},
        {"--max-jobs-per-tenant: must be >= 1 (got 0)", "--max-jobs-per-tenant", "0"},
        {"--tenant-rate-limit: must be >= 0 (got -1)", "--tenant-rate-limit", "-1"},
    };
    for (String[] c : cases) {
      CliHarness cli = new CliHarness("serve");
      String[] args = Arrays.copyOfRange(c, 1, c.length);
      assertThat(cli.run(args)).as(String.join(" ", args)).isEqualTo(2);
      assertThat(cli.err.toString()).as(String.join(" ", args)).contains(c[0]);
    }
  }

  @Test
  void helpListsTheLimitsWithTheirDefaults() {
    CliHarness cli = new CliHarness("serve");
    assertThat(cli.run("--help")).isZero();
    assertThat(cli.out.toString()).contains("--max-groups", "(default 1000)", "--max-spec-bytes", "(default 65536)",
        "--max-window-numbers", "(default 1000000)", "--max-concurrent-windows", "(default 8)",
        "--max-jobs-per-tenant", "(default 10000)", "--tenant-rate-limit");
    assertThat(cli.out.toString().replaceAll("\\s+", " ")).as("DESIGN 5.2: one default in both modes")
        .contains("--http-port=PORT The console, the JSON API and /metrics at http: //HOST:PORT/; 0 = any free port,"
            + " -1 = off (default 8080).");
  }
}
