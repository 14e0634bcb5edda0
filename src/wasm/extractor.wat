;; The reference extractor of Berth's worker: facts about one HTML document.
;;
;; Protocol (one document at a time per instance):
;;   ptr = alloc(len)          a buffer of len bytes for the document; 0 when it cannot be had
;;   write the document (UTF-8 bytes) at ptr
;;   res = extract(ptr, len)   scans it; res points at five little-endian i32 values:
;;     res+0   title_ptr   where the text of the first <title> starts (0 when there is none)
;;     res+4   title_len   its length in bytes, leading and trailing white space trimmed
;;     res+8   links       <a> tags that carry an href attribute (tag names ignore ASCII case)
;;     res+12  words       runs of non-space text outside tags, comments, <script> and <style>
;;     res+16  images      <img> tags
;;
;; The scanner is byte-oriented and forgiving: it expects markup as a browser serialises it
;; (attribute values in quotes), and never reads outside [ptr, ptr + len).
;;
;; Assembled by src/wasm/build.sh with Debian's wat2wasm (package wabt) into extractor.wasm,
;; which is committed; the build fails when the two disagree.
(module
  (memory (export "memory") 1 1024)

  ;; Lower-case literals the scanner matches, and where the answer goes.
  (data (i32.const 256) "<!--")
  (data (i32.const 260) "-->")
  (data (i32.const 264) "script")
  (data (i32.const 272) "</script")
  (data (i32.const 280) "style")
  (data (i32.const 288) "</style")
  (data (i32.const 296) "title")
  (data (i32.const 304) "</title")
  (data (i32.const 312) "href")
  (data (i32.const 320) "img")
  (data (i32.const 324) "a")
  (global $result i32 (i32.const 16))
  (global $input i32 (i32.const 1024))
  ;; The largest document alloc accepts: 48 MiB, well inside the 64 MiB memory maximum.
  (global $max_input i32 (i32.const 50331648))

  ;; Returns a buffer of $len bytes at $input, growing memory as needed; 0 when too large.
  (func (export "alloc") (param $len i32) (result i32)
    (local $need i32)
    (if (i32.gt_u (local.get $len) (global.get $max_input))
      (then (return (i32.const 0))))
    (local.set $need
      (i32.shr_u
        (i32.add (i32.add (global.get $input) (local.get $len)) (i32.const 65535))
        (i32.const 16)))
    (if (i32.gt_u (local.get $need) (memory.size))
      (then
        (if (i32.eq (memory.grow (i32.sub (local.get $need) (memory.size))) (i32.const -1))
          (then (return (i32.const 0))))))
    (global.get $input))

  (func $lower (param $b i32) (result i32)
    (if (result i32)
      (i32.and
        (i32.ge_u (local.get $b) (i32.const 65))
        (i32.le_u (local.get $b) (i32.const 90)))
      (then (i32.or (local.get $b) (i32.const 32)))
      (else (local.get $b))))

  (func $is_space (param $b i32) (result i32)
    (i32.or
      (i32.or
        (i32.eq (local.get $b) (i32.const 32))
        (i32.eq (local.get $b) (i32.const 9)))
      (i32.or
        (i32.eq (local.get $b) (i32.const 10))
        (i32.or
          (i32.eq (local.get $b) (i32.const 13))
          (i32.eq (local.get $b) (i32.const 12))))))

  ;; 1 when the $n bytes at $p (all before $end) equal the literal at $lit, ignoring ASCII case.
  (func $match (param $p i32) (param $end i32) (param $lit i32) (param $n i32) (result i32)
    (local $i i32)
    (if (i32.gt_u (local.get $n) (i32.sub (local.get $end) (local.get $p)))
      (then (return (i32.const 0))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (if (i32.ne
              (call $lower (i32.load8_u (i32.add (local.get $p) (local.get $i))))
              (i32.load8_u (i32.add (local.get $lit) (local.get $i))))
          (then (return (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.const 1))

  ;; The first position at or after $p where the literal starts, or $end when it does not occur.
  (func $find (param $p i32) (param $end i32) (param $lit i32) (param $n i32) (result i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (br_if $done (call $match (local.get $p) (local.get $end) (local.get $lit) (local.get $n)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (local.get $p))

  ;; 1 when a tag name equal to the literal starts at $p and ends there (space, '>', '/' or $end).
  (func $is_name (param $p i32) (param $end i32) (param $lit i32) (param $n i32) (result i32)
    (local $q i32)
    (local $b i32)
    (if (i32.eqz (call $match (local.get $p) (local.get $end) (local.get $lit) (local.get $n)))
      (then (return (i32.const 0))))
    (local.set $q (i32.add (local.get $p) (local.get $n)))
    (if (i32.ge_u (local.get $q) (local.get $end))
      (then (return (i32.const 1))))
    (local.set $b (i32.load8_u (local.get $q)))
    (i32.or
      (call $is_space (local.get $b))
      (i32.or
        (i32.eq (local.get $b) (i32.const 62))
        (i32.eq (local.get $b) (i32.const 47)))))

  ;; The position of the '>' that closes the tag being read at $p, or $end. A quote opens a
  ;; value only right after '=', so stray apostrophes in unquoted text do not hide the '>'.
  (func $tag_end (param $p i32) (param $end i32) (result i32)
    (local $b i32)
    (local $quote i32)
    (local $prev i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $b (i32.load8_u (local.get $p)))
        (if (local.get $quote)
          (then
            (if (i32.eq (local.get $b) (local.get $quote))
              (then (local.set $quote (i32.const 0)))))
          (else
            (br_if $done (i32.eq (local.get $b) (i32.const 62)))
            (if (i32.and
                  (i32.eq (local.get $prev) (i32.const 61))
                  (i32.or
                    (i32.eq (local.get $b) (i32.const 34))
                    (i32.eq (local.get $b) (i32.const 39))))
              (then (local.set $quote (local.get $b))))
            (if (i32.eqz (call $is_space (local.get $b)))
              (then (local.set $prev (local.get $b))))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (local.get $p))

  ;; 1 when the tag text [$p, $q) has an href attribute: "href" after white space, then
  ;; optional white space and '='.
  (func $has_href (param $p i32) (param $q i32) (result i32)
    (local $r i32)
    (block $done
      (loop $next
        (local.set $p (call $find (local.get $p) (local.get $q) (i32.const 312) (i32.const 4)))
        (br_if $done (i32.ge_u (local.get $p) (local.get $q)))
        (if (call $is_space (i32.load8_u (i32.sub (local.get $p) (i32.const 1))))
          (then
            (local.set $r (i32.add (local.get $p) (i32.const 4)))
            (block $spaces
              (loop $skip
                (br_if $spaces (i32.ge_u (local.get $r) (local.get $q)))
                (br_if $spaces (i32.eqz (call $is_space (i32.load8_u (local.get $r)))))
                (local.set $r (i32.add (local.get $r) (i32.const 1)))
                (br $skip)))
            (if (i32.lt_u (local.get $r) (local.get $q))
              (then
                (if (i32.eq (i32.load8_u (local.get $r)) (i32.const 61))
                  (then (return (i32.const 1))))))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (i32.const 0))

  ;; Skips an element whose content is not markup (<script>, <style>): returns the position
  ;; after the '>' of its closing tag, or $end.
  (func $skip_element (param $p i32) (param $end i32) (param $close i32) (param $n i32)
    (result i32)
    (local $c i32)
    (local.set $c (call $find (i32.add (local.get $p) (i32.const 1)) (local.get $end)
      (local.get $close) (local.get $n)))
    (if (i32.ge_u (local.get $c) (local.get $end))
      (then (return (local.get $end))))
    (i32.add (call $tag_end (local.get $c) (local.get $end)) (i32.const 1)))

  (func (export "extract") (param $ptr i32) (param $len i32) (result i32)
    (local $p i32)
    (local $end i32)
    (local $b i32)
    (local $name i32)
    (local $close i32)
    (local $in_word i32)
    (local $links i32)
    (local $words i32)
    (local $images i32)
    (local $have_title i32)
    (local $t0 i32)
    (local $t1 i32)
    (local.set $p (local.get $ptr))
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $b (i32.load8_u (local.get $p)))
        ;; The hot path, most bytes of a page: text that is neither white space nor '<'.
        (if (i32.and
              (i32.gt_u (local.get $b) (i32.const 32))
              (i32.ne (local.get $b) (i32.const 60)))
          (then
            (local.set $words (i32.add (local.get $words) (i32.eqz (local.get $in_word))))
            (local.set $in_word (i32.const 1))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $next)))
        (if (i32.eq (local.get $b) (i32.const 60))
          (then
            (local.set $in_word (i32.const 0))
            (local.set $name (i32.add (local.get $p) (i32.const 1)))
            ;; <!-- comment -->
            (if (call $match (local.get $p) (local.get $end) (i32.const 256) (i32.const 4))
              (then
                (local.set $close
                  (call $find (i32.add (local.get $p) (i32.const 4)) (local.get $end)
                    (i32.const 260) (i32.const 3)))
                (if (i32.ge_u (local.get $close) (local.get $end))
                  (then (local.set $p (local.get $end)))
                  (else (local.set $p (i32.add (local.get $close) (i32.const 3)))))
                (br $next)))
            (if (call $is_name (local.get $name) (local.get $end) (i32.const 264) (i32.const 6))
              (then
                (local.set $p
                  (call $skip_element (local.get $p) (local.get $end) (i32.const 272) (i32.const 8)))
                (br $next)))
            (if (call $is_name (local.get $name) (local.get $end) (i32.const 280) (i32.const 5))
              (then
                (local.set $p
                  (call $skip_element (local.get $p) (local.get $end) (i32.const 288) (i32.const 7)))
                (br $next)))
            ;; <title>: the first one is the document's (an <svg> may hold more).
            (if (call $is_name (local.get $name) (local.get $end) (i32.const 296) (i32.const 5))
              (then
                (local.set $close (call $tag_end (local.get $name) (local.get $end)))
                (if (i32.ge_u (local.get $close) (local.get $end))
                  (then (local.set $p (local.get $end)) (br $next)))
                (local.set $close (i32.add (local.get $close) (i32.const 1)))
                (local.set $p
                  (call $find (local.get $close) (local.get $end) (i32.const 304) (i32.const 7)))
                (if (i32.eqz (local.get $have_title))
                  (then
                    (local.set $have_title (i32.const 1))
                    (local.set $t0 (local.get $close))
                    (local.set $t1 (local.get $p))))
                (br $next)))
            (if (call $is_name (local.get $name) (local.get $end) (i32.const 324) (i32.const 1))
              (then
                (local.set $close (call $tag_end (local.get $name) (local.get $end)))
                (if (call $has_href (i32.add (local.get $name) (i32.const 1)) (local.get $close))
                  (then (local.set $links (i32.add (local.get $links) (i32.const 1)))))
                (local.set $p (i32.add (local.get $close) (i32.const 1)))
                (br $next)))
            (if (call $is_name (local.get $name) (local.get $end) (i32.const 320) (i32.const 3))
              (then
                (local.set $images (i32.add (local.get $images) (i32.const 1)))
                (local.set $p
                  (i32.add (call $tag_end (local.get $name) (local.get $end)) (i32.const 1)))
                (br $next)))
            ;; Any other tag: '<' then a letter, '/', '!' or '?'. Otherwise '<' is text.
            (if (i32.lt_u (local.get $name) (local.get $end))
              (then
                (local.set $b (call $lower (i32.load8_u (local.get $name))))
                (if (i32.or
                      (i32.and
                        (i32.ge_u (local.get $b) (i32.const 97))
                        (i32.le_u (local.get $b) (i32.const 122)))
                      (i32.or
                        (i32.eq (local.get $b) (i32.const 47))
                        (i32.or
                          (i32.eq (local.get $b) (i32.const 33))
                          (i32.eq (local.get $b) (i32.const 63)))))
                  (then
                    (local.set $p
                      (i32.add (call $tag_end (local.get $name) (local.get $end)) (i32.const 1)))
                    (br $next)))))
            (local.set $b (i32.const 60))))
        ;; Text.
        (if (call $is_space (local.get $b))
          (then (local.set $in_word (i32.const 0)))
          (else
            (if (i32.eqz (local.get $in_word))
              (then
                (local.set $words (i32.add (local.get $words) (i32.const 1)))
                (local.set $in_word (i32.const 1))))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    ;; Trim the title.
    (block $trimmed
      (loop $front
        (br_if $trimmed (i32.ge_u (local.get $t0) (local.get $t1)))
        (br_if $trimmed (i32.eqz (call $is_space (i32.load8_u (local.get $t0)))))
        (local.set $t0 (i32.add (local.get $t0) (i32.const 1)))
        (br $front)))
    (block $trimmed_back
      (loop $back
        (br_if $trimmed_back (i32.ge_u (local.get $t0) (local.get $t1)))
        (br_if $trimmed_back
          (i32.eqz (call $is_space (i32.load8_u (i32.sub (local.get $t1) (i32.const 1))))))
        (local.set $t1 (i32.sub (local.get $t1) (i32.const 1)))
        (br $back)))
    (i32.store (global.get $result) (select (local.get $t0) (i32.const 0) (local.get $have_title)))
    (i32.store (i32.add (global.get $result) (i32.const 4))
      (select (i32.sub (local.get $t1) (local.get $t0)) (i32.const 0) (local.get $have_title)))
    (i32.store (i32.add (global.get $result) (i32.const 8)) (local.get $links))
    (i32.store (i32.add (global.get $result) (i32.const 12)) (local.get $words))
    (i32.store (i32.add (global.get $result) (i32.const 16)) (local.get $images))
    (global.get $result))
)
