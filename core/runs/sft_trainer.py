"""TRL's SFTTrainer with a faster loss on CPU, same numbers.

TRL 1.16 computes the loss through a fused, tiled LM head that projects only
the positions with a label and also returns per-token entropy and top-1 hits
(sft-facts §7). On a GPU with long sequences and a large vocabulary that saves
gigabytes. On a CPU its tiles are the slowest part of a small model's step:
profiling SmolLM2-135M (LoRA r16, batch 4) put its forward and backward at
~44% of the step (bench/RESULTS.md). A few hundred scored tokens times a 49k
vocabulary is ~80 MB of logits, so on CPU this trainer runs the backbone,
keeps the hidden states of the scored positions only, projects them through
the LM head in one matmul, and takes loss, entropy and top-1 accuracy from one
log-softmax. The loss, its gradient and every logged metric are the quantities
TRL logs (checked per step in tests/test_trainer.py); on CUDA, and for models
whose head does more than one matmul, TRL's own path runs.
"""

from __future__ import annotations

from trl import SFTTrainer

# Config fields that make a model's head more than `lm_head(hidden)` (TRL's fused head handles each of them).
_HEAD_MODIFIERS = (
    "final_logit_softcapping", "logit_scale", "output_multiplier", "lm_head_multiplier", "logits_scaling",
)  # fmt: skip


class CoachSFTTrainer(SFTTrainer):
    """SFTTrainer whose CPU loss projects only the scored positions; identical behaviour everywhere else.

    ``stop_watch`` (core/runs/interrupt.py), when set, is armed through each forward/backward pass and each
    evaluation, so Stop ends them where they are.
    """

    stop_watch = None

    def training_step(self, *args, **kwargs):
        if self.stop_watch is None:
            return super().training_step(*args, **kwargs)
        with self.stop_watch.armed():
            return super().training_step(*args, **kwargs)

    eval_rows_between = 0
    """Evaluations before the last step use this many validation rows (0: all); the last one uses every row."""
    _eval_rows = 0

    def evaluate(self, eval_dataset=None, *args, **kwargs):
        rows = self.eval_rows_between
        if eval_dataset is None and rows and self.state.global_step < self.state.max_steps:
            if self.eval_dataset is not None and len(self.eval_dataset) > rows:
                eval_dataset = self.eval_dataset.select(range(rows))  # the same first rows each time: comparable
        chosen = eval_dataset if eval_dataset is not None else self.eval_dataset
        self._eval_rows = len(chosen) if hasattr(chosen, "__len__") else 0
        if self.stop_watch is None:
            return super().evaluate(eval_dataset, *args, **kwargs)
        with self.stop_watch.armed():
            return super().evaluate(eval_dataset, *args, **kwargs)

    def prediction_step(self, *args, **kwargs):
        if self.stop_watch is not None:  # a Stop pressed during the last batch ends the evaluation before the next
            self.stop_watch.check(at_once=True)
        return super().prediction_step(*args, **kwargs)

    def log(self, logs, *args, **kwargs):
        if "eval_loss" in logs and self._eval_rows:
            logs = {**logs, "eval_rows": self._eval_rows}  # the page can tell a bounded evaluation from the last
        return super().log(logs, *args, **kwargs)

    def _plain_head(self, model):
        """The (backbone, lm_head) pair to call directly, or None where TRL's own path must run."""
        args = self.args
        if not (
            self.accelerator.device.type == "cpu"
            and self.accelerator.num_processes == 1  # a DDP wrapper must see the forward to sync gradients
            and args.loss_type == "nll"
            and self.compute_loss_func is None
            and self.label_smoother is None
            and not self.aux_loss_enabled
            and not getattr(args, "padding_free", False)
        ):
            return None
        import torch

        causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model  # PEFT injects LoRA in place
        config = causal_lm.config
        if config.get_text_config() is not config or any(getattr(config, f, None) for f in _HEAD_MODIFIERS):
            return None
        lm_head = causal_lm.get_output_embeddings()
        if type(lm_head) is not torch.nn.Linear or getattr(model, "peft_type", "LORA") not in ("LORA", "LoRA"):
            return None
        return causal_lm.base_model, lm_head

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        head = None if return_outputs or "labels" not in inputs else self._plain_head(model)
        if head is None:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        import torch

        backbone, lm_head = head
        mode = "train" if self.model.training else "eval"
        inputs["use_cache"] = False
        labels = inputs["labels"]
        hidden = backbone(**{k: v for k, v in inputs.items() if k != "labels"}).last_hidden_state
        # Next-token prediction: position t predicts token t+1; only positions with a label are projected.
        shift_labels = labels[:, 1:]
        label_mask = shift_labels != -100
        targets = shift_labels[label_mask]
        log_probs = torch.log_softmax(lm_head(hidden[:, :-1][label_mask]).float(), dim=-1)
        loss_sum = -log_probs.gather(1, targets.unsqueeze(1)).sum()
        num_valid = label_mask.sum()
        num_tokens = num_valid if num_items_in_batch is None else num_items_in_batch
        loss = loss_sum / torch.as_tensor(num_tokens, device=loss_sum.device).clamp(min=1)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * (self.accelerator.num_processes // self.get_tp_size())

        with torch.no_grad():
            scored = log_probs.detach()
            entropy_sum = -(scored.exp() * scored).sum()
            num_correct = (scored.argmax(dim=-1) == targets).sum()
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
