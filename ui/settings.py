"""Step 3, Settings: the model and the training numbers, each explained."""

from __future__ import annotations

import gradio as gr

from core.config import ConfigError, RunConfig
from core.models import default_model_id, list_models


def build_settings_step(config_state: gr.State) -> dict:
    """Lay out the Settings step; writes the chosen values into ``config_state``."""
    defaults = RunConfig()
    model = gr.Dropdown(
        choices=[(c.label, c.model_id) for c in list_models()],
        value=default_model_id(),
        label="Model",
        info="Offline models work without internet; Hub models need it. You can also type a local model folder.",
        allow_custom_value=True,
        elem_id="model-choice",
    )
    steps = gr.Slider(
        10,
        500,
        value=defaults.max_steps,
        step=10,
        label="Training steps",
        elem_id="max-steps",
        info="Quick demo: 60 steps of LoRA, a few minutes on 2 CPU cores.",
    )
    message = gr.Markdown()

    def update(model_id: str, max_steps: float, values: dict):
        try:
            config = RunConfig.from_dict({**values, "model_id": model_id, "max_steps": int(max_steps)})
        except ConfigError as err:
            return gr.skip(), f"**Can't use this:** {err}"
        return config.to_dict(), ""

    for control in (model, steps):
        control.change(update, [model, steps, config_state], [config_state, message])
    return {"model": model, "steps": steps}
