package dev.berth.client.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The reference extractor, src/wasm/extractor.wasm, run by Chicory on known documents. */
class ExtractorTest {
  static final Path MODULE = Path.of("..", "src", "wasm", "extractor.wasm");

  private static byte[] wasm;

  @BeforeAll
  static void readModule() throws IOException {
    wasm = Files.readAllBytes(MODULE);
  }

  private static PageFacts extract(String html) {
    return Extractor.load(wasm).extract(html.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void extract_typicalPage_findsTitleLinksWordsAndImages() {
    PageFacts facts =
        extract(
            """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>Berth &ndash; docs</title>
            <style>a > b { color: red }</style></head>
            <body><h1>Welcome aboard</h1>
            <p>Read the <a href="/guide">guide</a> or the <a class="x" href='/api'>API</a>.</p>
            <img src="logo.png" alt="logo"><img src=x.png>
            </body></html>
            """);

    assertThat(facts.title()).isEqualTo("Berth &ndash; docs");
    assertThat(facts.links()).isEqualTo(2);
    assertThat(facts.images()).isEqualTo(2);
    // Welcome aboard Read the guide or the API . (a tag ends a word, so the final '.' is one)
    assertThat(facts.words()).isEqualTo(9);
    assertThat(facts.truncated()).isFalse();
  }

  @Test
  void extract_tagNames_ignoreCase() {
    PageFacts facts =
        extract("<HTML><HEAD><TITLE>Upper</TITLE></HEAD><A HREF=\"/a\">a</A><Img SRC=b></HTML>");

    assertThat(facts.title()).isEqualTo("Upper");
    assertThat(facts.links()).isEqualTo(1);
    assertThat(facts.images()).isEqualTo(1);
  }

  @Test
  void extract_onlyAnchorsWithHref_countAsLinks() {
    PageFacts facts =
        extract(
            "<a name=top>top</a><a>plain</a><abbr title=x>abbr</abbr><area href=/m>"
                + "<a\nhref = \"/spaced\">spaced</a><a data-href=\"/no\">no</a>"
                + "<a title=\"x>y\" href=\"/quoted\">quoted</a>");

    assertThat(facts.links()).isEqualTo(2); // /spaced and /quoted
  }

  @Test
  void extract_commentsScriptsAndStyles_areSkipped() {
    PageFacts facts =
        extract(
            "<!-- <a href=/hidden> <title>Not it</title> -->"
                + "<script>var s = '<a href=\"/js\">';</script>"
                + "<STYLE>p{}</STYLE><title>Real</title><p>two words</p>");

    assertThat(facts.title()).isEqualTo("Real");
    assertThat(facts.links()).isZero();
    assertThat(facts.words()).isEqualTo(2);
  }

  @Test
  void extract_titleWhiteSpace_isCollapsedAndUnicodeKept() {
    PageFacts facts = extract("<title>\n   Grüße  aus\tKöln \u00e9  </title>");

    assertThat(facts.title()).isEqualTo("Grüße aus Köln é");
  }

  @Test
  void extract_firstTitleWins_andNoTitleIsEmpty() {
    assertThat(extract("<title>one</title><svg><title>two</title></svg>").title()).isEqualTo("one");
    assertThat(extract("<p>no title here</p>").title()).isEmpty();
    assertThat(extract("<title>unterminated").title()).isEqualTo("unterminated");
    assertThat(extract("").words()).isZero();
  }

  @Test
  void extract_strayLessThan_isText() {
    PageFacts facts = extract("<p>1 < 2 and 3 <4</p>");

    assertThat(facts.words()).isEqualTo(6);
  }

  @Test
  void extract_sameInstance_manyDocuments_growsMemory() {
    Extractor extractor = Extractor.load(wasm);
    StringBuilder big = new StringBuilder("<title>big</title>");
    int expectedLinks = 0;
    while (big.length() < 300_000) {
      big.append("<p>word <a href=\"/x\">x</a></p>\n");
      expectedLinks++;
    }

    PageFacts small = extractor.extract("<title>small</title>".getBytes(StandardCharsets.UTF_8));
    PageFacts large = extractor.extract(big.toString().getBytes(StandardCharsets.UTF_8));
    PageFacts again = extractor.extract("<title>again</title>".getBytes(StandardCharsets.UTF_8));

    assertThat(small.title()).isEqualTo("small");
    assertThat(large.title()).isEqualTo("big");
    assertThat(large.links()).isEqualTo(expectedLinks);
    assertThat(again.title()).isEqualTo("again");
  }

  @Test
  void load_notAModule_isRefused() {
    assertThatThrownBy(() -> Extractor.load("not wasm".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not an extractor module");
  }

  // ---------------------------------------------------------------- modules that misbehave

  /**
   * Extractor modules that misbehave, assembled by {@code wat2wasm} from the text in each comment.
   * Each exports memory (1 page) and {@code alloc} (answers 1024); only {@code extract} differs.
   */
  static final class BadModules {
    private BadModules() {}

    /** {@code (loop $l (br $l)) i32.const 0}: never returns. */
    static final byte[] LOOP =
        hex(
            "0061736d01000000010c0260017f017f60027f7f017f03030200010503010001071c03066d656d6f7279"
                + "020005616c6c6f630000076578747261637400010a110205004180080b090003400c000b41000b");

    /** {@code unreachable}: traps. */
    static final byte[] TRAP =
        hex(
            "0061736d01000000010c0260017f017f60027f7f017f03030200010503010001071c03066d656d6f7279"
                + "020005616c6c6f630000076578747261637400010a0b0205004180080b0300000b");

    /**
     * {@code (loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
     * unreachable}: grows its memory until it cannot, declaring no maximum.
     */
    static final byte[] GROW =
        hex(
            "0061736d01000000010c0260017f017f60027f7f017f03030200010503010001071c03066d656d6f7279"
                + "020005616c6c6f630000076578747261637400010a170205004180080b0f00034041104000417f47"
                + "0d000b000b");

    private static byte[] hex(String text) {
      return java.util.HexFormat.of().parseHex(text);
    }
  }

  @Test
  void extract_moduleThatNeverReturns_stopsAtAnInterrupt() {
    Extractor extractor = Extractor.load(BadModules.LOOP);
    Thread.currentThread().interrupt(); // as the watchdog does once the page is past its time
    try {
      assertThatThrownBy(() -> extractor.extract("<p>x</p>".getBytes(StandardCharsets.UTF_8)))
          .isInstanceOf(Extractor.ExtractionException.class)
          .hasMessageContaining("interrupted");
    } finally {
      assertThat(Thread.interrupted()).isTrue(); // the flag is the caller's to clear
    }
  }

  @Test
  void extract_moduleThatTraps_failsTheDocument() {
    Extractor extractor = Extractor.load(BadModules.TRAP);

    assertThatThrownBy(() -> extractor.extract("<p>x</p>".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(Extractor.ExtractionException.class)
        .hasMessageContaining("the extractor failed");
  }

  @Test
  void extract_moduleThatGrowsWithoutEnd_stopsAtTheMemoryBound() {
    Extractor extractor = Extractor.load(BadModules.GROW, 64);

    assertThatThrownBy(() -> extractor.extract("<p>x</p>".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(Extractor.ExtractionException.class);
    assertThat(extractor.instance().memory().pages()).isLessThanOrEqualTo(64);
    assertThat(Extractor.MAX_PAGES).isEqualTo(4096); // 256 MiB, the broker's own bound
  }
}
