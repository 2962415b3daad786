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

// A pipeline stage's stashes (role "stash") are bound by the driver to their
// micro-batch's slot: no arena place. The stash input gets offset -1 and the
// stash output's alloc becomes bbrt.bound_output; the rest is planned
// without them (the other output reuses nothing of theirs).
// CHECK-LABEL: func.func @stage0_backward()
// CHECK-SAME: bbrt.arena_size = 1024 : i64, bbrt.unplanned_size = 1024 : i64
// CHECK: bbrt.input 0 "stash0" {offset = -1 : i64, role = "stash"} : memref<256xf32>
// CHECK: %[[S:.*]] = bbrt.bound_output 1 : memref<256xf32>
// CHECK: bbrt.kernel "bb.relu" {} ins(%{{.*}} : memref<256xf32>) outs(%[[S]] : memref<256xf32>)
// CHECK: %[[G:.*]] = bbrt.arena 0 : memref<256xf32>
// CHECK: bbrt.output 0 "g" %[[G]]
// CHECK: bbrt.output 1 "stash1" %[[S]] {role = "stash"}
// A stash that views a buffer: that buffer is bound.
// CHECK: %[[S2:.*]] = bbrt.bound_output 2 : memref<16x16xf32>
// CHECK: %[[V2:.*]] = bbrt.view %[[S2]] : memref<16x16xf32> to memref<256xf32>
// CHECK: bbrt.output 2 "stash2" %[[V2]] {role = "stash"}
func.func @stage0_backward() {
  %s = bbrt.input 0 "stash0" {role = "stash"} : memref<256xf32>
  %t = memref.alloc() : memref<256xf32>
  bbrt.kernel "bb.relu" {} ins(%s : memref<256xf32>) outs(%t : memref<256xf32>)
  %g = memref.alloc() : memref<256xf32>
  bbrt.kernel "bb.relu" {} ins(%t : memref<256xf32>) outs(%g : memref<256xf32>)
  bbrt.output 0 "g" %g : memref<256xf32>
  bbrt.output 1 "stash1" %t {role = "stash"} : memref<256xf32>
  %u = memref.alloc() : memref<16x16xf32>
  bbrt.kernel "bb.relu" {} ins(%s : memref<256xf32>) outs(%u : memref<16x16xf32>)
  %uv = bbrt.view %u : memref<16x16xf32> to memref<256xf32>
  bbrt.output 2 "stash2" %uv {role = "stash"} : memref<256xf32>
  return
}

// Gradient inputs (gradsq's, the update's) are bound to the accumulators:
// no arena place either. A gradient output is planned (the driver binds it
// only on a step's first micro-batch).
// CHECK-LABEL: func.func @stage0_update()
// CHECK-SAME: bbrt.arena_size = 1024 : i64
// CHECK: bbrt.input 0 "grad:w" {offset = -1 : i64, role = "grad"}
// CHECK: bbrt.arena 0 : memref<256xf32>
func.func @stage0_update() {
  %g = bbrt.input 0 "grad:w" {role = "grad"} : memref<256xf32>
  %n = memref.alloc() : memref<256xf32>
  bbrt.kernel "bb.relu" {} ins(%g : memref<256xf32>) outs(%n : memref<256xf32>)
  bbrt.output 0 "n" %n : memref<256xf32>
  return
}
