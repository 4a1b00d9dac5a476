// Shared by every q3 compute shader. The compiler prepends `#version`, the extensions and
// the model's dimensions as #defines, then this file, then the kernel.
//
// One descriptor set layout serves every kernel (bindings a kernel does not use are bound
// to a small dummy buffer), so the runtime has one pipeline layout:
//   0 step     this step's header, token ids, positions, slots, RoPE table (host-written)
//   1 arena    activations, [tokens, floats per token] regions placed by q3-plan-memory
//   2 w0, 3 w1 weights as 32-bit words (bf16 pairs, f32, or q8_0 / q4_0 blocks)
//   4 kcache, 5 vcache   this layer's slice of the KV cache: each sequence's (slot's)
//              [context, kv_dim] f32, one after another
//   6 dst      where results go: the arena again, or the logits buffer
//   7 partials attention's per-split softmax partials
// Push constants carry the per-dispatch arena offsets; everything that changes from step
// to step lives in the step buffer, so the command buffer is recorded once and replayed.

// Switches a kernel may leave undefined.
#ifndef NORM
#define NORM 0
#endif
#ifndef NORM_BF16
#define NORM_BF16 0
#endif
#ifndef SWIGLU
#define SWIGLU 0
#endif

layout(local_size_x = WG, local_size_y = 1, local_size_z = 1) in;

layout(std430, set = 0, binding = 0) readonly buffer StepBuffer {
  uint tokens;      // rows of this step
  uint context;     // positions a sequence's cache holds (the stride between slots)
  uint logit_rows;  // rows the tail (ops after the last attention) computes: 1 or tokens
  uint capacity;    // rows the id / position / RoPE arrays below are sized for
  uint split;       // attention: keys per split
  uint splits;      // attention: splits per (row, head)
  uint reserved0;
  uint reserved1;
  uint data[];      // ids[capacity], positions[capacity], slots[capacity],
                    // cos[capacity][ROPE_HALF], sin[capacity][ROPE_HALF]
} step;

layout(std430, set = 0, binding = 1) readonly buffer ArenaBuffer { float arena[]; };
layout(std430, set = 0, binding = 2) readonly buffer Weight0 { uint w0[]; };
layout(std430, set = 0, binding = 3) readonly buffer Weight1 { uint w1[]; };
layout(std430, set = 0, binding = 4) buffer KeyCache { float kcache[]; };
layout(std430, set = 0, binding = 5) buffer ValueCache { float vcache[]; };
layout(std430, set = 0, binding = 6) buffer Destination { float dst[]; };
layout(std430, set = 0, binding = 7) buffer Partials { float partials[]; };

layout(push_constant) uniform Push {
  uint in0, in1, in2;  // arena offsets (floats per token) of the inputs
  uint out0, out1;     // ... and of the outputs
  uint flags;
  uint row_base, row_end;  // matmul / embedding: the weight rows w0 holds
} pc;

const uint FLAG_TAIL = 1u;        // rows = logit_rows (ops after the last attention)
const uint FLAG_IN0_LAST = 2u;    // input produced before the tail: read its last rows
const uint FLAG_IN1_LAST = 4u;
const uint FLAG_IN2_LAST = 8u;
const uint FLAG_TO_LOGITS = 16u;  // out0 is the logits buffer (offset 0)

uint rows_now() { return (pc.flags & FLAG_TAIL) != 0u ? step.logit_rows : step.tokens; }

// First float of an input region of `width` floats a row.
uint input_base(uint offset, uint width, uint last_flag) {
  uint base = offset * step.tokens;
  if ((pc.flags & last_flag) != 0u) base += (step.tokens - step.logit_rows) * width;
  return base;
}
uint output_base(uint offset) { return (pc.flags & FLAG_TO_LOGITS) != 0u ? 0u : offset * step.tokens; }

// Workgroup index along x, folded into z when the count exceeds the device's x limit.
uint group_x() { return gl_WorkGroupID.x + gl_WorkGroupID.z * gl_NumWorkGroups.x; }

uint token_id(uint row) { return step.data[row]; }
uint position_of(uint row) { return step.data[step.capacity + row]; }
uint slot_of(uint row) { return step.data[2u * step.capacity + row]; }
// The first float of row `row`'s key (or value) in the layer's cache.
uint cache_row(uint row, uint kv_dim) { return (slot_of(row) * step.context + position_of(row)) * kv_dim; }
// Where the RoPE table starts.
uint rope_table() { return 3u * step.capacity; }

// ---- weights -------------------------------------------------------------------------
uint halfword0(uint h) { return (w0[h >> 1] >> ((h & 1u) * 16u)) & 0xffffu; }
uint halfword1(uint h) { return (w1[h >> 1] >> ((h & 1u) * 16u)) & 0xffffu; }
float bf16_bits(uint b) { return uintBitsToFloat(b << 16); }
float f16_bits(uint b) { return unpackHalf2x16(b).x; }
int sbyte(uint word, uint byte_index) { return bitfieldExtract(int(word), int(byte_index * 8u), 8); }

// Element i of the norm weight in w1 (bf16 or f32).
float norm_weight(uint i) {
#if NORM_BF16
  return bf16_bits(halfword1(i));
#else
  return uintBitsToFloat(w1[i]);
#endif
}

// ---- workgroup reductions (subgroup operations, then one slot per subgroup) ------------
shared float reduce_slots[WG];

float workgroup_sum(float v) {
  v = subgroupAdd(v);
  if (subgroupElect()) reduce_slots[gl_SubgroupID] = v;
  barrier();
  float total = 0.0;
  for (uint i = 0u; i < gl_NumSubgroups; ++i) total += reduce_slots[i];
  barrier();
  return total;
}

float workgroup_max(float v) {
  v = subgroupMax(v);
  if (subgroupElect()) reduce_slots[gl_SubgroupID] = v;
  barrier();
  float m = reduce_slots[0];
  for (uint i = 1u; i < gl_NumSubgroups; ++i) m = max(m, reduce_slots[i]);
  barrier();
  return m;
}
