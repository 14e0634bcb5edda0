/**
 * The SDK's plumbing: the gRPC channel, the session stream and its reconnects, lease bookkeeping,
 * and the conversions between {@code berth.v1} messages and the public types. Not an API: anything
 * here may change without notice. Public only so that {@code dev.berth.client} can reach it.
 */
package dev.berth.client.internal;
