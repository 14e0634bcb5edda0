package dev.berth.server;

import dev.berth.server.broker.Broker;
import dev.berth.server.broker.LeaseIds;
import dev.berth.server.broker.Policy;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.grpc.BrokerServer;
import dev.berth.server.lease.FencingTokens;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.state.EpochStore;
import dev.berth.server.state.StateException;
import dev.berth.server.time.SystemTimeSource;
import dev.berth.server.wasm.ModuleLoadException;
import dev.berth.server.wasm.ModuleRegistry;
import dev.berth.server.wasm.WasmConfig;
import dev.berth.server.wasm.WasmModule;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running broker process: state directory, clock, broker and listener, started and stopped
 * together. {@code bin/berth serve} runs one through {@link dev.berth.server.cli.Main}.
 */
public final class Daemon implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Daemon.class);

  private final EpochStore epochs;
  private final SystemTimeSource time;
  private final Broker broker;
  private final BrokerServer server;
  private final Duration shutdownGrace;

  private Daemon(
      EpochStore epochs,
      SystemTimeSource time,
      Broker broker,
      BrokerServer server,
      Duration shutdownGrace) {
    this.epochs = epochs;
    this.time = time;
    this.broker = broker;
    this.server = server;
    this.shutdownGrace = shutdownGrace;
  }

  /**
   * Opens the state directory, advances the epoch durably, and starts listening.
   *
   * @throws StateException when the state directory cannot be used
   */
  public static Daemon start(
      BrokerConfig config, Path stateDir, InetSocketAddress listen, Duration shutdownGrace) {
    return start(Policy.of(config), WasmConfig.none(), stateDir, listen, shutdownGrace);
  }

  /**
   * Loads the WASM modules, opens the state directory, advances the epoch durably, and starts
   * listening. A module that cannot be served stops the start before the epoch moves.
   *
   * @throws ModuleLoadException naming the module file at fault
   * @throws StateException when the state directory cannot be used
   */
  public static Daemon start(
      Policy policy,
      WasmConfig wasm,
      Path stateDir,
      InetSocketAddress listen,
      Duration shutdownGrace) {
    ModuleRegistry modules = ModuleRegistry.load(wasm);
    for (WasmModule module : modules.modules()) {
      log.info("serving WASM module {}", module);
    }
    EpochStore epochs = EpochStore.open(stateDir);
    long epoch = epochs.advance();
    if (epoch > FencingTokens.MAX_EPOCH) {
      epochs.close();
      throw new StateException("epoch " + epoch + " exceeds " + FencingTokens.MAX_EPOCH);
    }
    SystemTimeSource time = new SystemTimeSource();
    Broker broker =
        new Broker(
            policy, time, epoch, epochs::advance, LeaseIds.secure(), HeapProbe.jvm(), modules);
    BrokerServer server;
    try {
      server = BrokerServer.netty(broker, time, listen).start();
    } catch (RuntimeException e) {
      broker.shutdown();
      time.close();
      epochs.close();
      throw e;
    }
    log.info(
        "berth {} listening on {}:{} (epoch {}, state {})",
        Versions.current(),
        listen.getHostString(),
        server.port(),
        epoch,
        stateDir.toAbsolutePath());
    return new Daemon(epochs, time, broker, server, shutdownGrace);
  }

  public int port() {
    return server.port();
  }

  public Broker broker() {
    return broker;
  }

  /**
   * Replaces the WASM modules and idle timeout live, if every module loads; otherwise the broker
   * keeps serving the last good set and the result lists each problem, naming its file.
   */
  public ModuleRegistry.ReloadResult reloadWasm(WasmConfig wasm) {
    return broker.modules().reload(wasm);
  }

  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  /** Stops in bounded time; see {@link BrokerServer#shutdown}. */
  @Override
  public void close() {
    log.info("shutting down: NOT_SERVING, closing session streams");
    server.shutdown(shutdownGrace);
    time.close();
    epochs.close();
    log.info("stopped");
  }
}
