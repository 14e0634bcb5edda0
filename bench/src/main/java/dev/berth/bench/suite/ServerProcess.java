package dev.berth.bench.suite;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A server under test in its own process: a {@link BenchServerMain} JVM or an etcd. The suite reads
 * its CPU time from {@code /proc} and stops it (and removes its files) when done.
 *
 * <p>Not thread-safe: one goal at a time owns it ({@link #cpuMicros} may be read from any thread).
 */
public final class ServerProcess implements AutoCloseable {
  private final String name;
  private final Process process;
  private final int port;
  private final Path dir;
  private final BufferedReader out;
  private final Writer in;

  private ServerProcess(
      String name, Process process, int port, Path dir, BufferedReader out, Writer in) {
    this.name = name;
    this.process = process;
    this.port = port;
    this.dir = dir;
    this.out = out;
    this.in = in;
  }

  /**
   * {@code classPath} with every entry made absolute: the server runs in a directory of its own, so
   * a generator started as {@code java -cp bench/target/berth-bench.jar …} would otherwise start
   * servers that find no class.
   */
  static String absoluteClassPath(String classPath) {
    return Arrays.stream(classPath.split(File.pathSeparator))
        .filter(e -> !e.isEmpty())
        .map(e -> Path.of(e).toAbsolutePath().toString())
        .collect(Collectors.joining(File.pathSeparator));
  }

  /**
   * Starts {@link BenchServerMain} with {@code args} in a JVM of its own, on this JVM's class path,
   * and waits (at most 60 s) for it to listen.
   *
   * @param jvmArgs e.g. {@code -Xmx1g}
   */
  public static ServerProcess java(String name, List<String> jvmArgs, List<String> args)
      throws IOException {
    Path dir = Files.createTempDirectory("berth-bench-" + name + "-");
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvmArgs);
    cmd.add("-cp");
    cmd.add(absoluteClassPath(System.getProperty("java.class.path")));
    cmd.add(BenchServerMain.class.getName());
    cmd.addAll(args);
    Process p =
        new ProcessBuilder(cmd)
            .directory(dir.toFile())
            .redirectError(dir.resolve("stderr.log").toFile())
            .start();
    BufferedReader out =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    Writer in = new OutputStreamWriter(p.getOutputStream(), StandardCharsets.UTF_8);
    int port;
    try {
      String line = readLine(out, p, dir, "PORT ");
      port = Integer.parseInt(line.substring("PORT ".length()).trim());
    } catch (IOException | RuntimeException e) {
      p.destroyForcibly();
      deleteTree(dir);
      throw e;
    }
    return new ServerProcess(name, p, port, dir, out, in);
  }

  /**
   * Starts etcd ({@code etcdBinary}) as a single-member cluster with its data in a fresh temporary
   * directory, on free loopback ports, and waits (at most 60 s) for its client port to accept
   * connections. Its log goes to {@code etcd.log} in that directory.
   */
  public static ServerProcess etcd(Path etcdBinary) throws IOException, InterruptedException {
    return etcdCluster(etcdBinary, 1).get(0);
  }

  /**
   * Starts an etcd cluster of {@code members} members ({@code bench0}, {@code bench1}, ...), each
   * as {@link #etcd} starts one, all at once (a member waits for its peers), and waits for each
   * client port.
   */
  public static List<ServerProcess> etcdCluster(Path etcdBinary, int members)
      throws IOException, InterruptedException {
    int[] client = new int[members];
    int[] peer = new int[members];
    List<String> initial = new ArrayList<>();
    int[] ports = freePorts(2 * members);
    for (int i = 0; i < members; i++) {
      client[i] = ports[2 * i];
      peer[i] = ports[2 * i + 1];
      initial.add("bench" + i + "=http://127.0.0.1:" + peer[i]);
    }
    List<Process> processes = new ArrayList<>();
    List<Path> dirs = new ArrayList<>();
    List<ServerProcess> started = new ArrayList<>();
    try {
      for (int i = 0; i < members; i++) {
        Path dir = Files.createTempDirectory("berth-bench-etcd-");
        dirs.add(dir);
        String clientUrl = "http://127.0.0.1:" + client[i];
        String peerUrl = "http://127.0.0.1:" + peer[i];
        List<String> cmd =
            List.of(
                etcdBinary.toString(),
                "--name",
                "bench" + i,
                "--data-dir",
                dir.resolve("data").toString(),
                "--listen-client-urls",
                clientUrl,
                "--advertise-client-urls",
                clientUrl,
                "--listen-peer-urls",
                peerUrl,
                "--initial-advertise-peer-urls",
                peerUrl,
                "--initial-cluster",
                String.join(",", initial),
                "--initial-cluster-state",
                "new");
        processes.add(
            new ProcessBuilder(cmd)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("etcd.log").toFile())
                .start());
      }
      for (int i = 0; i < members; i++) {
        awaitEtcd(processes.get(i), dirs.get(i), client[i]);
        started.add(
            new ServerProcess("etcd", processes.get(i), client[i], dirs.get(i), null, null));
      }
      return started;
    } catch (IOException | RuntimeException | InterruptedException e) {
      for (Process p : processes) {
        p.destroyForcibly();
      }
      for (Path d : dirs) {
        deleteTree(d);
      }
      throw e;
    }
  }

  private static void awaitEtcd(Process p, Path dir, int client)
      throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      if (!p.isAlive()) {
        // The log is all there is to go on, so it is put in the error.
        throw new IOException(
            "etcd exited with "
                + p.exitValue()
                + "; its log:\n"
                + Files.readString(dir.resolve("etcd.log")));
      }
      try {
        new Socket(InetAddress.getLoopbackAddress(), client).close(); // it accepts: etcd is up
        return;
      } catch (IOException notYet) {
        if (System.nanoTime() > deadline) {
          throw new IOException("etcd did not listen on port " + client + " within 60 s");
        }
        Thread.sleep(100);
      }
    }
  }

  /**
   * {@code n} ports free now and distinct from one another: all held open while they are chosen
   * (one at a time, the kernel may hand out a port it just gave, and a cluster's members then
   * refuse to start with two peers on one address).
   */
  static int[] freePorts(int n) throws IOException {
    List<ServerSocket> held = new ArrayList<>();
    try {
      int[] ports = new int[n];
      for (int i = 0; i < n; i++) {
        ServerSocket s = new ServerSocket(0);
        held.add(s);
        ports[i] = s.getLocalPort();
      }
      return ports;
    } finally {
      for (ServerSocket s : held) {
        s.close();
      }
    }
  }

  private static String readLine(BufferedReader out, Process p, Path dir, String prefix)
      throws IOException {
    // The JVM itself may print lines (e.g. "Started recording 1" for JFR); a null line means the
    // server died.
    String line = out.readLine();
    while (line != null && !line.startsWith(prefix)) {
      line = out.readLine();
    }
    if (line == null) {
      String err = "";
      try {
        p.waitFor(5, TimeUnit.SECONDS);
        err = Files.readString(dir.resolve("stderr.log"));
      } catch (IOException | InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      throw new IOException(
          "bench server printed " + line + " instead of " + prefix.trim() + "; stderr:\n" + err);
    }
    return line;
  }

  public int port() {
    return port;
  }

  public long pid() {
    return process.pid();
  }

  /** CPU time the process has used so far, from {@code /proc}. */
  public long cpuMicros() {
    return ProcStat.cpuMicros(process.pid());
  }

  /** Heap in use after a full GC, asked of a {@link BenchServerMain}. */
  public long heapAfterFullGc() throws IOException {
    if (in == null) {
      throw new IllegalStateException(name + " is not a bench server JVM");
    }
    in.write("heap\n");
    in.flush();
    String line = readLine(out, process, dir, "HEAP ");
    return Long.parseLong(line.substring("HEAP ".length()).trim());
  }

  /**
   * The process's heap histogram after a full GC ({@code jcmd <pid> GC.class_histogram}), written
   * to {@code file}: what the live heap is made of, class by class.
   */
  public void histogram(Path file) throws IOException, InterruptedException {
    Process jcmd =
        new ProcessBuilder("jcmd", Long.toString(pid()), "GC.class_histogram")
            .redirectErrorStream(true)
            .redirectOutput(file.toFile())
            .start();
    if (!jcmd.waitFor(60, TimeUnit.SECONDS)) {
      jcmd.destroyForcibly();
      throw new IOException("jcmd GC.class_histogram of " + name + " did not finish in 60 s");
    }
  }

  @Override
  public void close() {
    try {
      if (in != null) {
        in.close(); // EOF: the bench server shuts down cleanly
      } else {
        process.destroy();
      }
      if (!process.waitFor(15, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
      }
    } catch (IOException e) {
      process.destroyForcibly();
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    deleteTree(dir);
  }

  private static void deleteTree(Path dir) {
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot remove " + dir, e);
    }
  }
}
