package dev.berth.server.config;

/** How log lines are written ({@code log.format}). */
public enum LogFormat {
  /** One human-readable line per event. */
  TEXT,
  /** One JSON object per line (Logback's JsonEncoder), for log shippers. */
  JSON
}
