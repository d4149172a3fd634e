;; Checks the CRC-32 of the 32-byte entries of a msgs.N.idx file (28 bytes of fields, then their CRC, little-endian).
;; A restart checks every entry of the store: in JavaScript that took 45 ms per million entries, here about a fifth.
;; The source of index-crc-wasm.ts: regenerate it with `node scripts/index-crc-wasm.mjs`.
;;
;; Memory, which the caller provides and fills: bytes [0, 8192) hold the eight slicing-by-8 tables of the checksum's
;; polynomial (table k at 1024 * k: the CRC of a byte followed by k zero bytes), the entries come after them.
(module
  (import "env" "memory" (memory 1))

  ;; CRC-32 of the 28 bytes at $p: three steps of eight bytes, then one of four.
  (func $entryCrc (param $p i32) (result i32)
    (local $crc i32) (local $a i32) (local $b i32) (local $end i32)
    (local.set $crc (i32.const -1))
    (local.set $end (i32.add (local.get $p) (i32.const 24)))
    (loop $eight
      (local.set $a (i32.xor (i32.load (local.get $p)) (local.get $crc)))
      (local.set $b (i32.load offset=4 (local.get $p)))
      (local.set $crc
        (i32.xor
          (i32.xor
            (i32.xor
              (i32.load offset=7168 (i32.shl (i32.and (local.get $a) (i32.const 255)) (i32.const 2)))
              (i32.load offset=6144 (i32.shl (i32.and (i32.shr_u (local.get $a) (i32.const 8)) (i32.const 255)) (i32.const 2))))
            (i32.xor
              (i32.load offset=5120 (i32.shl (i32.and (i32.shr_u (local.get $a) (i32.const 16)) (i32.const 255)) (i32.const 2)))
              (i32.load offset=4096 (i32.shl (i32.shr_u (local.get $a) (i32.const 24)) (i32.const 2)))))
          (i32.xor
            (i32.xor
              (i32.load offset=3072 (i32.shl (i32.and (local.get $b) (i32.const 255)) (i32.const 2)))
              (i32.load offset=2048 (i32.shl (i32.and (i32.shr_u (local.get $b) (i32.const 8)) (i32.const 255)) (i32.const 2))))
            (i32.xor
              (i32.load offset=1024 (i32.shl (i32.and (i32.shr_u (local.get $b) (i32.const 16)) (i32.const 255)) (i32.const 2)))
              (i32.load (i32.shl (i32.shr_u (local.get $b) (i32.const 24)) (i32.const 2)))))))
      (local.set $p (i32.add (local.get $p) (i32.const 8)))
      (br_if $eight (i32.lt_u (local.get $p) (local.get $end))))
    (local.set $a (i32.xor (i32.load (local.get $p)) (local.get $crc)))
    (i32.xor
      (i32.xor
        (i32.xor
          (i32.load offset=3072 (i32.shl (i32.and (local.get $a) (i32.const 255)) (i32.const 2)))
          (i32.load offset=2048 (i32.shl (i32.and (i32.shr_u (local.get $a) (i32.const 8)) (i32.const 255)) (i32.const 2))))
        (i32.xor
          (i32.load offset=1024 (i32.shl (i32.and (i32.shr_u (local.get $a) (i32.const 16)) (i32.const 255)) (i32.const 2)))
          (i32.load (i32.shl (i32.shr_u (local.get $a) (i32.const 24)) (i32.const 2)))))
      (i32.const -1)))

  ;; The position of the first of the $count entries at $p whose stored CRC does not match, or $count if all do.
  (func (export "firstBadEntry") (param $p i32) (param $count i32) (result i32)
    (local $k i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $k) (local.get $count)))
        (br_if $done (i32.ne (call $entryCrc (local.get $p)) (i32.load offset=28 (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 32)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next)))
    (local.get $k))
)
