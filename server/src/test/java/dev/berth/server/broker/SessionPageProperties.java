package dev.berth.server.broker;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Comparator;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.constraints.StringLength;

/**
 * A page of sessions chosen with a bounded heap is exactly the page a full sort gives: the same
 * ids, in id order, for any ids (repeats included), worker filter, cursor and page size.
 */
class SessionPageProperties {
  record S(String id, String worker) {}

  @Property(tries = 500)
  void page_isTheSortedFilteredPrefix(
      @ForAll @Size(max = 60) List<@StringLength(min = 1, max = 3) String> ids,
      @ForAll @IntRange(min = 0, max = 3) int workerCount,
      @ForAll @StringLength(max = 2) String afterId,
      @ForAll @IntRange(min = 0, max = 70) int limit) {
    List<S> sessions =
        ids.stream()
            .map(id -> new S(id, workerCount == 0 ? "" : "w" + (id.length() % workerCount)))
            .toList();
    String workerId = workerCount == 0 ? "" : "w0";

    List<S> page =
        Views.sessionPage(sessions.stream(), S::id, S::worker, workerId, afterId, limit).toList();

    List<S> expected =
        sessions.stream()
            .filter(s -> workerId.isEmpty() || s.worker().equals(workerId))
            .filter(s -> afterId.isEmpty() || s.id().compareTo(afterId) > 0)
            .sorted(Comparator.comparing(S::id))
            .limit(limit)
            .toList();
    assertThat(page)
        .extracting(S::id)
        .containsExactlyElementsOf(expected.stream().map(S::id).toList());
  }
}
