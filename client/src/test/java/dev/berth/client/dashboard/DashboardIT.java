package dev.berth.client.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import com.microsoft.playwright.Browser;
import com.microsoft.playwright.Locator;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.Playwright;
import com.microsoft.playwright.options.AriaRole;
import dev.berth.client.AcquireOptions;
import dev.berth.client.AcquireResult;
import dev.berth.client.BrokerClient;
import dev.berth.client.Lease;
import dev.berth.client.ResourceKind;
import dev.berth.client.RevokeReason;
import dev.berth.client.RevokedLease;
import dev.berth.client.SessionOptions;
import dev.berth.client.WorkerSession;
import dev.berth.testkit.DaemonProcess;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard in a real browser: the system Chromium, driven by Playwright, opens the page of a
 * real daemon process with authentication on, while a worker (the SDK) acquires and holds leases.
 * Screenshots go to {@code target/dashboard-it/}.
 */
class DashboardIT {
  private static final Path SHOTS = Path.of("target", "dashboard-it");
  private static final String ADMIN_TOKEN = "dashboard-it-admin";
  private static final String WORKER_TOKEN = "dashboard-it-worker";
  private static final int RENDER_LIMIT = 4;

  @TempDir static Path dir;
  private static DaemonProcess daemon;
  private static int httpPort;
  private static Playwright playwright;
  private static Browser browser;

  private Page page;
  private BrokerClient client;
  private WorkerSession session;

  @BeforeAll
  static void start() throws Exception {
    httpPort = DaemonProcess.freePort();
    String tokens =
        "{ops: {sha256: "
            + sha256(ADMIN_TOKEN)
            + ", roles: [admin]}, crawler: {sha256: "
            + sha256(WORKER_TOKEN)
            + ", roles: [worker]}}";
    daemon =
        DaemonProcess.newBuilder(dir.resolve("state"), dir.resolve("daemon.log"))
            .metricsListen("127.0.0.1:" + httpPort)
            .flags(
                "--render-limit",
                String.valueOf(RENDER_LIMIT),
                "--auth.tokens",
                tokens,
                // A second job, so the page has a jobs table; the worker runs as default.
                "--jobs",
                "{crawl: {weight: 3}}")
            .start();
    Files.createDirectories(SHOTS);
    playwright = SystemChromium.playwright();
    browser = SystemChromium.launch(playwright);
  }

  @AfterAll
  static void stop() throws Exception {
    if (playwright != null) {
      playwright.close();
    }
    if (daemon != null) {
      daemon.close();
    }
  }

  @BeforeEach
  void open() {
    page =
        browser.newContext(new Browser.NewContextOptions().setViewportSize(1400, 1000)).newPage();
    client = BrokerClient.newBuilder().target(daemon.target()).bearerToken(WORKER_TOKEN).build();
    session =
        client.openSession(
            "crawler-dash", SessionOptions.newBuilder().label("job", "nightly-crawl").build());
  }

  @AfterEach
  void close() {
    page.context().close();
    session.close();
    client.close();
  }

