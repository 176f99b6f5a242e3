"""TRL's SFTTrainer with a faster loss on CPU, same numbers.

TRL 1.16 computes the loss through a fused, chunked LM head that never builds
the full logits and also returns per-token entropy and top-1 hits on every
step (sft-facts §7). On a GPU with long sequences and a large vocabulary that
saves gigabytes. On a CPU it is the slowest part of a small model's step:
profiling SmolLM2-135M (LoRA r16, batch 4) showed its forward and backward
tiles taking ~40% of the step (bench/RESULTS.md). Building the logits of a
few hundred tokens costs ~80 MB there, so on CPU this trainer computes the
same token-mean negative log-likelihood from plain logits with one matmul,
and entropy and top-1 accuracy from the same logits without gradients. The
loss, its gradient and every logged metric are the same quantities TRL logs
(checked to 1e-5 per step in tests/test_trainer.py); on CUDA the fused head
stays.
"""

from __future__ import annotations

from trl import SFTTrainer


class CoachSFTTrainer(SFTTrainer):
    """SFTTrainer whose CPU loss uses plain logits; identical behaviour everywhere else."""

    def _use_plain_logits(self) -> bool:
        args = self.args
        return (
            self.accelerator.device.type == "cpu"
            and args.loss_type == "nll"
            and self.compute_loss_func is None
            and self.label_smoother is None
            and not self.aux_loss_enabled
            and not getattr(args, "padding_free", False)
        )

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if return_outputs or not self._use_plain_logits() or "labels" not in inputs:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        import torch
        import torch.nn.functional as F

        mode = "train" if self.model.training else "eval"
        inputs["use_cache"] = False
        labels = inputs["labels"]
        logits = model(**{k: v for k, v in inputs.items() if k != "labels"}).logits
        # Next-token prediction: position t predicts token t+1, as in TRL's fused head.
        shift_logits = logits[:, :-1, :].float()
        shift_labels = labels[:, 1:]
        label_mask = shift_labels != -100
        flat_logits = shift_logits.reshape(-1, shift_logits.size(-1))
        flat_labels = shift_labels.reshape(-1)
        loss_sum = F.cross_entropy(flat_logits, flat_labels, ignore_index=-100, reduction="sum")
        num_tokens = label_mask.sum() if num_items_in_batch is None else num_items_in_batch
        loss = loss_sum / torch.as_tensor(num_tokens, device=loss_sum.device).clamp(min=1)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * (self.accelerator.num_processes // self.get_tp_size())

        with torch.no_grad():
            valid_logits = flat_logits[label_mask.reshape(-1)]
            log_probs = torch.log_softmax(valid_logits, dim=-1)
            entropy_sum = -(log_probs.exp() * log_probs).sum()
            num_correct = (valid_logits.argmax(dim=-1) == flat_labels[label_mask.reshape(-1)]).sum()
            num_valid = label_mask.sum()
        metrics = self._metrics[mode]
        metrics["entropy"].append((entropy_sum / num_valid).item() if num_valid > 0 else 0.0)
        metrics["mean_token_accuracy"].append((num_correct / num_valid).item() if num_valid > 0 else 0.0)
        if mode == "train":
            self._total_train_tokens += (
                int(inputs["attention_mask"].sum().item())
                if "attention_mask" in inputs
                else (int(inputs["input_ids"].numel()))
            )
        metrics["num_tokens"] = [self._total_train_tokens]
        return loss
