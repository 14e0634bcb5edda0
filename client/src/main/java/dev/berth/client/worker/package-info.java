/**
 * The reference worker, {@code berth worker}: renders URLs with Playwright on the system Chromium
 * under RENDER leases, extracts facts from each page with the broker's WASM module under Chicory,
 * prints PDFs under PDF leases, and writes one JSON result per URL. It talks to the broker only
 * through the public SDK, {@link dev.berth.client}. {@link dev.berth.client.worker.WorkerMain} is
 * the entry point; everything else here is package-private.
 */
package dev.berth.client.worker;
