package dev.berth.client.worker;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class CrawlHelpersTest {
  @Test
  void host_isLowerCased() {
    assertThat(Crawl.host("http://A.Test:8080/x")).isEqualTo("a.test");
  }
}
