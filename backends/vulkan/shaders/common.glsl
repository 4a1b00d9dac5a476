// Shared by every q3 compute shader. The compiler prepends `#version`, the extensions and
// the model's dimensions as #defines, then this file, then the kernel.
//
// One descriptor set layout serves every kernel (bindings a kernel does not use are bound
// to a small dummy buffer), so the runtime has one pipeline layout:
//   0 step     this step's header, token ids, positions, slots, RoPE table (host-written)
//   1 arena    activations, [tokens, floats per token] regions placed by q3-plan-memory
//   2 w0, 3 w1 weights as 32-bit words (bf16 pairs, f32, or q8_0 / q4_0 blocks)
//   4 kcache, 5 vcache   this layer's slice of the KV cache: each sequence's (slot's)
//              [context, kv_dim] elements, one after another, as KV_TYPE stores them
//              (0 f32, 1 f16, 2 bf16, 3 q8_0: runtime/core/kv_type.h); kernels go through
//              k_load / v_load, and k_store / v_store (q8_0: k_store_block / v_store_block)
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
  uint kv_scales;   // q8_0 cache: the halfword where a layer buffer's block scales start
  uint logit_capacity;  // rows the logits buffer holds (the argmax's word follows them)
  uint data[];      // ids[capacity], positions[capacity], slots[capacity],
                    // cos[capacity][ROPE_HALF], sin[capacity][ROPE_HALF]
} step;

layout(std430, set = 0, binding = 1) readonly buffer ArenaBuffer { float arena[]; };
layout(std430, set = 0, binding = 2) readonly buffer Weight0 { uint w0[]; };
layout(std430, set = 0, binding = 3) readonly buffer Weight1 { uint w1[]; };
#ifndef KV_TYPE
#define KV_TYPE 0
#endif
// IEEE half bits, rounded to nearest even by hand: SPIR-V leaves the rounding of a
// narrowing conversion to the implementation (lavapipe truncates), the CPU rounds.
uint f16_bits(float x) {
  const uint b = floatBitsToUint(x);
  const uint sign = (b >> 16) & 0x8000u;
  uint mantissa = b & 0x7fffffu;
  const int exponent = int((b >> 23) & 0xffu) - 127 + 15;
  if (exponent == 128 + 15) return sign | 0x7c00u | (mantissa != 0u ? 0x200u : 0u);  // inf, NaN
  if (exponent >= 31) return sign | 0x7c00u;  // too large: infinity
  uint shift = 13u;
  uint base = sign | (uint(max(exponent, 0)) << 10);
  if (exponent <= 0) {  // a subnormal half (or zero)
    if (exponent < -10) return sign;
    mantissa |= 0x800000u;
    shift = uint(14 - exponent);
    base = sign;
  }
  uint h = base | (mantissa >> shift);
  const uint rest = mantissa & ((1u << shift) - 1u), half_way = 1u << (shift - 1u);
  if (rest > half_way || (rest == half_way && (h & 1u) != 0u)) h += 1u;  // a carry rounds up the exponent
  return h;
}
// 16-bit storage types live only in buffers (no 16-bit values in functions), hence macros.
#if KV_TYPE == 1
layout(std430, set = 0, binding = 4) buffer KeyCache { uint16_t kcache[]; };
layout(std430, set = 0, binding = 5) buffer ValueCache { uint16_t vcache[]; };
#define k_load(i) unpackHalf2x16(uint(kcache[i])).x
#define v_load(i) unpackHalf2x16(uint(vcache[i])).x
#define k_store(i, x) kcache[i] = uint16_t(f16_bits(x))
#define v_store(i, x) vcache[i] = uint16_t(f16_bits(x))
#elif KV_TYPE == 2
layout(std430, set = 0, binding = 4) buffer KeyCache { uint16_t kcache[]; };
layout(std430, set = 0, binding = 5) buffer ValueCache { uint16_t vcache[]; };
// bfloat16 bits of x, rounded to nearest even as the CPU backend and torch do.
uint bf16_bits(float x) {
  const uint bits = floatBitsToUint(x);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return (bits >> 16) | 0x40u;
  return (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
}
#define k_load(i) uintBitsToFloat(uint(kcache[i]) << 16)
#define v_load(i) uintBitsToFloat(uint(vcache[i]) << 16)
#define k_store(i, x) kcache[i] = uint16_t(bf16_bits(x))
#define v_store(i, x) vcache[i] = uint16_t(bf16_bits(x))
#elif KV_TYPE == 3
// q8_0 (as the CPU backend and llama.cpp): blocks of 32 elements along the head, int8
// values (one byte an element, in element order) and one f16 scale d = max|x| / 127 a
// block, the layer buffer's scales after all its values (at halfword step.kv_scales). A
// block is written whole, by one thread: k_store_block / v_store_block.
layout(std430, set = 0, binding = 4) buffer KeyCache { uint kcache[]; };
layout(std430, set = 0, binding = 5) buffer ValueCache { uint vcache[]; };
layout(std430, set = 0, binding = 4) buffer KeyScales { uint16_t kscales[]; };
layout(std430, set = 0, binding = 5) buffer ValueScales { uint16_t vscales[]; };
float q8_value(uint word, uint i) { return float(bitfieldExtract(int(word), int((i & 3u) * 8u), 8)); }
#define k_load(i) (q8_value(kcache[(i) >> 2], (i)) * unpackHalf2x16(uint(kscales[step.kv_scales + ((i) >> 5)])).x)
#define v_load(i) (q8_value(vcache[(i) >> 2], (i)) * unpackHalf2x16(uint(vscales[step.kv_scales + ((i) >> 5)])).x)
// x as a q8_0 block: its values packed four to a word, its scale's f16 bits returned. The
// values are rounded with the exact scale, which is then stored as f16 (llama.cpp's rule).
uint q8_quantise(float x[32], out uint words[8]) {
  float amax = 0.0;
  for (uint i = 0u; i < 32u; ++i) amax = max(amax, abs(x[i]));
  const float d = amax / 127.0;
  const float inverse = d != 0.0 ? 1.0 / d : 0.0;
  for (uint w = 0u; w < 8u; ++w) {
    uint word = 0u;
    for (uint b = 0u; b < 4u; ++b) word |= (uint(int(roundEven(x[4u * w + b] * inverse))) & 0xffu) << (8u * b);
    words[w] = word;
  }
  return f16_bits(d);
}
// Element e (a multiple of 32) starts the block.
void k_store_block(uint e, float x[32]) {
  uint words[8];
  const uint scale = q8_quantise(x, words);
  for (uint w = 0u; w < 8u; ++w) kcache[(e >> 2) + w] = words[w];
  kscales[step.kv_scales + (e >> 5)] = uint16_t(scale);
}
void v_store_block(uint e, float x[32]) {
  uint words[8];
  const uint scale = q8_quantise(x, words);
  for (uint w = 0u; w < 8u; ++w) vcache[(e >> 2) + w] = words[w];
  vscales[step.kv_scales + (e >> 5)] = uint16_t(scale);
}
#else
layout(std430, set = 0, binding = 4) buffer KeyCache { float kcache[]; };
layout(std430, set = 0, binding = 5) buffer ValueCache { float vcache[]; };
#define k_load(i) kcache[i]
#define v_load(i) vcache[i]
#define k_store(i, x) kcache[i] = (x)
#define v_store(i, x) vcache[i] = (x)
#endif
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
// The first element of row `row`'s key (or value) in the layer's cache.
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
