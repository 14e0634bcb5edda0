package dev.berth.server.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.server.broker.Views;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.ResourceKind;
import java.util.List;
import org.junit.jupiter.api.Test;

class DashboardJsonTest {
  /**
   * A token is a uint64: one of an epoch of 2^23 or more is not shown negative, and it is a string,
   * since a JavaScript number rounds integers above 2^53 (from epoch 2^13).
   */
  @Test
  void found_aTokenAboveTheLargestLong_writtenAsItsUnsignedDecimalString() {
    Lease lease = new Lease("l-1", ResourceKind.PDF, -1L, "s1", "", "", "", 64, 0, 1_000);

    String json =
        DashboardJson.found(
                DashboardJson.Source.BROKER,
                List.of(new Views.LeaseInfo(lease, "w1")),
                10,
                new DashboardJson.Wall(0))
            .toString();

    assertThat(json).contains("\"fencing_token\":\"18446744073709551615\"");
  }
}