  private static String sha256(String token) throws Exception {
    return HexFormat.of()
        .formatHex(
            MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
  }

  private void signIn() {
    page.navigate("http://127.0.0.1:" + httpPort + "/");
    page.getByLabel("Admin token").fill(ADMIN_TOKEN);
    page.getByLabel("Admin token").press("Enter");
    page.waitForSelector("#connection[data-state=live]");
  }

  private Locator renderPool() {
    return page.locator("[data-pool=render]");
  }

  private void shot(String name) {
    page.screenshot(new Page.ScreenshotOptions().setPath(SHOTS.resolve(name)).setFullPage(true));
  }

  @Test
  void page_withoutAToken_showsNoState_andAsksForOne() {
    page.navigate("http://127.0.0.1:" + httpPort + "/");

    page.waitForSelector("#connection[data-state=unauthorized]");
    assertThat(page.getByLabel("Admin token").isVisible()).isTrue();
    assertThat(page.locator("#access-line").textContent()).contains("requires an admin token");
    assertThat(page.locator("[data-pool]").count()).isZero();
    shot("unauthorized.png");

    // A worker's token is not an admin's: still no state.
    page.getByLabel("Admin token").fill(WORKER_TOKEN);
    page.getByRole(AriaRole.BUTTON, new Page.GetByRoleOptions().setName("Use token")).click();
    page.waitForFunction(
        "() => document.querySelector('#access-line').textContent.includes('admin role')");
    assertThat(page.locator("[data-pool]").count()).isZero();
  }

  @Test
  void acquire_byAWorker_showsOnThePage_withinASecond() {
    signIn();
    assertThat(renderPool().getAttribute("data-in-use")).isEqualTo("0");
    assertThat(renderPool().getAttribute("data-limit")).isEqualTo(String.valueOf(RENDER_LIMIT));
    assertThat(renderPool().getAttribute("data-effective-limit"))
        .isEqualTo(String.valueOf(RENDER_LIMIT));
    assertThat(renderPool().getAttribute("data-waiting")).isEqualTo("0");

    Lease lease = grantRender("https://example.com/dashboard");
    long granted = System.nanoTime();
    page.waitForFunction(
        "() => document.querySelector('[data-pool=render]').dataset.inUse === '1'",
        null,
        new Page.WaitForFunctionOptions().setTimeout(5_000).setPollingInterval(10));
    long shownMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - granted);
    System.out.println("dashboard: grant shown on the page after " + shownMillis + " ms");

    assertThat(shownMillis).as("grant to page, ms").isLessThan(1000);
    assertThat(page.locator("[data-lease='" + lease.leaseId() + "']").count()).isEqualTo(1);
    // The events arrive in a frame of their own, which may follow the snapshot's.
    page.locator("#events li[data-type=granted]").first().waitFor(shortly());
    // The job the session runs as: its label names no configured job, so it runs as default,
    // and the page shows the label beside it.
    assertThat(page.locator("[data-session] .job").first().textContent())
        .isEqualTo("default (label nightly-crawl)");
    // The jobs table: default holds the one RENDER lease in use, all of it, and is the only job
    // holding or waiting, so its fair share is all of it too.
    Locator job = page.locator("#jobs tr[data-job=default][data-kind=render]");
    job.locator(".held").filter(new Locator.FilterOptions().setHasText("1")).waitFor(shortly());
    assertThat(job.locator(".share").textContent()).isEqualTo("1.00");
    assertThat(job.locator(".fair").textContent()).isEqualTo("1.00");
    shot("granted.png");
    lease.close();
  }

  @Test
  void revoke_byKeyboard_onThePage_reachesTheWorker() throws Exception {
    CompletableFuture<RevokedLease> revoked = new CompletableFuture<>();
    session.onRevoked(revoked::complete);
    signIn();
    Lease lease = grantRender("https://example.org/revoke-me");
    String name = "Revoke lease " + lease.leaseId().substring(0, 8);
    Locator button = page.getByRole(AriaRole.BUTTON, new Page.GetByRoleOptions().setName(name));
    button.waitFor();

    // Every control has an accessible name, as a screen reader would announce it.
    for (Locator control :
        page.locator("button:visible, input:visible, select:visible, a[href]:visible").all()) {
      assertThat(control.ariaSnapshot().lines().findFirst().orElse(""))
          .as("accessible name of %s", control)
          .matches("- \\w+ \".+\".*");
    }

    // Tab from the top of the page to the revoke button, then press Enter.
    page.locator("body").focus();
    boolean reached = false;
    for (int i = 0; i < 60 && !reached; i++) {
      page.keyboard().press("Tab");
      reached =
          (boolean)
              page.evaluate(
                  "n => (document.activeElement.getAttribute('aria-label') || '').startsWith(n)",
                  name);
    }
    assertThat(reached).as("Tab reaches '%s'", name).isTrue();
    shot("revoke-focused.png");
    page.keyboard().press("Enter");

    RevokedLease event = revoked.get(10, TimeUnit.SECONDS);
    assertThat(event.leaseId()).isEqualTo(lease.leaseId());
    assertThat(event.reason()).isEqualTo(RevokeReason.ADMIN);
    page.waitForFunction(
        "() => document.querySelector('[data-pool=render]').dataset.inUse === '0'");
    // The page's own answer, the snapshot and the events frame race each other: wait for each.
    page.waitForFunction(
        "() => document.getElementById('action-status').textContent.includes('Revoked lease')",
        null,
        new Page.WaitForFunctionOptions().setTimeout(5_000));
    page.locator("#events li[data-type=revoked]").first().waitFor(shortly());
    shot("revoked.png");
  }

