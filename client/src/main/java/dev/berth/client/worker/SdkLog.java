package dev.berth.client.worker;

import java.io.PrintStream;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

/**
 * The SDK's log records (it logs through {@link System.Logger}, that is java.util.logging) printed
 * as the worker prints its own lines, {@code berth worker: MESSAGE}, one line each, instead of the
 * JVM's two-line default: warnings and worse always, INFO (reconnects, resumes, retried releases)
 * only with {@code --verbose}. Closing it puts the logger back as it was.
 *
 * <p>Thread-safe.
 */
final class SdkLog implements AutoCloseable {
  /** The SDK's loggers all live under this name. */
  static final String SDK = "dev.berth.client";

  private final Logger logger; // held: the JDK keeps loggers only weakly
  private final Handler handler;
  private final Level level;
  private final boolean useParentHandlers;

  private SdkLog(Logger logger, Handler handler) {
    this.logger = logger;
    this.handler = handler;
    this.level = logger.getLevel();
    this.useParentHandlers = logger.getUseParentHandlers();
  }

  /** Sends the SDK's records to {@code err} until closed. */
  static SdkLog install(PrintStream err, boolean verbose) {
    Logger logger = Logger.getLogger(SDK);
    Handler handler = new Line(err);
    SdkLog log = new SdkLog(logger, handler);
    logger.setLevel(verbose ? Level.INFO : Level.WARNING);
    logger.setUseParentHandlers(false);
    logger.addHandler(handler);
    return log;
  }

  /** {@code record} as one line: its message with its parameters, and the error it carries. */
  static String format(LogRecord record) {
    String message = new SimpleFormatter().formatMessage(record);
    if (record.getThrown() != null) {
      message += ": " + record.getThrown();
    }
    return "berth worker: " + message.replaceAll("\\s*\\R\\s*", " ").strip();
  }

  @Override
  public void close() {
    logger.removeHandler(handler);
    logger.setUseParentHandlers(useParentHandlers);
    logger.setLevel(level);
  }

  private static final class Line extends Handler {
    private final PrintStream err;

    Line(PrintStream err) {
      this.err = err;
      setFormatter(
          new Formatter() {
            @Override
            public String format(LogRecord record) {
              return SdkLog.format(record);
            }
          });
    }

    @Override
    public void publish(LogRecord record) {
      if (isLoggable(record)) {
        err.println(getFormatter().format(record));
      }
    }

    @Override
    public void flush() {
      err.flush();
    }

    @Override
    public void close() {
      flush();
    }
  }
}
