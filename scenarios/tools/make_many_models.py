#!/usr/bin/env python3
"""Prints a scenario of N small models (default 1,000; N as the first argument) on 200x8 H100s,
KPA scale to zero, two simulated hours: the run the README measures report.html with at many
models ("Output files"). Not a shipped scenario: write it where you like, e.g.
  python3 scenarios/tools/make_many_models.py 1000 > /tmp/many.yaml
  build/fleetsim run -q --out /tmp/many /tmp/many.yaml"""
import sys
n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
print(f"""name: many-models
description: {n} small models, KPA scale to zero, two hours
seed: 7
duration: 2h
drain_limit: 10min
request_timeout: 5min
cluster:
  pools:
    - name: h100
      nodes: 200
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
    rate = 0.02 + (i % 37) * 0.01
    print(f"""  - model: m{i:04d}
    arrivals: {{process: poisson, rate: {rate:.2f}/s}}
    input_tokens: {{dist: uniform, low: 100, high: 1000}}
    output_tokens: {{dist: fixed, value: 64}}""")
