package dev.berth.server.settings;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AddressesTest {
  @ParameterizedTest
  @CsvSource({
    "127.0.0.1:7433, 127.0.0.1, 7433",
    "localhost:0, localhost, 0",
    "broker.example.com:443, broker.example.com, 443",
    "'[::1]:7433', ::1, 7433",
    "'[fe80::1]:65535', fe80::1, 65535",
    "' 0.0.0.0:9464 ', 0.0.0.0, 9464"
  })
  void parse_wellFormed_hostAndPort(String text, String host, int port) {
    InetSocketAddress address = Addresses.parse("listen", text);

    assertThat(address.getHostString()).isEqualTo(host);
    assertThat(address.getPort()).isEqualTo(port);
    assertThat(address.isUnresolved()).isTrue();
  }

  @ParameterizedTest
  @CsvSource({
    "127.0.0.1:7433, 127.0.0.1:7433",
    "'[::1]:7433', '[::1]:7433'",
    "localhost:0, localhost:0"
  })
  void format_readsBackAsTyped(String text, String formatted) {
    assertThat(Addresses.format(Addresses.parse("listen", text))).isEqualTo(formatted);
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "[::1:7433      | listen: must be HOST:PORT (IPv6 in brackets: [::1]:7433), got '[::1:7433' (no closing ']')",
        "[::1]7433      | listen: must be HOST:PORT (IPv6 in brackets: [::1]:7433), got '[::1]7433'",
        "::1:7433       | listen: must be HOST:PORT (IPv6 in brackets: [::1]:7433), got '::1:7433' (an IPv6 host needs brackets)",
        "127.0.0.1      | listen: must be HOST:PORT (IPv6 in brackets: [::1]:7433), got '127.0.0.1'",
        "127.0.0.1:     | listen: must be HOST:PORT (IPv6 in brackets: [::1]:7433), got '127.0.0.1:' (the port must be a number)",
        "127.0.0.1:http | listen: must be HOST:PORT (IPv6 in brackets: [::1]:7433), got '127.0.0.1:http' (the port must be a number)",
        "127.0.0.1:70000| listen: must be HOST:PORT (IPv6 in brackets: [::1]:7433), got '127.0.0.1:70000' (the port must be 0..65535)",
        ":7433          | listen: must be HOST:PORT (IPv6 in brackets: [::1]:7433), got ':7433' (no valid host before the port)",
        "exa mple:7433  | listen: must be HOST:PORT (IPv6 in brackets: [::1]:7433), got 'exa mple:7433' (no valid host before the port)",
        "[example]:7433 | listen: must be HOST:PORT (IPv6 in brackets: [::1]:7433), got '[example]:7433' (brackets hold an IPv6 address)"
      })
  void parse_malformed_namesKeyRuleAndValue(String text, String message) {
    assertThatThrownBy(() -> Addresses.parse("listen", text))
        .isInstanceOf(ConfigException.class)
        .hasMessage(message)
        .extracting(e -> ((ConfigException) e).key())
        .isEqualTo("listen");
  }
}
