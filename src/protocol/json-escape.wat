;; JSON string escaping of UTF-8 bytes, 16 bytes at a time (WebAssembly SIMD).
;; Source of src/protocol/json-escape-wasm.ts; rebuild with: node scripts/build-wasm.js
;;
;; escape(src, len, dst) -> end: writes the bytes at [src, src+len) to dst, escaped as the inside of
;; a JSON string exactly as JSON.stringify escapes them (the input is valid UTF-8, so only bytes
;; below 0x20, '"' and '\' change), and returns where the output ends. dst needs room for
;; 6 * len + 16 bytes (every byte may become \u00XX; a block store may run 16 bytes ahead).
;;
;; Memory layout, filled by the caller: [0,256) escape class of each byte (0 copied, 1 short escape,
;; 2 \u00XX), [256,512) the letter after the backslash of a short escape, [512,528) hex digits.
(module
  (memory (export "memory") 8)

  ;; Writes byte $b at $dst, escaped; returns the end of what was written.
  (func $escapeByte (param $b i32) (param $dst i32) (result i32)
    (local $class i32)
    (local.set $class (i32.load8_u (local.get $b)))
    (if (i32.eqz (local.get $class))
      (then
        (i32.store8 (local.get $dst) (local.get $b))
        (return (i32.add (local.get $dst) (i32.const 1)))))
    (i32.store8 (local.get $dst) (i32.const 92)) ;; backslash
    (if (i32.eq (local.get $class) (i32.const 1))
      (then
        (i32.store8 offset=1 (local.get $dst) (i32.load8_u offset=256 (local.get $b)))
        (return (i32.add (local.get $dst) (i32.const 2)))))
    (i32.store8 offset=1 (local.get $dst) (i32.const 117)) ;; u
    (i32.store8 offset=2 (local.get $dst) (i32.const 48)) ;; 0
    (i32.store8 offset=3 (local.get $dst) (i32.const 48)) ;; 0
    (i32.store8 offset=4 (local.get $dst) (i32.load8_u offset=512 (i32.shr_u (local.get $b) (i32.const 4))))
    (i32.store8 offset=5 (local.get $dst) (i32.load8_u offset=512 (i32.and (local.get $b) (i32.const 15))))
    (i32.add (local.get $dst) (i32.const 6)))

  (func (export "escape") (param $src i32) (param $len i32) (param $dst i32) (result i32)
    (local $end i32) (local $v v128) (local $mask i32) (local $k i32)
    (local.set $end (i32.add (local.get $src) (local.get $len)))
    (block $tail
      (loop $blocks
        (br_if $tail (i32.gt_u (i32.add (local.get $src) (i32.const 16)) (local.get $end)))
        (local.set $v (v128.load (local.get $src)))
        ;; Store the 16 bytes as they are; an escape among them rewrites the output from its position on.
        (v128.store (local.get $dst) (local.get $v))
        (local.set $mask (i8x16.bitmask
          (v128.or
            (v128.or
              (i8x16.lt_u (local.get $v) (i8x16.splat (i32.const 32)))
              (i8x16.eq (local.get $v) (i8x16.splat (i32.const 34))))
            (i8x16.eq (local.get $v) (i8x16.splat (i32.const 92))))))
        (if (i32.eqz (local.get $mask))
          (then
            (local.set $src (i32.add (local.get $src) (i32.const 16)))
            (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
            (br $blocks)))
        ;; Keep the bytes before the first escape, write the escape, go on right after it.
        (local.set $k (i32.ctz (local.get $mask)))
        (local.set $src (i32.add (local.get $src) (local.get $k)))
        (local.set $dst (call $escapeByte (i32.load8_u (local.get $src)) (i32.add (local.get $dst) (local.get $k))))
        (local.set $src (i32.add (local.get $src) (i32.const 1)))
        (br $blocks)))
    ;; The last 0..15 bytes, one at a time.
    (block $done
      (loop $rest
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (local.set $dst (call $escapeByte (i32.load8_u (local.get $src)) (local.get $dst)))
        (local.set $src (i32.add (local.get $src) (i32.const 1)))
        (br $rest)))
    (local.get $dst))
)
