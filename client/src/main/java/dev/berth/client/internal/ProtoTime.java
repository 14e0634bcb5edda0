package dev.berth.client.internal;

import com.google.protobuf.Timestamp;
import java.time.Duration;
import java.time.Instant;

/**
 * The client side's one conversion between protobuf's {@code Duration} and {@code Timestamp} and
 * {@code java.time}, for the SDK ({@link Wire}) and the {@code berth} CLI alike. Stateless and
 * thread-safe.
 */
public final class ProtoTime {
  private ProtoTime() {}

  /** A non-negative duration; a malformed or negative one reads as zero. */
  public static Duration duration(com.google.protobuf.Duration d) {
    if (d.getSeconds() < 0 || d.getNanos() < 0) {
      return Duration.ZERO;
    }
    return Duration.ofSeconds(d.getSeconds(), d.getNanos());
  }

  public static com.google.protobuf.Duration proto(Duration d) {
    return com.google.protobuf.Duration.newBuilder()
        .setSeconds(d.getSeconds())
        .setNanos(d.getNano())
        .build();
  }

  public static Instant instant(Timestamp t) {
    return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
  }
}
