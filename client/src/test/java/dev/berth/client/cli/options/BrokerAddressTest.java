package dev.berth.client.cli.options;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class BrokerAddressTest {
  @Test
  void parse_hostPortIpv6AndUris_accepted() {
    assertThat(BrokerAddress.parse("127.0.0.1:7433").targets()).containsExactly("127.0.0.1:7433");
    assertThat(BrokerAddress.parse("[::1]:7433").targets()).containsExactly("[::1]:7433");
    assertThat(BrokerAddress.parse(" broker.internal:7433 ").targets())
        .containsExactly("broker.internal:7433");
    assertThat(BrokerAddress.parse("dns:///broker.internal:7433").targets())
        .containsExactly("dns:///broker.internal:7433");
  }

  @Test
  void parse_unixSocket_refusedSayingSo() {
    // The broker listens on TCP only; gRPC would fail later with a stack trace.
    for (String unix : new String[] {"unix:///run/berth.sock", "UNIX:/tmp/x.sock", "a:1,unix:x"}) {
      assertThatThrownBy(() -> BrokerAddress.parse(unix))
          .as(unix)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("unix sockets are not supported");
    }
  }

  @Test
  void parse_malformed_refusedNamingTheRuleAndText() {
    for (String bad :
        new String[] {
          "[::1:7433",
          "::1:7433",
          "localhost",
          "localhost:",
          ":7433",
          "a:0",
          "a:65536",
          "a:port",
          "a b:1",
          "",
          "a:1,",
          "dns:///bad host:1"
        }) {
      assertThatThrownBy(() -> BrokerAddress.parse(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("must be HOST:PORT")
          .hasMessageContaining("got '");
    }
  }

  @Test
  void parse_list_theMembersInOrder() {
    BrokerAddress list = BrokerAddress.parse("a:7433, [::1]:7434,dns:///c:7435");

    assertThat(list.targets()).containsExactly("a:7433", "[::1]:7434", "dns:///c:7435");
    assertThat(list).hasToString("a:7433,[::1]:7434,dns:///c:7435");
  }

  @Test
  void parse_listNamingABrokerTwice_refusedNamingIt() {
    assertThatThrownBy(() -> BrokerAddress.parse("a:7433,b:7433,a:7433"))
        .hasMessageStartingWith("names a:7433 twice");
  }

  @Test
  void parse_listWithABadEntry_namesTheEntry() {
    assertThatThrownBy(() -> BrokerAddress.parse("a:7433,[::1:7434"))
        .hasMessageEndingWith("got '[::1:7434'");
  }
}
