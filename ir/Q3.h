#pragma once
// The q3 dialect: its types and operations (generated from Q3Dialect.td, Q3Types.td and
// Q3Ops.td). Include this, not the .inc files.

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "ir/Q3Dialect.h.inc"

#define GET_TYPEDEF_CLASSES
#include "ir/Q3Types.h.inc"

#define GET_ATTRDEF_CLASSES
#include "ir/Q3Attrs.h.inc"

#include "ir/Q3Interfaces.h.inc"

#define GET_OP_CLASSES
#include "ir/Q3Ops.h.inc"
