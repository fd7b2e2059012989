"""The algorithms chapter's sequence-model studies: attention agrees with PyTorch, the
reversal summary and attention reading are recomputed from the model, the last-step
gradient norm equals its closed form, and the recall bookkeeping from the runs."""

import math

import numpy as np
import pytest
import torch

from bmlib.models.attention import ReversalConfig
from bmlib.models.recurrent import RecallConfig, RecallModel, scale_recurrent_weights
from bmlib.studies import sequence_study as seq
from bmlib.studies.sequence_tasks import recall_batch, train_reversal

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_attention_check_agrees_with_torch():
    check = seq.attention_check(seed=4)
    assert set(check.errors) == {"plain", "causal", "multi-head"}
    assert max(check.errors.values()) < 1e-13
    assert check.glue_values()["alg_attn_max_err"] == max(check.errors.values())
    assert check.report().splitlines()[0].startswith("plain      max |ours - torch| = ")


@pytest.fixture(scope="module")
def reversal():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    config = ReversalConfig(steps=15, batch=16, eval_sequences=50)
    result = train_reversal(config, seed=0)
    torch.set_num_threads(threads)
    return config, result


def test_reversal_summary(reversal):
    config, result = reversal
    summary = seq.summarise_reversal(result, config)
    assert summary.n_params == sum(p.numel() for p in result.model.parameters())
    assert (summary.first_loss, summary.final_loss) == (result.losses[0], result.losses[-1])
    assert summary.chance_loss == pytest.approx(math.log(config.vocab))
    glued = summary.glue_values()
    assert glued["alg_tf_params"] == summary.n_params
    assert glued["alg_tf_token_acc"] == result.token_accuracy
    assert f"{summary.n_params:,} parameters" in summary.report()


def test_reversal_attention_reads_the_mirrored_key(reversal):
    config, result = reversal
    reading = seq.reversal_attention(result, config, seed=0)
    assert reading.heads.shape == (config.n_heads, config.length, config.length)
    np.testing.assert_allclose(reading.heads.sum(-1), 1, atol=1e-6)
    mirrored = [reading.heads[h, i, config.length - 1 - i]
                for h in range(config.n_heads) for i in range(config.length)]
    assert reading.anti_diagonal == pytest.approx(np.mean(mirrored), abs=1e-6)
    assert reading.glue_values() == {"alg_tf_antidiag": reading.anti_diagonal}


def test_gradient_norms_last_step_equals_the_readout_gradient():
    length, batch = 12, 32
    norms = seq.gradient_norms(length, forget_bias=3.0, seed=5, batch=batch)
    assert [label for label, _, _ in norms.variants] == [
        "RNN", "LSTM, forget bias 0", "LSTM, forget bias 3"]
    assert norms.open_label == "LSTM, forget bias 3"
    # independent: dL/dh_(T-1) = (softmax(z) - onehot(y)) W_out / B for the mean cross-entropy
    x, y = recall_batch(torch.Generator().manual_seed(5), batch, length, RecallConfig())
    torch.manual_seed(5)
    model = RecallModel("rnn", RecallConfig(forget_bias=0.0)).double()
    scale_recurrent_weights(model, 6.0)
    with torch.no_grad():
        logits, _ = model(x.double())
        onehot = torch.nn.functional.one_hot(y, logits.shape[1]).double()
        grad = (torch.softmax(logits, 1) - onehot) @ model.readout.weight / batch
    assert norms.norms[("RNN", 6.0)][-1] == pytest.approx(grad.norm().item(), rel=1e-12)
    ratios = norms.ratios(1.0)
    assert ratios["RNN"] == norms.norms[("RNN", 1.0)][0] / norms.norms[("RNN", 1.0)][-1]
    assert norms.ratios(6.0)["RNN"] > ratios["RNN"]  # larger W_hh: more gradient reaches h_0
    glued = norms.glue_values()
    assert glued["alg_grad_T"] == length and glued["alg_forget_bias"] == 3.0
    assert glued["alg_rnn_explode"] == norms.ratios(6.0)["RNN"]
    assert len(norms.report().splitlines()) == 1 + 2 * 3


def test_recall_study_bookkeeping():
    config = RecallConfig(hidden=4, batch=8, steps=6, clip_norm=0.05, eval_sequences=20)
    study = seq.recall_study(config, lengths=(3, 5), n_seeds=2, seed=1)
    assert [(r.length, r.cell) for r in study.runs] == [
        (3, "rnn"), (3, "rnn"), (3, "lstm"), (3, "lstm"),
        (5, "rnn"), (5, "rnn"), (5, "lstm"), (5, "lstm")]
    lstm = np.concatenate([r.grad_norms for r in study.runs if r.cell == "lstm"])
    assert study.spike == pytest.approx(lstm.max() / 0.05)
    assert study.clipped_share == pytest.approx(np.mean(lstm > 0.05))
    assert study.mean_accuracy("rnn", 5) == pytest.approx(
        np.mean([r.accuracy for r in study.runs[4:6]]))
    glued = study.glue_values()
    assert (glued["alg_recall_short"], glued["alg_recall_long"]) == (3, 5)
    assert glued["alg_lstm_clipped_pct"] == pytest.approx(100 * study.clipped_share)
    assert "(chance 0.25)" in study.report().splitlines()[0]


def test_recall_study_needs_clipping():
    with pytest.raises(ValueError, match="clip_norm"):
        seq.recall_study(RecallConfig(clip_norm=None), lengths=(3,), n_seeds=1, seed=0)