  @Test
  void withoutAuth_onLoopback_readsAreOpen_andAPageBeyondTheStreamBoundPolls() throws Exception {
    int port = DaemonProcess.freePort();
    try (DaemonProcess open =
            DaemonProcess.newBuilder(dir.resolve("open-state"), dir.resolve("open.log"))
                .metricsListen("127.0.0.1:" + port)
                .flags("--dashboard.max_streams", "1")
                .start();
        BrokerClient anonymous = BrokerClient.newBuilder().target(open.target()).build();
        WorkerSession worker = anonymous.openSession("crawler-open")) {
      String url = "http://127.0.0.1:" + port + "/";
      page.navigate(url);
      page.waitForSelector("#connection[data-state=live]");
      assertThat(page.getByLabel("Admin token").isVisible()).isFalse();
      assertThat(page.locator("#access-line").textContent()).contains("No authentication");

      // The one stream is taken: a second page is told so and polls instead.
      Page second = page.context().newPage();
      second.navigate(url);
      second.waitForSelector("#connection[data-state=polling]");
      AcquireResult result = worker.acquire(AcquireOptions.render("https://example.net/poll"));
      assertThat(result).isInstanceOf(AcquireResult.Granted.class);

      second.waitForFunction(
          "() => document.querySelector('[data-pool=render]').dataset.inUse === '1'",
          null,
          new Page.WaitForFunctionOptions().setTimeout(5_000));
      assertThat(
              second
                  .getByRole(
                      AriaRole.BUTTON,
                      new Page.GetByRoleOptions().setName("Drain broker").setExact(true))
                  .isVisible())
          .isTrue();
      second.screenshot(new Page.ScreenshotOptions().setPath(SHOTS.resolve("polling.png")));
      ((AcquireResult.Granted) result).lease().close();
    }
  }

  @Test
  void waitingAcquire_showsOnThePage_withTheRuleThatHoldsIt() throws Exception {
    signIn();
    List<Lease> held = new ArrayList<>();
    for (int i = 0; i < RENDER_LIMIT; i++) {
      held.add(grantRender("https://w" + i + ".example.com/dashboard"));
    }
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try {
      Future<AcquireResult> waiting =
          pool.submit(
              () ->
                  session.acquire(
                      AcquireOptions.newBuilder(ResourceKind.RENDER)
                          .url("https://waits.example.com/page")
                          .maxWait(Duration.ofSeconds(30))
                          .build()));

      Locator row = page.locator("#waiting tr[data-waiting='0']");
      row.locator(".held")
          .filter(new Locator.FilterOptions().setHasText("EXHAUSTED: pool RENDER"))
          .waitFor(shortly());
      assertThat(row.locator(".worker").textContent()).isEqualTo("crawler-dash");
      assertThat(row.locator(".target").textContent()).isEqualTo("waits.example.com");
      assertThat(page.locator("#waiting-line").textContent()).isEqualTo("1 waiting.");
      shot("waiting.png");

      held.remove(0).close();
      AcquireResult granted = waiting.get(10, TimeUnit.SECONDS);
      assertThat(granted).isInstanceOf(AcquireResult.Granted.class);
      held.add(((AcquireResult.Granted) granted).lease());
      page.locator("#waiting-line")
          .filter(new Locator.FilterOptions().setHasText("Nothing waits."))
          .waitFor(shortly());
    } finally {
      pool.shutdownNow();
      held.forEach(Lease::close);
    }
  }

  private Lease grantRender(String url) {
    AcquireResult result = session.acquire(AcquireOptions.render(url));
    assertThat(result).isInstanceOf(AcquireResult.Granted.class);
    return ((AcquireResult.Granted) result).lease();
  }

  private static Locator.WaitForOptions shortly() {
    return new Locator.WaitForOptions().setTimeout(5_000);
  }
}
