package io.stepsize.service.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.StatusRuntimeException;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.Job;
import io.stepsize.proto.v1.Revision;
import io.stepsize.service.security.Caller;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The console in a real browser (Debian's chromium, driven by Selenium through Debian's
 * chromedriver) against a real embedded node with two tenants. One browser session for the class,
 * as a browser's start is slow on two cores; the tests run in order on it. A failing test leaves a
 * screenshot in target/.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConsoleBrowserTest {
  private static final String CHROMIUM = "/usr/bin/chromium";
  private static final String CHROMEDRIVER = "/usr/bin/chromedriver";
  private static final long TOTAL = 5000;
  @TempDir static Path dir;
  static WebNode web;
  static WebDriver driver;

  @RegisterExtension
  static final TestWatcher SCREENSHOT_ON_FAILURE = new TestWatcher() {
    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
      if (driver != null) {
        try {
          Path target = Files.createDirectories(Path.of("target"));
          Path file = target.resolve("console-" + context.getRequiredTestMethod().getName() + ".png");
          Files.write(file, ((ChromeDriver) driver).getScreenshotAs(OutputType.BYTES));
          System.err.println("screenshot of the failure: " + file.toAbsolutePath());
        } catch (Exception e) {
          System.err.println("no screenshot: " + e);
        }
      }
    }
  };

  @BeforeAll
  static void start() throws Exception {
    // CI installs chromium and chromium-driver: their absence is a failure, not a skip
    assertThat(new File(CHROMIUM).canExecute()).as("Debian's chromium at " + CHROMIUM
        + " (apt-get install chromium)").isTrue();
    assertThat(new File(CHROMEDRIVER).canExecute()).as("Debian's chromedriver at " + CHROMEDRIVER
        + " (apt-get install chromium-driver)").isTrue();
    web = new WebNode(dir);
    web.alice.createJob(WebNode.job("console-a", TOTAL));
    web.alice.reportProbes(List.of(WebNode.probe("console-a", 10, 1.0), WebNode.stats("console-a", 10, 1.0)));
    await().atMost(Duration.ofSeconds(30)).until(() -> web.alice.curvature("console-a").getProbes() == 1
        && web.node.queries().gradientStats(new Caller("alice"), "console-a").getReports() == 1);
    driver = new ChromeDriver(new ChromeDriverService.Builder().usingDriverExecutable(new File(CHROMEDRIVER))
        .usingAnyFreePort().build(), options());
  }

  static ChromeOptions options() {
    ChromeOptions o = new ChromeOptions();
    // never Selenium Manager: it would try to download a browser and a driver
    o.setBinary(CHROMIUM);
    o.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1100");
    return o;
  }

  @AfterAll
  static void stop() {
    if (driver != null) {
      driver.quit();
    }
    if (web != null) {
      web.close();
    }
  }

  private static WebDriverWait waiting() {
    return new WebDriverWait(driver, Duration.ofSeconds(30));
  }

  private static String attribute(String id, String name) {
    List<WebElement> found = driver.findElements(By.id(id));
    return found.isEmpty() ? null : found.get(0).getDomAttribute(name);
  }

  private static void signIn(String token) {
    waiting().until(d -> d.findElement(By.id("token")).isDisplayed());
    driver.findElement(By.id("token")).sendKeys(token);
    driver.findElement(By.id("token-save")).click();
  }

  @Test
  @Order(1)
  void theJobsPageAsksForATokenAndListsTheTenantsJob() {
    driver.get(web.url("/"));
    signIn(WebNode.ALICE);
    By row = By.cssSelector("tr[data-job-id='console-a']");
    waiting().until(d -> !d.findElements(row).isEmpty()
        && !d.findElement(row).findElements(By.className("budget")).isEmpty());
    WebElement r = driver.findElement(row);
    assertThat(r.findElement(By.className("budget")).getText()).isEqualTo(String.valueOf(TOTAL));
    assertThat(r.findElement(By.className("tenant")).getText()).isEqualTo("alice");
    assertThat(r.findElement(By.className("step")).getText()).isEqualTo("10");
    // the token stays in the tab, never in the address
    assertThat(driver.getCurrentUrl()).doesNotContain(WebNode.ALICE);
  }

  @Test
  @Order(2)
  void theJobPageDrawsEveryChartWithItsPoints() {
    driver.findElement(By.linkText("console-a")).click();
    // 5,000 steps in at most 2,000 points: stride ceil(5000 / 2000) = 3, so ceil(5000 / 3) = 1,667 points
    long stride = (TOTAL + 1999) / 2000;
    String points = String.valueOf((TOTAL + stride - 1) / stride);
    waiting().until(d -> points.equals(attribute("chart-lr", "data-points")));
    assertThat(attribute("chart-phi", "data-points")).isEqualTo(points);
    assertThat(attribute("chart-kappa", "data-points")).isEqualTo("1");
    assertThat(attribute("chart-edge", "data-points")).isEqualTo("1");
    assertThat(attribute("chart-stats", "data-points")).isEqualTo("1");
    for (String chart : List.of("chart-lr", "chart-phi", "chart-kappa", "chart-edge", "chart-stats")) {
      assertThat(driver.findElement(By.id(chart)).findElements(By.tagName("canvas"))).as(chart).hasSize(1);
    }
  }

  @Test
  @Order(3)
  void aProbeShowsItsKappaAndEdgeRatioWithoutAReload() {
    waiting().until(d -> "(live)".equals(d.findElement(By.id("live-status")).getText()));
    ((JavascriptExecutor) driver).executeScript("window.notReloaded = true;");
    web.alice.reportProbes(List.of(WebNode.probe("console-a", 40, 3.0), WebNode.stats("console-a", 40, 3.0)));
    await().atMost(Duration.ofSeconds(30)).until(() -> web.alice.curvature("console-a").getProbes() == 2);
    Curvature c = web.alice.curvature("console-a");
    waiting().until(d -> String.valueOf(40).equals(attribute("live-step", "data-value"))
        && "2".equals(attribute("chart-kappa", "data-points")));
    assertThat(Double.parseDouble(attribute("live-kappa", "data-value"))).isEqualTo(c.getKappa());
    assertThat(Double.parseDouble(attribute("live-edge", "data-value"))).isEqualTo(c.getEdgeRatio());
    assertThat(attribute("chart-edge", "data-points")).isEqualTo("2");
    assertThat(((JavascriptExecutor) driver).executeScript("return window.notReloaded === true;")).isEqualTo(true);
  }

  @Test
  @Order(4)
  void theReviseFormRevisesTheJobAndShowsReviseJobsErrors() {
    new Select(driver.findElement(By.id("revise-kind"))).selectByValue("hold");
    WebElement from = driver.findElement(By.id("revise-from"));
    from.clear();
    from.sendKeys("100");
    driver.findElement(By.id("revise-reason")).sendKeys("hold from the console");
    driver.findElement(By.id("revise-submit")).click();
    waiting().until(d -> d.findElement(By.id("revise-result")).getText().equals("revision 1 accepted"));
    Job job = web.alice.getJob("console-a");
    assertThat(job.getRevisionsCount()).isEqualTo(1);
    assertThat(job.getRevisions(0).getHold()).isTrue();
    assertThat(job.getRevisions(0).getFromStep()).isEqualTo(100);
    assertThat(job.getRevisions(0).getReason()).isEqualTo("hold from the console");
    waiting().until(d -> d.findElement(By.id("revisions")).getText().contains("hold from the console"));

    // before the last revision's from_step: ReviseJob's own refusal, shown on the page
    String refusal = null;
    try {
      web.alice.reviseJob("console-a", Revision.newBuilder().setFromStep(50).setHold(true).build(),
          OptionalLong.empty());
    } catch (StatusRuntimeException e) {
      refusal = e.getStatus().getDescription();
    }
    assertThat(refusal).isNotNull();
    from.clear();
    from.sendKeys("50");
    driver.findElement(By.id("revise-submit")).click();
    String expected = "400 INVALID_ARGUMENT: " + refusal;
    waiting().until(d -> d.findElement(By.id("revise-result")).getText().equals(expected));
    assertThat(driver.findElement(By.id("revise-result")).getDomAttribute("class")).isEqualTo("error");
    assertThat(web.alice.getJob("console-a").getRevisionsCount()).isEqualTo(1);
  }

  @Test
  @Order(5)
  void aSecondTenantsTokenDoesNotShowTheJob() {
    ((JavascriptExecutor) driver).executeScript("sessionStorage.clear();");
    driver.get(web.url("/#/"));
    signIn(WebNode.BOB);
    waiting().until(d -> "tenant bob".equals(d.findElement(By.id("tenant")).getText()));
    waiting().until(d -> d.findElement(By.id("jobs-empty")).isDisplayed());
    assertThat(driver.findElements(By.cssSelector("tr[data-job-id='console-a']"))).isEmpty();
    driver.get(web.url("/#/job/console-a"));
    waiting().until(d -> d.findElement(By.id("error")).getText().equals("404 NOT_FOUND: job_id: no job 'console-a'"));
  }
}
