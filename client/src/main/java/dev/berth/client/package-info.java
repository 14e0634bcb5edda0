/**
 * The Berth Java SDK for workers and operators. Public types live here; plumbing lives in {@code
 * dev.berth.client.internal}.
 */
package dev.berth.client;
