package dev.berth.client.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CrawlHelpersTest {
  @Test
  void retryAfter_secondsDateAndJunk() {
    assertThat(Crawl.retryAfter("2")).isEqualTo(Duration.ofSeconds(2));
    assertThat(Crawl.retryAfter(null)).isZero();
    assertThat(Crawl.retryAfter("soon")).isZero();
    assertThat(Crawl.retryAfter("-5")).isZero();
    assertThat(Crawl.retryAfter("9999999")).isEqualTo(Duration.ofDays(1));
    String inAMinute =
        ZonedDateTime.now().plusSeconds(60).format(DateTimeFormatter.RFC_1123_DATE_TIME);
    assertThat(Crawl.retryAfter(inAMinute))
        .isBetween(Duration.ofSeconds(55), Duration.ofSeconds(61));
  }

  @Test
  void name_isStableAndDistinct() {
    assertThat(Crawl.name("https://a.test/x"))
        .hasSize(16)
        .isEqualTo(Crawl.name("https://a.test/x"));
    assertThat(Crawl.name("https://a.test/x")).isNotEqualTo(Crawl.name("https://a.test/y"));
  }

  @Test
  void host_isLowerCased() {
    assertThat(Crawl.host("http://A.Test:8080/x")).isEqualTo("a.test");
  }

  @Test
  void json_escapesAndNests() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("s", "a\"b\\c\nd\u0001");
    m.put("n", 3);
    m.put("b", true);
    m.put("z", null);
    m.put("l", List.of(1L, "x"));
    m.put("o", Map.of());

    assertThat(Json.write(m))
        .isEqualTo(
            "{\n  \"s\": \"a\\\"b\\\\c\\nd\\u0001\",\n  \"n\": 3,\n  \"b\": true,\n"
                + "  \"z\": null,\n  \"l\": [1, \"x\"],\n  \"o\": {}\n}\n");
  }
}
