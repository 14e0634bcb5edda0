package dev.berth.client.worker;

import static java.util.Objects.requireNonNull;

/**
 * What the WASM extractor found in one HTML document.
 *
 * @param title the first {@code <title>}, white space collapsed; empty when there is none
 * @param links {@code <a>} tags with an {@code href}
 * @param words runs of non-space text outside tags, comments, scripts and styles
 * @param images {@code <img>} tags
 * @param truncated true when the document was longer than the extractor is given
 */
record PageFacts(String title, int links, int words, int images, boolean truncated) {
  PageFacts {
    requireNonNull(title, "title");
  }
}
