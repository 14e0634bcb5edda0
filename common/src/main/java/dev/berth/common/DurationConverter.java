package dev.berth.common;

import java.time.Duration;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Reads a duration option in Berth's one format ({@link Durations}: {@code 500ms}, {@code 10s},
 * {@code 1m30s}) for picocli, so that every program's command line reads {@code --grace 1m30s}
 * alike. Name it on each {@code Duration} option ({@code converter = DurationConverter.class})
 * rather than registering it per type: picocli's own converter for {@code Duration} reads only
 * ISO-8601, and an option that missed a registration would silently take that second format.
 * Refuses negative durations, those longer than {@link Durations#MAX} and those with a part of a
 * millisecond; {@link Positive} refuses zero too.
 *
 * <p>Stateless and thread-safe.
 */
public class DurationConverter implements ITypeConverter<Duration> {
  @Override
  public Duration convert(String value) {
    Duration d;
    try {
      d = Durations.parse(value);
    } catch (IllegalArgumentException e) {
      throw new TypeConversionException(e.getMessage());
    }
    if (d.isNegative()) {
      throw new TypeConversionException("must not be negative, got '" + value + "'");
    }
    String problem = Durations.boundsProblem(d, value);
    if (problem != null) {
      throw new TypeConversionException(problem);
    }
    return d;
  }

  /** A duration that must be more than zero: a timeout, an interval, a round. */
  public static final class Positive extends DurationConverter {
    @Override
    public Duration convert(String value) {
      Duration d = super.convert(value);
      if (d.isZero()) {
        throw new TypeConversionException("must be more than zero, got '" + value + "'");
      }
      return d;
    }
  }
}
