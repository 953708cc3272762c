#!/usr/bin/env python3
"""PyTorch (Hugging Face, eager) baseline for `npm run bench`: the same weights, shapes and threads.

Reads a model directory written by the bench (config.json + model.safetensors), or with
--random-config builds the model from a JSON config with transformers' random init (the scale
bench: the same shapes without writing 5.6 GB of weights), runs the plain forward (or forward +
backward of the summed next-token loss) on random token batches, and prints one JSON object:
{"mode", "seconds": median seconds per batch, "reps", "load_s", "peak_rss_mb"} (peak RSS from
getrusage, the figure /usr/bin/time -v reports). Only the benchmarks use it; the app and the tests
never run Python.
"""

import argparse
import json
import resource
import statistics
import time

import torch
from safetensors.torch import load_file
from transformers import GPTNeoXConfig, GPTNeoXForCausalLM


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir")
    ap.add_argument("--random-config", help="a config.json's contents; random weights, no file")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mode", choices=["forward", "backward"], default="forward")
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t_load = time.perf_counter()
    cfg = json.loads(a.random_config) if a.random_config else json.load(open(f"{a.model_dir}/config.json"))
    config = GPTNeoXConfig(
        vocab_size=cfg["vocab_size"],
        hidden_size=cfg["hidden_size"],
        num_hidden_layers=cfg["num_hidden_layers"],
        num_attention_heads=cfg["num_attention_heads"],
        intermediate_size=cfg["intermediate_size"],
        max_position_embeddings=cfg["max_position_embeddings"],
        use_parallel_residual=True,
        tie_word_embeddings=False,
        rope_parameters={"rope_type": "default", "rope_theta": cfg["rotary_emb_base"], "partial_rotary_factor": cfg["rotary_pct"]},
    )
    model = GPTNeoXForCausalLM._from_config(config, attn_implementation="eager").float()
    if not a.random_config:
        state = load_file(f"{a.model_dir}/model.safetensors")
        state = {("lm_head.weight" if k == "embed_out.weight" else k): v for k, v in state.items()}
        model.load_state_dict(state, strict=False)
        del state
    load_s = time.perf_counter() - t_load
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(2, 50000, (a.batch, a.seq), generator=gen)
    times = []
    for rep in range(a.reps + 1):
        t0 = time.perf_counter()
        if a.mode == "forward":
            model.eval()
            with torch.no_grad():
                model(input_ids=ids)
        else:
            model.zero_grad(set_to_none=True)
            logits = model(input_ids=ids).logits
            loss = torch.nn.functional.cross_entropy(
                logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), reduction="sum"
            )
            loss.backward()
        if rep > 0 or a.reps == 0:
            times.append(time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "mode": a.mode,
                "seconds": statistics.median(times),
                "reps": a.reps,
                "load_s": load_s,
                "peak_rss_mb": round(peak),
            }
        )
    )


if __name__ == "__main__":
    main()
