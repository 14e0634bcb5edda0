/**
 * The Berth Java SDK for workers: the types an application uses, and nothing that knows gRPC. The
 * implementation lives in {@code dev.berth.client.internal}, which this package does not import:
 * {@link dev.berth.client.BrokerClient.Builder#build()} finds it through {@link
 * dev.berth.client.BrokerClientProvider}.
 */
package dev.berth.client;
