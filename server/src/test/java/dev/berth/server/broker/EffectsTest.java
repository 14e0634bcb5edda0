package dev.berth.server.broker;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class EffectsTest {

  /** A listener that records the events it is told, by the worker id they carry. */
  private static BrokerListener recording(List<String> seen, String name) {
    return new BrokerListener() {
      @Override
      public void granted(dev.berth.server.lease.Lease lease, String workerId, String job) {
        seen.add(name + ":" + workerId);
      }
    };
  }

  @Test
  void run_actionsAndListenerEvents_runInOrderEachListenerTold() {
    List<String> seen = new ArrayList<>();
    List<BrokerListener> listeners = new CopyOnWriteArrayList<>();
    listeners.add(recording(seen, "a"));
    listeners.add(recording(seen, "b"));
    Effects fx = new Effects();

    fx.add(() -> seen.add("first"));
    fx.tell(listeners, l -> l.granted(null, "w1", "default"));
    fx.add(() -> seen.add("last"));
    fx.run();

    assertThat(seen).containsExactly("first", "a:w1", "b:w1", "last");
  }

  @Test
  void run_eventFailsForAListener_laterActionsStillRun() {
    List<String> seen = new ArrayList<>();
    List<BrokerListener> listeners = List.of(recording(seen, "a"));
    Effects fx = new Effects();

    fx.tell(
        listeners,
        l -> {
          throw new IllegalStateException("listener broke");
        });
    fx.tell(listeners, l -> l.granted(null, "w2", "default"));
    fx.add(() -> seen.add("after"));
    fx.run();

    assertThat(seen).containsExactly("a:w2", "after");
  }

  @Test
  void run_noneOneTwoOrManyActions_eachRunOnceInOrder() {
    for (int n = 0; n <= 6; n++) {
      List<Integer> seen = new ArrayList<>();
      List<BrokerListener> listeners = List.of(recording(new ArrayList<>(), "a"));
      Effects fx = new Effects();
      for (int i = 0; i < n; i++) {
        int index = i;
        if (i % 2 == 0) {
          fx.add(() -> seen.add(index));
        } else {
          fx.tell(listeners, l -> seen.add(index));
        }
      }

      fx.run();

      assertThat(seen).as("%d actions", n).containsExactlyElementsOf(range(n));
    }
  }

  private static List<Integer> range(int n) {
    List<Integer> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(i);
    }
    return out;
  }
}
