package dev.berth.server.config;

import dev.berth.server.settings.ConfigException;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.Tag;
import org.yaml.snakeyaml.representer.Representer;
import org.yaml.snakeyaml.resolver.Resolver;

/**
 * Reads the YAML config file into flat dotted keys: nested maps join their keys with dots, so
 * {@code pools: {render: {limit: 8}}} and {@code pools.render.limit: 8} mean the same. The map
 * values of map keys ({@code rate_limit.hosts}, {@code wasm.modules}, {@code auth.tokens}) are not
 * flattened: their keys are data.
 *
 * <p>Loading is safe: SnakeYAML's {@link SafeConstructor} builds plain maps, lists and scalars only
 * (no Java types from tags), duplicate keys are errors, and aliases are capped. Plain scalars are
 * text (see {@link PlainScalarsAsText}), read by each key's codec as from the environment.
 */
final class YamlConfigFile {
  private static final int MAX_FILE_CHARS = 1 << 20;

  private YamlConfigFile() {}

  /**
   * Reads and flattens {@code file}.
   *
   * @return dotted key to raw value, in file order; a key written without a value maps to null
   * @throws ConfigException (key {@code config}) when the file cannot be read, is not YAML, or
   *     holds no keys
   */
  static Map<String, Object> read(Path file) {
    Object doc;
    try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      doc = yaml().load(in);
    } catch (NoSuchFileException e) {
      throw new ConfigException("config", "no such file " + file);
    } catch (IOException e) {
      throw new ConfigException("config", "cannot read " + file + ": " + e.getMessage());
    } catch (MarkedYAMLException e) {
      throw new ConfigException(
          "config",
          file
              + " line "
              + (e.getProblemMark().getLine() + 1)
              + ": "
              + e.getProblem()
              + (e.getContext() != null ? " (" + e.getContext() + ")" : ""));
    } catch (YAMLException e) {
      throw new ConfigException("config", file + ": " + e.getMessage());
    }
    if (doc == null || (doc instanceof Map<?, ?> m && m.isEmpty())) {
      // Most likely a file truncated or not yet written (e.g. by a deployment tool): taken as "no
      // keys", it would put every default back, authentication off and no jobs included.
      throw new ConfigException(
          "config",
          file
              + " holds no keys (it is empty, or only comments); write at least one key in it,"
              + " or name no config file to run on the defaults");
    }
    if (!(doc instanceof Map<?, ?> root)) {
      throw new ConfigException("config", file + " must hold a map of keys, got a " + kind(doc));
    }
    Map<String, Object> flat = new LinkedHashMap<>();
    flatten("", root, flat, file);
    return flat;
  }

  private static void flatten(String prefix, Map<?, ?> map, Map<String, Object> out, Path file) {
    for (Map.Entry<?, ?> e : map.entrySet()) {
      String name = prefix + e.getKey();
      Object value = e.getValue();
      if (value instanceof Map<?, ?> nested && !isLeaf(name)) {
        flatten(name + ".", nested, out, file);
      } else if (out.containsKey(name)) {
        throw new ConfigException(name, "is given twice in " + file);
      } else {
        out.put(name, value);
      }
    }
  }

  /**
   * Whether a map under {@code name} is a value rather than more keys: for any key that is no
   * prefix of another, so a map key's entries ({@code rate_limit.hosts}, {@code wasm.modules}) are
   * data, and {@code limit: {a: 1}} is a type error rather than an unknown key {@code limit.a}.
   */
  private static boolean isLeaf(String name) {
    if (ConfigKeys.find(name) == null) {
      return false;
    }
    String prefix = name + ".";
    return ConfigKeys.all().stream().noneMatch(k -> k.name().startsWith(prefix));
  }

  /**
   * Parses a YAML flow value given in an environment variable or flag, e.g. {@code {"*.a.com":
   * {rate: 5}}}.
   *
   * @param example a valid value, for the error
   * @throws ConfigException naming {@code key} when the text is not YAML
   */
  static Object parseFlow(String key, String text, String example) {
    try {
      return yaml().load(text);
    } catch (YAMLException e) {
      throw new ConfigException(key, "must be a YAML map like " + example + ", got '" + text + "'");
    }
  }

  private static Yaml yaml() {
    LoaderOptions options = new LoaderOptions();
    options.setAllowDuplicateKeys(false);
    options.setAllowRecursiveKeys(false);
    options.setMaxAliasesForCollections(20);
    options.setCodePointLimit(MAX_FILE_CHARS);
    DumperOptions unused = new DumperOptions(); // only loads: the dumper's settings do not matter
    return new Yaml(
        new SafeConstructor(options),
        new Representer(unused),
        unused,
        options,
        new PlainScalarsAsText());
  }

  /**
   * Resolves every plain scalar to text, except an empty one, {@code ~} and {@code null}, which
   * stay null ("keep the default"). Each key's codec then reads the file's {@code 010}, {@code
   * 1:30}, {@code 0x10}, {@code no} or {@code 1} as it reads the same text from an environment
   * variable or a flag, instead of YAML 1.1's octal, sexagesimal, hexadecimal and yes/no/on/off
   * readings; map keys such as a job named {@code on} stay the names written.
   */
  private static final class PlainScalarsAsText extends Resolver {
    @Override
    protected void addImplicitResolvers() {
      addImplicitResolver(Tag.NULL, NULL, "~nN\0");
      addImplicitResolver(Tag.NULL, EMPTY, null);
    }
  }

  private static String kind(Object doc) {
    return doc instanceof java.util.List ? "list" : "single value";
  }
}
