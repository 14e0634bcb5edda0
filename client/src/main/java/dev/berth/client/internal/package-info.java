/**
 * The SDK's plumbing: the gRPC channel, the session stream and its reconnects, lease bookkeeping,
 * and the conversions between {@code berth.v1} messages and the public types. Not an API: anything
 * here may change without notice.
 *
 * <p>It depends on {@code dev.berth.client}, never the reverse: the public package reaches it only
 * through {@link dev.berth.client.internal.GrpcBrokerClientProvider}, which {@link
 * java.util.ServiceLoader} finds. Its few public classes besides that one ({@code ChannelSecurity},
 * {@code TlsFailures}, {@code Targets}, {@code Errors}) are the TLS and error plumbing the {@code
 * berth} CLI shares with the SDK.
 */
package dev.berth.client.internal;
