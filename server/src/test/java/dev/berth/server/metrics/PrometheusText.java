package dev.berth.server.metrics;

import com.google.common.base.Splitter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * A small parser of the Prometheus text exposition format (version 0.0.4), enough for tests: {@code
 * # HELP} and {@code # TYPE} comments, and samples {@code name{label="value",...} value} with
 * escaped label values. Samples are keyed by name and labels sorted by label name, e.g. {@code
 * berth_refusals_total{kind="pdf",reason="timeout"}}.
 */
public final class PrometheusText {
  public final Map<String, Double> samples = new LinkedHashMap<>();
  public final Map<String, String> types = new LinkedHashMap<>();
  public final Map<String, String> help = new LinkedHashMap<>();

  public static PrometheusText parse(String text) {
    PrometheusText out = new PrometheusText();
    int lineNo = 0;
    for (String line : Splitter.on('\n').split(text)) {
      lineNo++;
      if (line.isBlank()) {
        continue;
      }
      if (line.startsWith("# TYPE ")) {
        String[] parts = line.substring(7).split(" ", 2);
        out.types.put(parts[0], parts[1]);
      } else if (line.startsWith("# HELP ")) {
        String[] parts = line.substring(7).split(" ", 2);
        out.help.put(parts[0], parts.length > 1 ? parts[1] : "");
      } else if (!line.startsWith("#")) { // other comments are skipped
        out.sample(line, lineNo);
      }
    }
    return out;
  }

  private void sample(String line, int lineNo) {
    int i = 0;
    while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ') {
      i++;
    }
    String name = line.substring(0, i);
    Map<String, String> labels = new TreeMap<>();
    if (i < line.length() && line.charAt(i) == '{') {
      i++;
      while (line.charAt(i) != '}') {
        int eq = line.indexOf('=', i);
        String label = line.substring(i, eq).trim();
        if (line.charAt(eq + 1) != '"') {
          throw new IllegalArgumentException("line " + lineNo + ": label value not quoted");
        }
        StringBuilder value = new StringBuilder();
        int j = eq + 2;
        for (; line.charAt(j) != '"'; j++) {
          char c = line.charAt(j);
          if (c == '\\') {
            char next = line.charAt(++j);
            value.append(next == 'n' ? '\n' : next);
          } else {
            value.append(c);
          }
        }
        labels.put(label, value.toString());
        i = j + 1;
        if (line.charAt(i) == ',') {
          i++;
        }
      }
      i++;
    }
    // The value, then an optional timestamp.
    String number = Splitter.on(' ').limit(2).splitToList(line.substring(i).trim()).get(0);
    double value =
        switch (number) {
          case "+Inf" -> Double.POSITIVE_INFINITY;
          case "-Inf" -> Double.NEGATIVE_INFINITY;
          case "NaN" -> Double.NaN;
          default -> Double.parseDouble(number);
        };
    if (samples.put(key(name, labels), value) != null) {
      throw new IllegalArgumentException("line " + lineNo + ": duplicate sample " + line);
    }
  }

  static String key(String name, Map<String, String> labels) {
    if (labels.isEmpty()) {
      return name;
    }
    StringBuilder b = new StringBuilder(name).append('{');
    labels.forEach((k, v) -> b.append(k).append("=\"").append(v).append("\","));
    b.setLength(b.length() - 1);
    return b.append('}').toString();
  }

  /** The value of a sample; labels as name, value, name, value. */
  public Double value(String name, String... labelPairs) {
    Map<String, String> labels = new TreeMap<>();
    for (int i = 0; i < labelPairs.length; i += 2) {
      labels.put(labelPairs[i], labelPairs[i + 1]);
    }
    return samples.get(key(name, labels));
  }
}
