"""Every threshold the curve rules use, each with why it sits where it does (sft-facts §4 for the healthy ranges).

Calibrated on simulated curves (30-5,000 points, 5-30% multiplicative or 0.1-0.25 additive noise, hard
batches, warmup; 300 seeds each): at most 1 in 300 false alarms, all at the extreme noise levels.
"""

MIN_POINTS = 10  # below this, per-step noise dominates any shape
MIN_PROGRESS = 0.05  # share of the run's steps before a diagnosis is offered
ZERO_RUN = 3  # consecutive exact-zero losses that mean nothing carries loss
START_WINDOW = 5  # points whose median is "where the loss started"
SPIKE_FACTOR = 3.0  # a spike is this many times the recent median ...
SPIKE_MIN_RISE = 0.5  # ... and at least this much higher (nats), so tiny low losses don't count
SPIKE_WINDOW = 20  # losses before a point that form its reference median
SPIKE_RECENT = 5  # a spike among the last this many points that has not come back down is an alarm
SPIKES_FOR_UNSTABLE = 3  # this many spikes anywhere, if also SPIKE_SHARE of the points, make a run unstable ...
SPIKE_SHARE = 0.01  # ... so rare hard batches in a 5,000-step run don't
GRAD_EXPLOSION_FACTOR = 10.0  # a recent grad norm this many times the earlier median
DIVERGENCE_RISE = 0.20  # smoothed loss this far above its earlier low
DIVERGENCE_NOISE_Z = 6.0  # ... and this many noise standard errors of a window median above it
OSCILLATION_NOISE = 0.75  # recent step-to-step noise / median: this much is oscillation whatever came before
OSCILLATION_GROWTH = 3.0  # ... or noise this many times the earlier noise ...
OSCILLATION_GROWN_NOISE = 0.2  # ... once it is also this share of the median
OSCILLATION_MIN_NOISE = 0.15  # and never for swings under this many nats (tiny losses jitter in relative terms)
OVERFIT_EVALS = 2  # evaluations after the best one, all worse
OVERFIT_RISE = 0.03  # the last one at least this much above the best (relative), beyond eval jitter
OVERFIT_MIN_RISE = 0.02  # ... and this many nats: near 0 (a templated task), 0.006 -> 0.007 is jitter, not a rise
OVERFIT_TRAIN_FALL = 0.02  # and the smoothed training loss at least this much lower than at the best one
MEMORISATION_LOSS = 0.1  # mean NLL 0.1: the right token gets e^-0.1 ~ 90% probability (geometric mean)
UNDERFIT_DROP = 0.10  # relative drop from the start that counts as learning
UNDERFIT_PROGRESS = 0.25  # share of the run before a flat loss counts as underfitting
HEALTHY_START = (2, 4)  # where a pretrained model's SFT loss usually starts (sft-facts §4)
HEALTHY_END = (0.5, 1.5)  # where a healthy SFT loss usually settles (sft-facts §4)
HEALTHY_GAP = 0.3  # validation within 30% of training "tracks it with a small gap" (§4); more is worth a mention
HEALTHY_GAP_FLOOR = 0.05  # ... or within this many nats: near 0, 0.006 vs 0.009 is 36% apart and means nothing
