package dev.berth.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class LoggingTest {
  @Test
  void jsonAppender_writesOneJsonObjectPerLine() {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    OutputStreamAppender<ILoggingEvent> appender = Logging.jsonAppender(context, out);
    Logger logger = context.getLogger("dev.berth.test.json");
    logger.setAdditive(false);
    logger.addAppender(appender);
    try {
      logger.info("config reloaded from {}: {}", "berth.yaml", "pools.render.limit 3 -> 5");
      logger.warn("second \"quoted\" line");
    } finally {
      logger.detachAppender(appender);
      appender.stop();
    }

    String[] lines = out.toString(StandardCharsets.UTF_8).split("\n");
    assertThat(lines).hasSize(2);
    assertThat(lines[0])
        .startsWith("{")
        .endsWith("}")
        .contains("\"level\":\"INFO\"")
        .contains("\"loggerName\":\"dev.berth.test.json\"")
        .contains(
            "\"formattedMessage\":\"config reloaded from berth.yaml: pools.render.limit 3 -> 5\"");
    assertThat(lines[1]).contains("\"level\":\"WARN\"").contains("second \\\"quoted\\\" line");
  }
}
