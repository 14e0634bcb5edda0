package dev.berth.testkit;

import io.grpc.MethodDescriptor;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

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
