"""Byte-level BPE (Sennrich et al., 2016; GPT-2's byte-level variant), with Hugging Face
``tokenizers``.

Every UTF-8 byte is a base symbol, so any text - Chinese included - encodes without an
unknown token and decodes back exactly; BPE merges frequent byte pairs into tokens up to the
vocabulary size. Documents are joined with an end-of-text token. ``bytes_per_token`` is the
compression a reader can compare across corpora and vocabulary sizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from bmlib.core.files import atomic_write

END_OF_TEXT = "<|endoftext|>"


@dataclass
class BPETokenizer:
    """A trained byte-level BPE tokenizer (wraps ``tokenizers.Tokenizer``)."""

    backend: object  # tokenizers.Tokenizer

    @property
    def vocab_size(self) -> int:
        return int(self.backend.get_vocab_size())

    @property
    def end_of_text(self) -> int:
        return int(self.backend.token_to_id(END_OF_TEXT))

    def encode(self, text: str) -> list[int]:
        return list(self.backend.encode(text).ids)

    def decode(self, ids: Sequence[int]) -> str:
        return str(self.backend.decode(list(map(int, ids)), skip_special_tokens=False))

    def encode_documents(self, documents: Sequence[str]) -> np.ndarray:
        """One int32 stream: each document's tokens followed by the end-of-text token."""
        eot = self.end_of_text
        parts = [np.asarray(e.ids + [eot], dtype=np.int32)
                 for e in self.backend.encode_batch(list(documents))]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)

    def bytes_per_token(self, documents: Sequence[str]) -> float:
        """UTF-8 bytes per token over ``documents`` (end-of-text tokens not counted)."""
        tokens = sum(len(e.ids) for e in self.backend.encode_batch(list(documents)))
        return sum(len(d.encode("utf-8")) for d in documents) / max(1, tokens)

    def save(self, path: str | Path) -> Path:
        """Write the tokenizer's JSON atomically (parallel runs may share a cache)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path, "w") as handle:
            handle.write(self.backend.to_str())
        return path

    @classmethod
    def load(cls, path: str | Path) -> "BPETokenizer":
        from tokenizers import Tokenizer

        return cls(Tokenizer.from_file(str(path)))


def train_bpe(documents: Sequence[str], vocab_size: int) -> BPETokenizer:
    """Train byte-level BPE on ``documents`` (deterministic for the same input)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    if vocab_size < 257 + 1:
        raise ValueError(f"vocab_size={vocab_size}: byte-level BPE needs at least 258 "
                         "(256 bytes, the end-of-text token, one merge)")
    if not documents:
        raise ValueError("no documents to train the tokenizer on")
    backend = Tokenizer(models.BPE())
    # No regex pre-split: Chinese has no spaces, so words would not bound merges anyway.
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[END_OF_TEXT],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    backend.train_from_iterator(list(documents), trainer)
    return BPETokenizer(backend)
