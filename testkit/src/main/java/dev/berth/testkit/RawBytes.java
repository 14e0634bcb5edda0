package dev.berth.testkit;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Calls that put bytes on the wire as they are: a marshaller that neither checks nor parses, so a
 * test can send what no generated stub would — garbage, truncated or oversized messages.
 *
 * <p>Thread-safe (stateless).
 */
public final class RawBytes {
  /** Sends and receives message bytes unchanged. */
  public static final MethodDescriptor.Marshaller<byte[]> MARSHALLER =
      new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
          return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
          try {
            return stream.readAllBytes();
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      };

  private RawBytes() {}

  /**
   * A raw call started on {@code channel}, reading whatever comes back, and how it ended.
   *
   * @param call send messages, half-close or cancel it
   * @param closed completes with the status that ended the call
   */
  public record Call(ClientCall<byte[], byte[]> call, CompletableFuture<Status> closed) {}

  /** Starts {@code method} on {@code channel} and sends {@code messages}; nothing more. */
  public static Call start(
      Channel channel,
      MethodDescriptor<byte[], byte[]> method,
      CallOptions options,
      List<byte[]> messages) {
    CompletableFuture<Status> closed = new CompletableFuture<>();
    ClientCall<byte[], byte[]> call = channel.newCall(method, options);
    call.start(
        new ClientCall.Listener<>() {
          @Override
          public void onClose(Status status, Metadata trailers) {
            closed.complete(status);
          }
        },
        new Metadata());
    call.request(Integer.MAX_VALUE);
    messages.forEach(call::sendMessage);
    return new Call(call, closed);
  }

  /** {@code method} with raw bytes for its requests and responses. */
  public static MethodDescriptor<byte[], byte[]> of(MethodDescriptor<?, ?> method) {
    return method.toBuilder(MARSHALLER, MARSHALLER).build();
  }

  /** The method {@code fullName} ("package.Service/Method") of {@code type}, in raw bytes. */
  public static MethodDescriptor<byte[], byte[]> of(
      String fullName, MethodDescriptor.MethodType type) {
    return MethodDescriptor.<byte[], byte[]>newBuilder(MARSHALLER, MARSHALLER)
        .setFullMethodName(fullName)
        .setType(type)
        .build();
  }
}
