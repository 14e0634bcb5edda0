package dev.berth.client.dashboard;

import com.microsoft.playwright.Browser;
import com.microsoft.playwright.BrowserType;
import com.microsoft.playwright.Playwright;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The system's Chromium ({@code /usr/bin/chromium}, Debian's), driven by Playwright without its own
 * browser download, headless, with the flags a container without a sandbox or GPU needs.
 */
final class SystemChromium {
  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");

  private SystemChromium() {}

  /** Playwright, told not to download browsers of its own. */
  static Playwright playwright() {
    return Playwright.create(
        new Playwright.CreateOptions().setEnv(Map.of("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")));
  }

  /** The system Chromium, headless. */
  static Browser launch(Playwright playwright) {
    return playwright
        .chromium()
        .launch(
            new BrowserType.LaunchOptions()
                .setExecutablePath(CHROMIUM)
                .setHeadless(true)
                .setArgs(
                    List.of(
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--disable-sync"))
                .setTimeout(60_000));
  }
}
