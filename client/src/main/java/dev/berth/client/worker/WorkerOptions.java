package dev.berth.client.worker;

import dev.berth.client.cli.options.ConnectionOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * What one run of {@code berth worker} was asked to do, read and checked by {@link WorkerCommand}.
 *
 * @param connection where the broker is and how to reach it
 * @param urlsFile the file the URLs came from
 * @param urls the URLs, in the file's order
 * @param out where results go
 * @param pdf whether to print each page to PDF too
 * @param workerId this worker's name at the broker
 * @param concurrency pages rendered at once
 * @param chromium the Chromium to drive
 * @param chromiumArgs extra Chromium flags
 * @param navigationTimeout the longest a page may take to load; a page still in the browser {@link
 *     Watchdog#SLACK} later has its browser killed
 * @param acquireTimeout the longest to wait for one URL's bundle, through refusals and transient
 *     failures
 * @param attempts tries per URL when the site answers 429 or 503
 * @param module the WASM extractor module; empty for the broker's default
 * @param memoryLimitMb this worker's memory limit, reported to the broker; 0 for unknown
 * @param job the crawl job the worker's session works for; empty for none
 */
record WorkerOptions(
    ConnectionOptions.Settings connection,
    Path urlsFile,
    List<String> urls,
    Path out,
    boolean pdf,
    String workerId,
    int concurrency,
    Path chromium,
    List<String> chromiumArgs,
    Duration navigationTimeout,
    Duration acquireTimeout,
    int attempts,
    String module,
    long memoryLimitMb,
    String job) {

  WorkerOptions {
    urls = List.copyOf(urls);
    chromiumArgs = List.copyOf(chromiumArgs);
  }

  /** The broker, or the members of its cluster, each a gRPC target. */
  List<String> brokers() {
    return connection.targets();
  }
}
