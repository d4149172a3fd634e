;; The file store's CRC-32 work in bulk:
;; - checking the 32-byte entries of a msgs.N.idx file (28 bytes of fields, then their CRC, little-endian). A restart
;;   checks every entry of the store: in JavaScript that took 45 ms per million entries, here about a fifth;
;; - filling in the CRCs of the records and index entries of a batch of messages before they are written. One call per
;;   batch replaces two per message (zlib's for the record, a JavaScript loop for the entry), whose cost was mostly the
;;   call itself.
;; The source of checksums-wasm.ts: regenerate it with `node scripts/checksums-wasm.mjs`.
;;
;; Memory, which the caller provides and fills: bytes [0, 8192) hold the eight slicing-by-8 tables of the checksum's
;; polynomial (table k at 1024 * k: the CRC of a byte followed by k zero bytes), the data comes after them.
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

  ;; CRC-32 of the $len bytes at $p: eight bytes a step, then the rest one by one.
  (func $crc (param $p i32) (param $len i32) (result i32)
    (local $crc i32) (local $a i32) (local $b i32) (local $end8 i32) (local $end i32)
    (local.set $crc (i32.const -1))
    (local.set $end (i32.add (local.get $p) (local.get $len)))
    (local.set $end8 (i32.add (local.get $p) (i32.and (local.get $len) (i32.const -8))))
    (block $bytes
      (loop $eight
        (br_if $bytes (i32.ge_u (local.get $p) (local.get $end8)))
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
        (br $eight)))
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $crc
          (i32.xor
            (i32.load (i32.shl (i32.and (i32.xor (local.get $crc) (i32.load8_u (local.get $p))) (i32.const 255)) (i32.const 2)))
            (i32.shr_u (local.get $crc) (i32.const 8))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $one)))
    (i32.xor (local.get $crc) (i32.const -1)))

  ;; Fills in the CRC of each untyped record in [$p, $end): its 4-byte payload size, 4 bytes for the payload's CRC, then
  ;; the payload.
  (func (export "fillRecordCrcs") (param $p i32) (param $end i32)
    (local $size i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $size (i32.load (local.get $p)))
        (i32.store offset=4 (local.get $p) (call $crc (i32.add (local.get $p) (i32.const 8)) (local.get $size)))
        (local.set $p (i32.add (local.get $p) (i32.add (local.get $size) (i32.const 8))))
        (br $next))))

  ;; Fills in the CRC of each of the $count index entries at $p.
  (func (export "fillEntryCrcs") (param $p i32) (param $count i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $count)))
        (i32.store offset=28 (local.get $p) (call $entryCrc (local.get $p)))
        (local.set $p (i32.add (local.get $p) (i32.const 32)))
        (local.set $count (i32.sub (local.get $count) (i32.const 1)))
        (br $next))))
)
