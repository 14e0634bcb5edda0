package dev.berth.testkit;

import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionRequest;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An abusive client as its own process, for the flood test and the flood benchmark: one principal
 * that first opens thousands of sessions, then hammers Acquire for one host with a bounded number
 * of calls in flight but no pause between them, until its standard input closes.
 *
 * <p>Usage: {@code FloodClient HOST:PORT TOKEN SESSION_ATTEMPTS IN_FLIGHT}. Prints {@code SESSIONS
 * opened=N exhausted=N caps=[...]}, then {@code FLOODING}, a {@code PROGRESS calls=N exhausted=N
 * caps=[...]} line a second, and at the end {@code ACQUIRES calls=N exhausted=N ok=N other=N
 * seconds=S caps=[...]}.
 */
public final class FloodClient {
  private static final int CALLS_PER_CONNECTION = 900; // under the broker's 1000 per connection
  private static final Pattern CAP = Pattern.compile("caps\\.[a-z_]+");

  private FloodClient() {}

  public static void main(String[] args) throws Exception {
    String target = args[0];
    String token = args[1];
    int sessionAttempts = Integer.parseInt(args[2]);
    int inFlight = Integer.parseInt(args[3]);

    List<ManagedChannel> channels = new ArrayList<>();
    for (int i = 0; i <= sessionAttempts / CALLS_PER_CONNECTION; i++) {
      channels.add(ManagedChannelBuilder.forTarget(target).usePlaintext().build());
    }
    String sessionId = floodSessions(channels, token, sessionAttempts);

    AtomicLong calls = new AtomicLong();
    AtomicLong ok = new AtomicLong();
    Refusals refusals = new Refusals();
    Thread stdin =
        new Thread(
            () -> {
              try {
                while (System.in.read() >= 0) {
                  // wait for EOF: the test closes our stdin to stop the flood
                }
              } catch (Exception e) {
                // closed
              }
            });
    stdin.setDaemon(true);
    stdin.start();

    LeaseBrokerGrpc.LeaseBrokerStub stub =
        LeaseBrokerGrpc.newStub(Bearer.as(channels.get(0), token));
    AcquireRequest request =
        AcquireRequest.newBuilder()
            .setSessionId(sessionId)
            .setKind(ResourceKind.RESOURCE_KIND_RENDER)
            .setUrl("https://victim.example/page")
            .setWait(com.google.protobuf.Duration.newBuilder().setSeconds(5))
            .build();
    Semaphore slots = new Semaphore(inFlight);
    System.out.println("FLOODING");
    System.out.flush();
    long start = System.nanoTime();
    long nextProgress = start + TimeUnit.SECONDS.toNanos(1);
    while (stdin.isAlive()) {
      if (!slots.tryAcquire(100, TimeUnit.MILLISECONDS)) {
        continue;
      }
      calls.incrementAndGet();
      stub.withDeadlineAfter(10, TimeUnit.SECONDS)
          .acquire(
              request,
              new StreamObserver<>() {
                @Override
                public void onNext(AcquireResponse value) {
                  ok.incrementAndGet();
                }

                @Override
                public void onError(Throwable t) {
                  refusals.record(t);
                  slots.release();
                }

                @Override
                public void onCompleted() {
                  slots.release();
                }
              });
      if (System.nanoTime() > nextProgress) {
        System.out.println(
            "PROGRESS calls="
                + calls
                + " exhausted="
                + refusals.exhausted
                + " caps="
                + new TreeSet<>(refusals.caps));
        System.out.flush();
        nextProgress += TimeUnit.SECONDS.toNanos(1);
      }
    }
    slots.tryAcquire(inFlight, 15, TimeUnit.SECONDS);
    double seconds = (System.nanoTime() - start) / 1e9;
    System.out.printf(
        "ACQUIRES calls=%d exhausted=%d ok=%d other=%s seconds=%.1f caps=%s%n",
        calls.get(),
        refusals.exhausted.get(),
        ok.get(),
        refusals.other,
        seconds,
        new TreeSet<>(refusals.caps));
    System.out.flush();
    channels.forEach(ManagedChannel::shutdownNow);
    System.exit(0);
  }

  /** How calls failed: RESOURCE_EXHAUSTED (and the caps it named), or another code. */
  private static final class Refusals {
    final AtomicLong exhausted = new AtomicLong();
    final Map<Status.Code, AtomicLong> other = new ConcurrentHashMap<>();
    final Set<String> caps = ConcurrentHashMap.newKeySet();

    void record(Throwable t) {
      Status status = Status.fromThrowable(t);
      if (status.getCode() != Status.Code.RESOURCE_EXHAUSTED) {
        other.computeIfAbsent(status.getCode(), c -> new AtomicLong()).incrementAndGet();
        return;
      }
      exhausted.incrementAndGet();
      Matcher m = CAP.matcher(String.valueOf(status.getDescription()));
      while (m.find()) {
        caps.add(m.group());
      }
    }
  }

  /** Opens {@code attempts} sessions at once; prints what happened; returns one opened session. */
  private static String floodSessions(List<ManagedChannel> channels, String token, int attempts)
      throws InterruptedException {
    CountDownLatch answered = new CountDownLatch(attempts);
    Refusals refusals = new Refusals();
    List<String> opened = new ArrayList<>();
    for (int i = 0; i < attempts; i++) {
      Channel channel = Bearer.as(channels.get(i / CALLS_PER_CONNECTION), token);
      StreamObserver<SessionRequest> requests =
          LeaseBrokerGrpc.newStub(channel)
              .openSession(
                  new StreamObserver<>() {
                    @Override
                    public void onNext(SessionEvent event) {
                      if (event.hasOpened()) {
                        synchronized (opened) {
                          opened.add(event.getOpened().getSessionId());
                        }
                        answered.countDown();
                      }
                    }

                    @Override
                    public void onError(Throwable t) {
                      refusals.record(t);
                      answered.countDown();
                    }

                    @Override
                    public void onCompleted() {
                      answered.countDown();
                    }
                  });
      requests.onNext(
          SessionRequest.newBuilder()
              .setHello(Hello.newBuilder().setWorkerId("flooder-" + i))
              .build());
    }
    answered.await(30, TimeUnit.SECONDS);
    synchronized (opened) {
      System.out.println(
          "SESSIONS opened="
              + opened.size()
              + " exhausted="
              + refusals.exhausted
              + " other="
              + refusals.other
              + " caps="
              + new TreeSet<>(refusals.caps));
      System.out.flush();
      if (opened.isEmpty()) {
        System.exit(2);
      }
      return opened.get(0);
    }
  }
}
