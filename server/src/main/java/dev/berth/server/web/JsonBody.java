package dev.berth.server.web;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import com.google.gson.stream.JsonReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

/**
 * The JSON object an action request carries, read with a size bound and checked field by field:
 * each problem is a 400 (or 413) naming the field.
 */
final class JsonBody {
  /** The largest body read; actions need a few hundred bytes. */
  static final int MAX_BYTES = 16 * 1024;

  private final JsonObject object;

  private JsonBody(JsonObject object) {
    this.object = object;
  }

  /**
   * Reads a body that is a JSON object whose fields are all in {@code allowed}; an empty body is an
   * empty object.
   *
   * @throws WebError 400 naming the field (or {@code body}), 413 when larger than {@link
   *     #MAX_BYTES}
   */
  static JsonBody read(InputStream in, Set<String> allowed) throws IOException {
    byte[] bytes = in.readNBytes(MAX_BYTES + 1);
    if (bytes.length > MAX_BYTES) {
      throw new WebError(
          413, "INVALID_ARGUMENT", "body", "body: larger than " + MAX_BYTES + " bytes");
    }
    String text = new String(bytes, StandardCharsets.UTF_8);
    if (text.isBlank()) {
      return new JsonBody(new JsonObject());
    }
    JsonElement parsed;
    try {
      parsed = JsonParser.parseString(text);
    } catch (JsonParseException e) {
      throw WebError.invalid("body", "not valid JSON");
    }
    if (!parsed.isJsonObject()) {
      throw WebError.invalid("body", "must be a JSON object");
    }
    JsonObject object = parsed.getAsJsonObject();
    requireEachFieldOnce(text);
    for (String field : object.keySet()) {
      if (!allowed.contains(field)) {
        throw WebError.invalid(field, "unknown field; this action takes " + allowed);
      }
    }
    return new JsonBody(object);
  }

  /**
   * Refuses a body that gives a field twice: the parser keeps the last, so {@code {"resume": false,
   * "resume": true}} would act on a value its sender may not have meant. Only the object's own
   * fields are actions' input, so only they are checked.
   */
  private static void requireEachFieldOnce(String text) throws IOException {
    Set<String> seen = new HashSet<>();
    try (JsonReader reader = new JsonReader(new StringReader(text))) {
      reader.beginObject();
      while (reader.hasNext()) {
        String field = reader.nextName();
        if (!seen.add(field)) {
          throw WebError.invalid(field, "given twice; give each field once");
        }
        reader.skipValue();
      }
    }
  }

  /** A boolean field that must be present. */
  boolean requiredBoolean(String field, String meaning) {
    JsonElement value = object.get(field);
    if (value == null || value.isJsonNull()) {
      throw WebError.invalid(field, "required: " + meaning);
    }
    return optionalBoolean(field, false);
  }

  /** A string field that must be present and not empty. */
  String requiredString(String field) {
    return optionalString(field)
        .filter(s -> !s.isEmpty())
        .orElseThrow(() -> WebError.invalid(field, "required"));
  }

  Optional<String> optionalString(String field) {
    JsonElement value = object.get(field);
    if (value == null || value.isJsonNull()) {
      return Optional.empty();
    }
    if (!value.isJsonPrimitive() || !((JsonPrimitive) value).isString()) {
      throw WebError.invalid(field, "must be a string");
    }
    return Optional.of(value.getAsString());
  }

  boolean optionalBoolean(String field, boolean otherwise) {
    JsonElement value = object.get(field);
    if (value == null || value.isJsonNull()) {
      return otherwise;
    }
    if (!value.isJsonPrimitive() || !((JsonPrimitive) value).isBoolean()) {
      throw WebError.invalid(field, "must be true or false");
    }
    return value.getAsBoolean();
  }
}
