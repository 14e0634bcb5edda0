package dev.berth.bench.suite;

import com.google.protobuf.Duration;
import com.google.protobuf.Message;
import com.google.protobuf.Timestamp;
import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.Lease;
import dev.berth.proto.v1.LeaseEnd;
import dev.berth.proto.v1.Refusal;
import dev.berth.proto.v1.RefusalReason;
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.ReleaseResponse;
import dev.berth.proto.v1.ResourceKind;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;

/**
 * A second baseline for G2: the lease cycle's own messages ({@code AcquireRequest}, {@code
 * AcquireResponse} with a granted lease of the broker's shape, {@code ReleaseRequest}, {@code
 * ReleaseResponse}) carried as two unary calls that the server answers at once from a fixed
 * response, with no broker behind them. Served next to {@code Ping} on the same listener. A pair of
 * these against a ping pair is the cost of the messages alone; against a lease cycle, the cost of
 * everything Berth does between receiving a request and sending its answer. The service is built
 * from method descriptors rather than a .proto service so that it reuses Berth's message types as
 * they are. A third method, {@code Refuse}, does the same for G6: the refused acquire's messages
 * without a broker.
 */
final class ShapedPing {
  private ShapedPing() {}

  static final String SERVICE = "berth.bench.v1.ShapedPing";

  static final MethodDescriptor<AcquireRequest, AcquireResponse> ACQUIRE =
      unary("Acquire", AcquireRequest.getDefaultInstance(), AcquireResponse.getDefaultInstance());

  /** G6's baseline: the refused acquire's messages, answered at once from {@link #REFUSED}. */
  static final MethodDescriptor<AcquireRequest, AcquireResponse> REFUSE =
      unary("Refuse", AcquireRequest.getDefaultInstance(), AcquireResponse.getDefaultInstance());

  static final MethodDescriptor<ReleaseRequest, ReleaseResponse> RELEASE =
      unary("Release", ReleaseRequest.getDefaultInstance(), ReleaseResponse.getDefaultInstance());

  private static <Q extends Message, R extends Message> MethodDescriptor<Q, R> unary(
      String method, Q request, R response) {
    return MethodDescriptor.<Q, R>newBuilder()
        .setType(MethodDescriptor.MethodType.UNARY)
        .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, method))
        .setRequestMarshaller(ProtoUtils.marshaller(request))
        .setResponseMarshaller(ProtoUtils.marshaller(response))
        .build();
  }

  /**
   * What the broker answers a granted RENDER acquire of the bench's cycle: every field the broker
   * sets, with values of the same sizes (32-hex ids, a fencing token of a late epoch, the cycle's
   * host, the default memory estimate of a RENDER lease, two timestamps with nanoseconds). G2's
   * detail prints its size next to a real answer's.
   */
  static final AcquireResponse GRANTED =
      AcquireResponse.newBuilder()
          .setGranted(
              Lease.newBuilder()
                  .setLeaseId("5f0c3a9e8d7b41c2a6e9f3b8d1c4e7a2")
                  .setKind(ResourceKind.RESOURCE_KIND_RENDER)
                  .setFencingToken(0x0000_0007_0001_86a3L)
                  .setSessionId("9b2e6f1d4c8a47e3b5d0a7c9e2f41b68")
                  .setHost("cycle.bench.invalid")
                  .setMemoryMb(300)
                  .setGrantedAt(
                      Timestamp.newBuilder().setSeconds(1_796_540_000L).setNanos(123_456_789))
                  .setExpiresAt(
                      Timestamp.newBuilder().setSeconds(1_796_540_300L).setNanos(123_456_789)))
          .build();

  /** What the broker answers the release of a live lease. */
  static final ReleaseResponse RELEASED =
      ReleaseResponse.newBuilder()
          .setReleased(true)
          .setEndedBy(LeaseEnd.LEASE_END_RELEASED)
          .build();

  /**
   * What the broker answers G6's refused acquire: a rate-limit refusal of its shape (the reason, a
   * retry-after with nanoseconds, the host's sentence and the rule's key, for the bench's refused
   * host). G6's detail prints its size next to a real answer's.
   */
  static final AcquireResponse REFUSED =
      AcquireResponse.newBuilder()
          .setRefused(
              Refusal.newBuilder()
                  .setReason(RefusalReason.REFUSAL_REASON_RATE_LIMITED)
                  .setRetryAfter(Duration.newBuilder().setSeconds(999).setNanos(987_654_321))
                  .setDetail("host refused.bench.invalid: 0.001/s, next token in 16m37s")
                  .setRule("rate_limit.hosts['refused.bench.invalid'].rate"))
          .build();

  /** The server side: every method answers at once with its fixed response. */
  static ServerServiceDefinition service() {
    return ServerServiceDefinition.builder(SERVICE)
        .addMethod(ACQUIRE, ServerCalls.asyncUnaryCall(ShapedPing::answerAcquire))
        .addMethod(RELEASE, ServerCalls.asyncUnaryCall(ShapedPing::answerRelease))
        .addMethod(REFUSE, ServerCalls.asyncUnaryCall(ShapedPing::answerRefuse))
        .build();
  }

  private static void answerAcquire(
      AcquireRequest request, StreamObserver<AcquireResponse> response) {
    response.onNext(GRANTED);
    response.onCompleted();
  }

  private static void answerRefuse(
      AcquireRequest request, StreamObserver<AcquireResponse> response) {
    response.onNext(REFUSED);
    response.onCompleted();
  }

  private static void answerRelease(
      ReleaseRequest request, StreamObserver<ReleaseResponse> response) {
    response.onNext(RELEASED);
    response.onCompleted();
  }

  static void acquire(Channel channel, AcquireRequest request, StreamObserver<AcquireResponse> to) {
    ClientCalls.asyncUnaryCall(channel.newCall(ACQUIRE, CallOptions.DEFAULT), request, to);
  }

  static void refuse(Channel channel, AcquireRequest request, StreamObserver<AcquireResponse> to) {
    ClientCalls.asyncUnaryCall(channel.newCall(REFUSE, CallOptions.DEFAULT), request, to);
  }

  static void release(Channel channel, ReleaseRequest request, StreamObserver<ReleaseResponse> to) {
    ClientCalls.asyncUnaryCall(channel.newCall(RELEASE, CallOptions.DEFAULT), request, to);
  }
}
