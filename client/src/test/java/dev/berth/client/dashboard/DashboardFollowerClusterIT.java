package dev.berth.client.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import com.microsoft.playwright.Browser;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.Playwright;
import com.microsoft.playwright.assertions.PlaywrightAssertions;
import dev.berth.client.AcquireOptions;
import dev.berth.client.AcquireResult;
import dev.berth.client.BrokerClient;
import dev.berth.client.Lease;
import dev.berth.client.WorkerSession;
import dev.berth.testkit.DaemonCluster;
import dev.berth.testkit.DaemonCluster.Member;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * A follower's dashboard in a real browser: three real daemons, each with its dashboard URL in
 * {@code cluster.peers.*.dashboard}; the system Chromium opens a follower's page while a worker
 * holds a lease on the leader. The page says it shows the follower's replica, lists the lease from
 * it, and links to the leader's dashboard at its configured URL (in the waits line and the members
 * table), where the page is the leader's own. Screenshots go to {@code target/dashboard-it/}.
 */
class DashboardFollowerClusterIT {
  private static final Path SHOTS = Path.of("target", "dashboard-it");

  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path dir;

  @Test
  @Timeout(180)
  void followersPage_showsTheReplica_andLinksToTheLeadersConfiguredDashboard() throws Exception {
    try (DaemonCluster cluster =
            DaemonCluster.startWithMetrics(
                dir, "dash", "--session.heartbeat_interval", "1s", "--session.ttl", "10s");
        Playwright playwright = SystemChromium.playwright();
        Browser browser = SystemChromium.launch(playwright)) {
      Member leader = DaemonCluster.awaitReadyLeader(cluster.members(), Duration.ofSeconds(30));
      Member follower =
          cluster.members().stream().filter(m -> !m.equals(leader)).findFirst().orElseThrow();
      DaemonCluster.awaitLeaderKnown(follower, leader, Duration.ofSeconds(10));
      String leaderPage = "http://127.0.0.1:" + leader.metricsPort() + "/";
      String[] targets = cluster.members().stream().map(Member::api).toArray(String[]::new);

      try (BrokerClient client = BrokerClient.newBuilder().targets(targets).build();
          WorkerSession session = client.openSession("crawler-follower-view");
          Lease lease = granted(session.acquire(AcquireOptions.render("https://a.example/1")))) {
        Page page =
            browser
                .newContext(new Browser.NewContextOptions().setViewportSize(1400, 1000))
                .newPage();
        page.navigate("http://127.0.0.1:" + follower.metricsPort() + "/");

        PlaywrightAssertions.assertThat(page.locator("#view-banner"))
            .containsText("Follower's replica");
        PlaywrightAssertions.assertThat(page.locator("#view-banner"))
            .containsText(leader.id() + " at " + leader.api() + " leads");
        // The replica's session and lease (refreshed once a second).
        PlaywrightAssertions.assertThat(page.locator("#sessions"))
            .containsText("crawler-follower-view");
        PlaywrightAssertions.assertThat(page.locator("#sessions")).containsText(lease.host());
        // Waits are the leader's: the link goes to its configured dashboard.
        PlaywrightAssertions.assertThat(page.locator("#leader-dashboard"))
            .hasAttribute("href", leaderPage);
        PlaywrightAssertions.assertThat(page.locator("#waits-line"))
            .not()
            .containsText("on this page's port");
        PlaywrightAssertions.assertThat(
                page.locator("#cluster [data-member=" + leader.id() + "] th a"))
            .hasAttribute("href", leaderPage);
        PlaywrightAssertions.assertThat(
                page.locator("#cluster [data-member=" + follower.id() + "] th a"))
            .hasCount(0);
        Files.createDirectories(SHOTS);
        page.screenshot(
            new Page.ScreenshotOptions().setPath(SHOTS.resolve("follower.png")).setFullPage(true));

        page.locator("#leader-dashboard").click();
        page.waitForURL(leaderPage);
        PlaywrightAssertions.assertThat(page.locator("#view-banner")).isHidden();
        PlaywrightAssertions.assertThat(page.locator("#sessions"))
            .containsText("crawler-follower-view");
      }
    }
  }

  private static Lease granted(AcquireResult result) {
    assertThat(result).isInstanceOf(AcquireResult.Granted.class);
    return ((AcquireResult.Granted) result).lease();
  }
}
