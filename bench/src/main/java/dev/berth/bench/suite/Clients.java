package dev.berth.bench.suite;

import io.grpc.Channel;
import io.grpc.ManagedChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Channels to one server and, for Berth, one session per channel, heartbeated in the background
 * every second so it outlives any round.
 */
final class Clients implements AutoCloseable {
  private final List<ManagedChannel> channels = new ArrayList<>();
  private final List<Streams.BerthSession> sessions = new ArrayList<>();
  private ScheduledFuture<?> beating;

  /**
   * @param beats where the background heartbeats of the sessions run
   */
  Clients(int port, int n, boolean withSessions, ScheduledExecutorService beats)
      throws InterruptedException {
    for (int i = 0; i < n; i++) {
      channels.add(Channels.open(port));
    }
    if (withSessions) {
      for (int i = 0; i < n; i++) {
        sessions.add(Streams.openBerth(channels.get(i), "bench-" + i, false));
      }
      beating =
          beats.scheduleAtFixedRate(
              () -> sessions.forEach(Streams.BerthSession::beat), 1, 1, TimeUnit.SECONDS);
    }
  }

  ManagedChannel channel(int i) {
    return channels.get(i);
  }

  String session(int i) {
    return sessions.get(i).id();
  }

  /** The session stream of channel {@code i}, for calls on the stream. */
  Streams.BerthSession stream(int i) {
    return sessions.get(i);
  }

  /** {@code n} slots of stream lease cycles spread over the sessions' streams in turn. */
  List<LoadGen.Op> streamCycles(int n) {
    List<LoadGen.Op> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(Ops.streamCycle(sessions.get(i % sessions.size())));
    }
    return out;
  }

  int size() {
    return channels.size();
  }

  /** Connects every channel (one ping each), so connection set-up is not in a measurement. */
  void warm() {
    for (ManagedChannel ch : channels) {
      dev.berth.bench.proto.PingGrpc.newBlockingStub(ch)
          .withDeadlineAfter(30, TimeUnit.SECONDS)
          .ping(dev.berth.bench.proto.PingRequest.getDefaultInstance());
    }
  }

  /** {@code n} slots spread over the channels (and their sessions) in turn. */
  List<LoadGen.Op> slots(int n, SlotFactory f) {
    List<LoadGen.Op> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int k = i % channels.size();
      out.add(f.op(channels.get(k), sessions.isEmpty() ? null : sessions.get(k).id()));
    }
    return out;
  }

  @Override
  public void close() {
    if (beating != null) {
      beating.cancel(false);
    }
    sessions.forEach(Streams.Beating::close);
    Channels.closeAll(channels);
  }

  /** Makes one slot's operation for a channel and its session id (null without sessions). */
  interface SlotFactory {
    LoadGen.Op op(Channel channel, String sessionId);
  }
}
