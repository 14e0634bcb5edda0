package dev.berth.server.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import dev.berth.server.config.LogFormat;
import java.io.OutputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * Sets up logging from {@code log.format} and {@code log.level} before the daemon logs its first
 * line: text lines from logback.xml by default, or one JSON object per line on stderr. grpc-java
 * and Netty log through java.util.logging, which is bridged to SLF4J so their lines come out the
 * same way.
 */
final class Logging {
  private Logging() {}

  /** Applies the format and level, and bridges java.util.logging. */
  static void configure(LogFormat format, String level) {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    ch.qos.logback.classic.Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    if (format == LogFormat.JSON) {
      OutputStreamAppender<ILoggingEvent> json = jsonAppender(context, System.err);
      root.detachAndStopAllAppenders();
      root.addAppender(json);
    }
    setLevel(level);
    SLF4JBridgeHandler.removeHandlersForRootLogger();
    SLF4JBridgeHandler.install();
  }

  /** Changes the root level, e.g. on reload. */
  static void setLevel(String level) {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    context.getLogger(Logger.ROOT_LOGGER_NAME).setLevel(Level.toLevel(level, Level.INFO));
  }

  /**
   * An appender writing one JSON object per line to {@code out}: timestamp, level, thread, logger,
   * formatted message, MDC, key-value pairs and throwable.
   */
  static OutputStreamAppender<ILoggingEvent> jsonAppender(LoggerContext context, OutputStream out) {
    JsonEncoder encoder = new JsonEncoder();
    encoder.setContext(context);
    encoder.setWithSequenceNumber(false);
    encoder.setWithNanoseconds(false);
    encoder.setWithContext(false);
    encoder.setWithMessage(false);
    encoder.setWithArguments(false);
    encoder.setWithFormattedMessage(true);
    encoder.start();
    OutputStreamAppender<ILoggingEvent> appender = new OutputStreamAppender<>();
    appender.setContext(context);
    appender.setName("JSON");
    appender.setEncoder(encoder);
    appender.setOutputStream(out);
    appender.start();
    return appender;
  }
}
