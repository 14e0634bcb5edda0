package dev.berth.server.grpc;

import dev.berth.proto.v1.BrokerAdminGrpc;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.server.security.Identity;
import dev.berth.server.security.Role;
import dev.berth.server.security.TokenRegistry;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Locale;
import java.util.Optional;

/**
 * Authenticates every call by its {@code authorization: Bearer <token>} header and checks the role
 * its service needs: {@code worker} for LeaseBroker, {@code admin} for BrokerAdmin. Health and
 * reflection stay open, so load balancers and grpcurl's discovery work without a token. The
 * verified principal goes into {@link Principals#KEY}; sessions and leases belong to it.
 *
 * <p>Without configured tokens every call is {@link Identity#ANONYMOUS}. A missing or unknown token
 * is UNAUTHENTICATED, a known token without the role PERMISSION_DENIED. Tokens are never logged or
 * echoed.
 *
 * <p>The tokens can be replaced while serving ({@link #replace}): each call is checked against the
 * set in force when it starts, so a stream opened with a token removed later keeps running until it
 * ends, while every new call with that token is UNAUTHENTICATED.
 *
 * <p>Thread-safe.
 */
final class AuthInterceptor implements ServerInterceptor {
  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final String BEARER = "bearer ";

  private volatile TokenRegistry tokens;

  AuthInterceptor(TokenRegistry tokens) {
    this.tokens = tokens;
  }

  /** Checks calls that start from now on against {@code next}. */
  void replace(TokenRegistry next) {
    this.tokens = next;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    Role required = requiredRole(call.getMethodDescriptor().getServiceName());
    TokenRegistry tokens = this.tokens; // one set for the whole check
    if (!tokens.enabled() || required == null) {
      return next.startCall(call, headers);
    }
    String header = headers.get(AUTHORIZATION);
    if (header == null
        || header.length() <= BEARER.length()
        || !header.substring(0, BEARER.length()).toLowerCase(Locale.ROOT).equals(BEARER)) {
      return refuse(
          call,
          Status.UNAUTHENTICATED.withDescription(
              "missing bearer token: send metadata 'authorization: Bearer <token>'"));
    }
    Optional<Identity> identity = tokens.verify(header.substring(BEARER.length()).trim());
    if (identity.isEmpty()) {
      return refuse(call, Status.UNAUTHENTICATED.withDescription("unknown bearer token"));
    }
    if (!identity.get().has(required)) {
      return refuse(
          call,
          Status.PERMISSION_DENIED.withDescription(
              "principal '"
                  + identity.get().principal()
                  + "' lacks the "
                  + required.name().toLowerCase(Locale.ROOT)
                  + " role needed for "
                  + call.getMethodDescriptor().getServiceName()));
    }
    Context context = Context.current().withValue(Principals.KEY, identity.get().principal());
    return Contexts.interceptCall(context, call, headers, next);
  }

  /** The role a service needs, or null for services open to all (health, reflection). */
  static Role requiredRole(String service) {
    if (LeaseBrokerGrpc.SERVICE_NAME.equals(service)) {
      return Role.WORKER;
    }
    if (BrokerAdminGrpc.SERVICE_NAME.equals(service)) {
      return Role.ADMIN;
    }
    return null;
  }

  private static <Q, R> ServerCall.Listener<Q> refuse(ServerCall<Q, R> call, Status status) {
    call.close(status, new Metadata());
    return new ServerCall.Listener<>() {};
  }
}
