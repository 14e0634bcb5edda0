package dev.berth.server.e2e;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.DynamicMessage;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;

/**
 * Makes malformed and extreme protobuf messages of any type from its descriptor: fields left empty
 * or set to boundary values (negative, huge, NaN), strings empty, enormous, unicode or the ids of
 * things that exist, enum numbers nobody declared, nested messages and repeated fields at random;
 * and raw bytes that are no message at all.
 *
 * <p>Deterministic for a given {@link Random}; not thread-safe.
 */
final class RequestFuzzer {
  private static final String ALPHABET = "abcz019-_./:?#%@ éü中🚀\u0000\t\n";
  private static final List<String> SPECIAL =
      List.of(
          "",
          " ",
          "-1",
          "0",
          "18446744073709551615",
          "https://",
          "https:///path",
          "ftp://a.example/",
          "not a url at all",
          "http://[::1",
          "https://a.example/page",
          "https://ünïcødé.example/路径?q=🚀",
          "../../../../etc/passwd",
          "extractor",
          "*.example",
          "%00%ff",
          "\uFFFF\uD800",
          "s-0000000000",
          "lease-does-not-exist");

  private final Random random;
  private final Supplier<List<String>> liveIds;

  /**
   * @param liveIds ids of sessions and leases that exist now, so some requests reach past the "not
   *     found" checks
   */
  RequestFuzzer(Random random, Supplier<List<String>> liveIds) {
    this.random = random;
    this.liveIds = liveIds;
  }

  /** A message of {@code type} with fields chosen at random, up to three levels deep. */
  DynamicMessage message(Descriptor type) {
    return message(type, 0);
  }

  private DynamicMessage message(Descriptor type, int depth) {
    DynamicMessage.Builder builder = DynamicMessage.newBuilder(type);
    for (FieldDescriptor field : type.getFields()) {
      if (random.nextInt(10) < 4) {
        continue;
      }
      if (field.getJavaType() == FieldDescriptor.JavaType.MESSAGE && depth >= 3) {
        continue;
      }
      if (field.isRepeated()) {
        int n = random.nextInt(10) == 0 ? 50 + random.nextInt(200) : random.nextInt(4);
        for (int i = 0; i < n; i++) {
          builder.addRepeatedField(field, value(field, depth));
        }
      } else {
        builder.setField(field, value(field, depth));
      }
    }
    return builder.build();
  }

  private Object value(FieldDescriptor field, int depth) {
    return switch (field.getJavaType()) {
      case STRING -> string();
      case INT -> pick(0, 1, -1, Integer.MIN_VALUE, Integer.MAX_VALUE, random.nextInt());
      case LONG -> pick(0L, 1L, -1L, Long.MIN_VALUE, Long.MAX_VALUE, random.nextLong());
      case BOOLEAN -> random.nextBoolean();
      case FLOAT ->
          pick(
              0f,
              -1f,
              Float.NaN,
              Float.POSITIVE_INFINITY,
              Float.NEGATIVE_INFINITY,
              Float.MAX_VALUE,
              random.nextFloat() * 100);
      case DOUBLE ->
          pick(
              0d,
              -1d,
              Double.NaN,
              Double.POSITIVE_INFINITY,
              Double.NEGATIVE_INFINITY,
              Double.MAX_VALUE,
              Double.MIN_VALUE,
              random.nextDouble() * 100);
      case BYTE_STRING -> ByteString.copyFrom(bytes(random.nextInt(64)));
      case ENUM -> enumValue(field.getEnumType());
      case MESSAGE -> message(field.getMessageType(), depth + 1);
    };
  }

  /** A declared value, or a number nobody declared (negative, just past the end, huge). */
  private Object enumValue(EnumDescriptor type) {
    if (random.nextInt(3) > 0) {
      return type.getValues().get(random.nextInt(type.getValues().size()));
    }
    int number = pick(-1, type.getValues().size(), 99, Integer.MAX_VALUE, random.nextInt());
    return type.findValueByNumberCreatingIfUnknown(number);
  }

  /** Empty, special, a live id, unicode noise, or long (rarely very long). */
  String string() {
    int choice = random.nextInt(10);
    if (choice < 3) {
      return SPECIAL.get(random.nextInt(SPECIAL.size()));
    }
    if (choice < 6) {
      List<String> ids = liveIds.get();
      if (!ids.isEmpty()) {
        return ids.get(random.nextInt(ids.size()));
      }
    }
    int length = choice == 9 ? 1000 + random.nextInt(50_000) : random.nextInt(40);
    StringBuilder s = new StringBuilder(length);
    while (s.length() < length) {
      s.appendCodePoint(
          ALPHABET.codePointAt(
              ALPHABET.offsetByCodePoints(
                  0, random.nextInt(ALPHABET.codePointCount(0, ALPHABET.length())))));
    }
    return s.toString();
  }

  /** Random bytes: almost never a valid message of the expected type. */
  byte[] bytes(int length) {
    byte[] bytes = new byte[length];
    random.nextBytes(bytes);
    return bytes;
  }

  /** {@code valid} with a few bytes overwritten, truncated or extended. */
  byte[] corrupt(byte[] valid) {
    byte[] out = java.util.Arrays.copyOf(valid, Math.max(0, valid.length + random.nextInt(9) - 4));
    for (int i = 0, n = 1 + random.nextInt(4); i < n && out.length > 0; i++) {
      out[random.nextInt(out.length)] = (byte) random.nextInt(256);
    }
    return out;
  }

  @SafeVarargs
  private <T> T pick(T... values) {
    return values[random.nextInt(values.length)];
  }
}
