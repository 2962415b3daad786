//===- BbDialect.td - the Bumblebee tensor dialect ---------*- tablegen -*-===//
#ifndef BB_DIALECT_TD
#define BB_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Bb_Dialect : Dialect {
  let name = "bb";
  let cppNamespace = "::mlir::bb";
  let summary = "Bumblebee's tensor-level dialect: what an ONNX model computes";
  let description = [{
    The `bb` dialect holds the computation of an imported model at tensor level:
    value semantics, ranked tensors with static shapes, and one op per
    mathematical operation (ONNX's spellings are normalized at import: Gemm is a
    `bb.matmul` and a `bb.add`, Flatten/Squeeze/Unsqueeze are `bb.reshape`, ...).

    Every op carries two descriptions that the later passes read:
    its iteration space (loop iterator types and indexing maps, through MLIR's
    `mesh::ShardingInterface`) for the sharding search, and its cost (FLOPs and
    bytes moved, through `bb::CostOpInterface`) for the cost model.

    Broadcasting follows NumPy/ONNX multidirectional rules: shapes are aligned
    on the right and a dimension of size 1 stretches to the other.
  }];
  // The scalar bodies of bb.fused_elementwise.
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect"];
  let hasConstantMaterializer = 1;
  let useDefaultAttributePrinterParser = 1;
  let usePropertiesForAttributes = 1;
}

def Bb_ComparePredicate : I32EnumAttr<"ComparePredicate",
    "comparison predicate of bb.compare", [
  I32EnumAttrCase<"eq", 0>,
  I32EnumAttrCase<"ne", 1>,
  I32EnumAttrCase<"lt", 2>,
  I32EnumAttrCase<"le", 3>,
  I32EnumAttrCase<"gt", 4>,
  I32EnumAttrCase<"ge", 5>
]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::bb";
}
def Bb_ComparePredicateAttr :
    EnumAttr<Bb_Dialect, Bb_ComparePredicate, "predicate"> {
  let assemblyFormat = "`<` $value `>`";
}

def Bb_GeluApproximation : I32EnumAttr<"GeluApproximation",
    "approximation used by bb.gelu", [
  I32EnumAttrCase<"none", 0>,
  I32EnumAttrCase<"tanh", 1>
]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::bb";
}
def Bb_GeluApproximationAttr :
    EnumAttr<Bb_Dialect, Bb_GeluApproximation, "approximation"> {
  let assemblyFormat = "`<` $value `>`";
}

#endif // BB_DIALECT_TD
