#!/usr/bin/env python3
"""Prints a scenario of N small models (default 1,000; N as the first argument) on 200x8 H100s,
KPA scale to zero, two simulated hours: the run the README measures report.html with at many
models ("Output files"). Not a shipped scenario: write it where you like, e.g.
  python3 scenarios/tools/make_many_models.py 1000 > /tmp/many.yaml
  build/fleetsim run -q --out /tmp/many /tmp/many.yaml
--nodes sets the node count and --rate gives every model the same arrival rate (requests/s): a
low rate lets each model scale to zero between requests, so every few requests is a cold start
(the README's "Performance" measures the shared links that way, 10,000 nodes at 0.004/s)."""
import argparse
args = argparse.ArgumentParser()
args.add_argument("n", nargs="?", type=int, default=1000)
args.add_argument("--nodes", type=int, default=200)
args.add_argument("--rate", type=float)
opts = args.parse_args()
n = opts.n
print(f"""name: many-models
description: {n} small models, KPA scale to zero, two hours
seed: 7
duration: 2h
drain_limit: 10min
request_timeout: 5min
cluster:
  pools:
    - name: h100
      nodes: {opts.nodes}
      gpu: H100-80GB
      gpus_per_node: 8
      host_memory: 2TiB
      disk_cache: 1TB
      disk_read_bandwidth: 6GB/s
      network_bandwidth: 25Gbit/s
slo:
  ttft: 2s
  e2e: 60s
policies:
  placement: {{impl: best-fit}}
  router: {{impl: least-outstanding}}
  cache: {{impl: lru}}
  autoscaler: {{impl: kpa, target_concurrency: 16}}
models:""")
for i in range(n):
    print(f"""  - name: m{i:04d}
    parameters: 3.8e9
    kv_cache_per_token: 128KiB
    image_size: 10GB
    startup_time: 15s""")
print("workloads:")
for i in range(n):
    rate = f"{opts.rate:g}" if opts.rate is not None else f"{0.02 + (i % 37) * 0.01:.2f}"
    print(f"""  - model: m{i:04d}
    arrivals: {{process: poisson, rate: {rate}/s}}
    input_tokens: {{dist: uniform, low: 100, high: 1000}}
    output_tokens: {{dist: fixed, value: 64}}""")
