package dev.berth.client.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ResultWriterTest {
  @TempDir Path dir;

  private static PageResult result() {
    PageResult r = new PageResult("https://a.test/x", "a.test", "w-1");
    r.attempts = 2;
    r.httpStatus = 200;
    r.facts = new PageFacts("Quote \" and <b>\u2028", 3, 40, 1, false);
    r.duration = Duration.ofMillis(1234);
    r.siteRetryAfter = Duration.ofSeconds(2);
    r.finishedAt = Instant.parse("2026-01-01T10:00:00Z");
    r.leases.put("render", new PageResult.LeaseRecord("l-1", -1L, "", ""));
    r.leases.put("wasm", new PageResult.LeaseRecord("l-2", 7L, "extractor", "ab12"));
    return r;
  }

  @Test
  void json_everyFieldInOrder_readableBack() {
    String text = ResultWriter.json(result());

    assertThat(text)
        .startsWith("{\n  \"url\": \"https://a.test/x\",\n  \"host\": \"a.test\",")
        .contains("\"ok\": true")
        .contains("\"title\": \"Quote \\\" and <b>\\u2028\"")
        .endsWith("}\n");
    JsonObject json = JsonParser.parseString(text).getAsJsonObject();
    assertThat(json.keySet())
        .containsExactly(
            "url",
            "host",
            "worker_id",
            "ok",
            "http_status",
            "error",
            "title",
            "links",
            "words",
            "images",
            "truncated",
            "duration_ms",
            "attempts",
            "site_retry_after_ms",
            "pdf",
            "finished_at",
            "leases");
    assertThat(json.get("links").getAsInt()).isEqualTo(3);
    assertThat(json.get("duration_ms").getAsLong()).isEqualTo(1234);
    assertThat(json.get("pdf").isJsonNull()).isTrue();
    JsonObject leases = json.getAsJsonObject("leases");
    assertThat(leases.keySet()).containsExactly("render", "wasm");
    assertThat(leases.getAsJsonObject("render").get("fencing_token").getAsString())
        .as("unsigned 64 bits, as text")
        .isEqualTo("18446744073709551615");
    assertThat(leases.getAsJsonObject("render").has("module")).isFalse();
    assertThat(leases.getAsJsonObject("wasm").get("module_digest").getAsString()).isEqualTo("ab12");
  }

  @Test
  void json_failedPage_factsNull() {
    PageResult r = new PageResult("https://a.test/y", "a.test", "w-1");
    r.error = "HTTP 503 on every attempt";

    JsonObject json = JsonParser.parseString(ResultWriter.json(r)).getAsJsonObject();

    assertThat(json.get("ok").getAsBoolean()).isFalse();
    assertThat(json.get("title").isJsonNull()).isTrue();
    assertThat(json.get("truncated").getAsBoolean()).isFalse();
  }

  @Test
  void write_namedBySha256OfTheUrl_noPartLeft() throws Exception {
    Path file = new ResultWriter(dir).write(result());

    assertThat(file.getFileName().toString())
        .isEqualTo(ResultWriter.name("https://a.test/x") + ".json");
    assertThat(Files.readString(file)).isEqualTo(ResultWriter.json(result()));
    try (var files = Files.list(dir)) {
      assertThat(files).containsExactly(file);
    }
  }

  @Test
  void name_isStableAndDistinct() {
    assertThat(ResultWriter.name("https://a.test/x"))
        .hasSize(16)
        .isEqualTo(ResultWriter.name("https://a.test/x"));
    assertThat(ResultWriter.name("https://a.test/x"))
        .isNotEqualTo(ResultWriter.name("https://a.test/y"));
  }
}
