package dev.berth.server.grpc;

import io.grpc.Context;

/**
 * Who is calling. Sessions and leases belong to the principal that opened them. Without
 * authentication every caller is {@link #ANONYMOUS}; an authenticating interceptor puts the
 * verified name into {@link #KEY}.
 */
public final class Principals {
  /** The principal of calls on a listener without authentication. */
  public static final String ANONYMOUS = "anonymous";

  /** The verified caller of the current call. */
  public static final Context.Key<String> KEY =
      Context.keyWithDefault("berth-principal", ANONYMOUS);

  private Principals() {}

  /** The principal of the current call. */
  static String current() {
    return KEY.get();
  }
}
