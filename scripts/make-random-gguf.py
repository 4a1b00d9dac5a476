#!/usr/bin/python3
# A GGUF of a Qwen3 config with random weights, for llama.cpp's side of the comparisons in
# BENCHMARKS.md: random normal weights (std 0.02) in f16, norms f32 ones, the real Qwen3
# tokenizer (tests/data/models/qwen3-tiny/tokenizer.json; ids past it padded as convert_hf_to_gguf
# pads them). Quantise it with llama-quantize (q8_0, q4_0) as llama.cpp users do.
#
#   /usr/bin/python3 scripts/make-random-gguf.py LLAMA_SRC CONFIG.json OUT.gguf
#
# LLAMA_SRC: a llama.cpp source tree (its gguf-py); needs Debian's python3-numpy.
import json
import os
import sys

llama_src, config_path, out_path = sys.argv[1:4]
sys.path.insert(0, os.path.join(llama_src, "gguf-py"))
import numpy as np  # noqa: E402
import gguf  # noqa: E402

config = json.load(open(config_path))
if config.get("model_type") != "qwen3":
    sys.exit(f"{config_path}: model_type {config.get('model_type')!r}, not qwen3")
hidden, inter = config["hidden_size"], config["intermediate_size"]
layers, heads, kv_heads = config["num_hidden_layers"], config["num_attention_heads"], config["num_key_value_heads"]
head_dim, vocab = config.get("head_dim", hidden // heads), config["vocab_size"]
tied = config.get("tie_word_embeddings", False)

writer = gguf.GGUFWriter(out_path, "qwen3")
writer.add_name("qwen3c random weights")
writer.add_block_count(layers)
writer.add_context_length(config["max_position_embeddings"])
writer.add_embedding_length(hidden)
writer.add_feed_forward_length(inter)
writer.add_head_count(heads)
writer.add_head_count_kv(kv_heads)
writer.add_key_length(head_dim)
writer.add_value_length(head_dim)
writer.add_rope_freq_base(float(config["rope_theta"]))
writer.add_layer_norm_rms_eps(float(config["rms_norm_eps"]))
writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)

# The tokenizer: byte-level BPE, as convert_hf_to_gguf writes Qwen's.
here = os.path.dirname(os.path.abspath(__file__))
tokenizer = json.load(open(os.path.join(here, "..", "tests", "data", "models", "qwen3-tiny", "tokenizer.json")))
by_id = {i: t for t, i in tokenizer["model"]["vocab"].items()}
special = set()
for added in tokenizer.get("added_tokens", []):
    by_id[added["id"]] = added["content"]
    if added.get("special"):
        special.add(added["id"])
tokens, types = [], []
for i in range(vocab):
    if i not in by_id:
        tokens.append(f"[PAD{i}]")
        types.append(gguf.TokenType.UNUSED)
    else:
        tokens.append(by_id[i])
        types.append(gguf.TokenType.CONTROL if i in special else gguf.TokenType.NORMAL)
merges = [m if isinstance(m, str) else " ".join(m) for m in tokenizer["model"]["merges"]]
writer.add_tokenizer_model("gpt2")
writer.add_tokenizer_pre("qwen2")
writer.add_token_list(tokens)
writer.add_token_types(types)
writer.add_token_merges(merges)
writer.add_bos_token_id(config["bos_token_id"])
writer.add_eos_token_id(config["eos_token_id"])

rng = np.random.default_rng(1)


def normal(*shape):
    return (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float16)


def ones(n):
    return np.ones(n, dtype=np.float32)


writer.add_tensor("token_embd.weight", normal(vocab, hidden))
for b in range(layers):
    p = f"blk.{b}."
    writer.add_tensor(p + "attn_norm.weight", ones(hidden))
    writer.add_tensor(p + "attn_q.weight", normal(heads * head_dim, hidden))
    writer.add_tensor(p + "attn_k.weight", normal(kv_heads * head_dim, hidden))
    writer.add_tensor(p + "attn_v.weight", normal(kv_heads * head_dim, hidden))
    writer.add_tensor(p + "attn_q_norm.weight", ones(head_dim))
    writer.add_tensor(p + "attn_k_norm.weight", ones(head_dim))
    writer.add_tensor(p + "attn_output.weight", normal(hidden, heads * head_dim))
    writer.add_tensor(p + "ffn_norm.weight", ones(hidden))
    writer.add_tensor(p + "ffn_gate.weight", normal(inter, hidden))
    writer.add_tensor(p + "ffn_up.weight", normal(inter, hidden))
    writer.add_tensor(p + "ffn_down.weight", normal(hidden, inter))
writer.add_tensor("output_norm.weight", ones(hidden))
if not tied:
    writer.add_tensor("output.weight", normal(vocab, hidden))
writer.write_header_to_file()
writer.write_kv_data_to_file()
writer.write_tensors_to_file()
writer.close()
