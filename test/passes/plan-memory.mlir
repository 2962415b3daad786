// RUN: bb-opt %s --bbrt-plan-memory | FileCheck %s

// a (1 KiB) dies at the second kernel, so c reuses its bytes; b is read
// through its view v by the last kernel, so it stays alive until then. The
// input is dead after the third kernel, so d may take its place.
// CHECK-LABEL: func.func @forward()
// CHECK-SAME: bbrt.arena_size = 3072 : i64, bbrt.unplanned_size = 4160 : i64
// CHECK: bbrt.input 0 "x" {offset = 2048 : i64} : memref<16xf32>
// CHECK: %[[A:.*]] = bbrt.arena 0 : memref<256xf32>
// CHECK: %[[B:.*]] = bbrt.arena 1024 : memref<256xf32>
// CHECK: %[[C:.*]] = bbrt.arena 0 : memref<256xf32>
// CHECK: %[[D:.*]] = bbrt.arena 2048 : memref<256xf32>
func.func @forward() {
  %x = bbrt.input 0 "x" : memref<16xf32>
  %a = memref.alloc() : memref<256xf32>
  bbrt.kernel "bb.relu" {} ins(%x : memref<16xf32>) outs(%a : memref<256xf32>)
  %b = memref.alloc() : memref<256xf32>
  bbrt.kernel "bb.relu" {} ins(%a : memref<256xf32>) outs(%b : memref<256xf32>)
  %v = bbrt.view %b : memref<256xf32> to memref<16x16xf32>
  %c = memref.alloc() : memref<256xf32>
  bbrt.kernel "bb.relu" {} ins(%x : memref<16xf32>) outs(%c : memref<256xf32>)
  %d = memref.alloc() : memref<256xf32>
  bbrt.kernel "bb.add" {} ins(%v, %c : memref<16x16xf32>, memref<256xf32>) outs(%d : memref<256xf32>)
  bbrt.output 0 "y" %d : memref<256xf32>
  return
}
