"""Every threshold the detectors use, in one place, each with where it comes from.

"AutoTrainer" is Zhang, Zhai, Ma et al., "AUTOTRAINER: An Automatic DNN Training Problem Detection
and Repair System", ICSE 2021 (defaults read from its public monitor: beta_1 = 1e-3, beta_2 = 1e-4,
beta_3 = 70, gamma = 0.7, zeta = 0.03, eta = 0.2, delta = 0.01, Theta = 0.7).  "DeepDiagnosis" is
Wardat, Cruz, Le & Rajan, ICSE 2022.  "TheDeepChecker" is Ben Braiek & Khomh, "Testing Feedforward
Neural Networks Training Programs", ACM TOSEM 2022 (doi:10.1145/3529318).  "Cockpit" is Schneider,
Dangel & Hennig, NeurIPS 2021.  Values marked *trialwise* are this project's choices, set so that the
healthy synthetic family in ``tests/diagnose`` raises no finding (false alarms are the worst failure)
while each failure's synthetic signature is still caught; change them only with that test.
"""

from __future__ import annotations

# -- gradients and units (probe series) --------------------------------------------------------------

VANISHING_RATIO = 1e-3
"""Vanishing gradients when ||g_first|| / ||g_last|| < this (AutoTrainer beta_1)."""

VANISHING_FIRST_NORM = 1e-4
"""... and the first layer's gradient norm itself < this (AutoTrainer beta_2)."""

EXPLODING_RATIO = 70.0
"""Exploding gradients when ||g_first|| / ||g_last|| > this (AutoTrainer beta_3)."""

EXPLODING_GROWTH = 100.0
"""Exploding gradients also when the largest layer gradient norm, over the second half of the probes,
stays above this multiple of its median over the first probes (Pascanu, Mikolov & Bengio, ICML 2013:
"the exploding gradients problem refers to the large increase in the norm of the gradient during
training").  *trialwise* factor: healthy digits training grows ~10x from its small value at
initialisation (uniform predictions), forgotten ``zero_grad`` 300-500x."""

EXPLODING_EARLY = 0.1
"""The reference level of :data:`EXPLODING_GROWTH` is the median of the first this share of probes."""

DEAD_FRAC = 0.7
"""Dying ReLU when at least this share of a layer's units is dead (AutoTrainer gamma = 0.7: share of
zero gradients)."""

SATURATED_FRAC = 0.7
"""Saturated units when at least this share of a layer's sigmoid/tanh units sits in the flat tails.
*trialwise*: AutoTrainer's gamma carried over to saturation (DeepDiagnosis and TheDeepChecker
define the symptom, not a portable number)."""

PROBE_MAJORITY = 0.5
"""A probe threshold counts as crossed when at least this share of the probed steps cross it.
*trialwise*: AutoTrainer reacts to one crossing at an epoch end; a majority is robust to single
batches."""

UPDATE_RATIO_LOW = 1e-4
"""Median ||update|| / ||weight|| below this points at a too-low learning rate.  The rule of thumb
is about 1e-3 (Karpathy, CS231n notes "Neural Networks Part 3", 2016; TheDeepChecker's parameter
update check); *trialwise* flags 10x below it."""

UNNORMALIZED_MEAN = 2.0
"""Inputs count as unnormalized when |median batch mean| exceeds this ... (TheDeepChecker's
pre-training check that inputs are normalized; seed 002 "Should the data be normalized?").
*trialwise* numbers: standardized (mean 0, std 1) and [0, 1]-scaled inputs pass, raw 0-16 or 0-255
pixels fail."""

UNNORMALIZED_STD = 4.0
"""... or the median batch standard deviation exceeds this (see :data:`UNNORMALIZED_MEAN`)."""

# -- learning curves ---------------------------------------------------------------------------------

SATISFIED_ACC = 0.7
"""Satisfactory accuracy when no goal is given (AutoTrainer Theta = 0.7); also the accuracy below
which learning counts as impaired, which gates the probe detectors as AutoTrainer gates its
gradient checks on "not converged"."""

IMPAIRED_LOSS_DROP = 0.1
"""Without accuracy, learning counts as impaired when the smoothed training loss never fell by
this share of its start (DeepDiagnosis: "loss not decreasing").  *trialwise* number."""

NOISE_Z = 3.0
"""A change counts as beyond noise when it exceeds this many noise standard deviations, the noise
being estimated from the series itself (second differences, median absolute deviation)."""

MIN_CURVE_POINTS = 5
"""Shape detectors abstain on curves with fewer finite points.  *trialwise*."""

CHANCE_MARGIN = 0.1
"""Accuracy within this share of the way from chance to perfect (0.09 above 1/10 for 10 classes,
0.05 above 1/2 for two) - or within noise, whichever is wider - counts as chance level.  Seed 002:
"plot performance and check significance"; *trialwise* number."""

CHANCE_MARGIN_MAX = 0.25
"""The noise part of the chance margin (estimated from the second half of the curve) never exceeds
this share of the way from chance to perfect: a short, steep curve must not pass for noise.
*trialwise*."""

CHANCE_LOSS_LOW = 0.95
"""Cross-entropy at or above this share of ln(C) at the end counts as chance level (Karpathy, "A
Recipe for Training Neural Networks", 2019: ln(C) is the loss of uniform predictions)."""

CHANCE_LOSS_HIGH = 1.5
"""... and at or below this multiple of ln(C) (above it the loss is diverging, not flat)."""

INITIAL_LOSS_FACTOR = 3.0
"""The first logged cross-entropy above this multiple of ln(C) flags the initialization
(TheDeepChecker's initial-loss check; Karpathy 2019 "verify loss @ init").  *trialwise* factor."""

INITIAL_LOSS_POINTS = 3
"""The first logged loss counts as the initial loss when the median of the first this many points
is also elevated (:data:`INITIAL_LOSS_SUPPORT`): one noisy batch is not the initialization.
*trialwise*."""

INITIAL_LOSS_SUPPORT = 1.5
"""... above this multiple of ln C: an initial excess that the first updates take down, not one
outlier batch (a first point that is a mean over several logged steps, as Hugging Face's, carries the
excess alone).  *trialwise*."""

INFER_LN_TOL = 0.03
"""A loss within this of ln(C) reads as C classes at uniform predictions, when the script reports
neither ``n_classes`` nor a chance level: the spacing of ln C is 1/C, so C up to ~30 is exact and
larger C are off by a few, which moves 1/C negligibly.  *trialwise*."""

INFER_MAX_CLASSES = 1000
"""Largest number of classes read off a loss."""

INFER_FLAT_SPREAD = 0.15
"""The second half of a smoothed loss is "flat" when its range is within this share of its median."""

DIVERGENCE_FACTOR = 10.0
"""Loss divergence when the smoothed training loss ends above this multiple of its minimum (and
above its start).  AutoTrainer calls a loss >= 1e5 exploded; a relative factor works for any loss
scale.  *trialwise* number."""

REBOUND_GIVEBACK = 0.9
"""Loss divergence when the training loss fell substantially and then gave back at least this share
of its progress (it climbed back to where it started).  *trialwise*."""

REBOUND_FACTOR = 2.0
"""... and ended at least this multiple of its minimum (for positive losses).  *trialwise*."""

MIN_PROGRESS = 0.2
"""A loss "learned something" when its smoothed minimum is this share below its start.  *trialwise*."""

SLOW_START_FRAC = 0.25
"""Slow start when the first tenth of the loss decrease happens only after this share of training
(AutoTrainer's "slow convergence"; seed 002 "hasn't started learning yet").  An exponential decay
reaches it at about 0.1 x its time constant, so healthy curves pass.  *trialwise*."""

SLOW_START_SHARE = 0.1
"""The share of the total decrease that marks the end of the flat start (see :data:`SLOW_START_FRAC`)."""

SLOW_START_PROGRESS = 0.3
"""Slow start needs the loss to fall by at least this share of its start overall (it does learn)."""

WARMUP_FACTOR = 2.0
"""A learning rate that grows by this factor during the flat start is a warm-up: no slow-start
finding.  *trialwise*."""

LR_DECAYED = 0.01
"""A learning rate that ends below this share of its maximum has decayed: a plateau then points at
"learning rate too low" first (seed 002).  *trialwise*."""

PLATEAU_SPAN = 0.4
"""Plateau: the last this share of training is flat ...  *trialwise*."""

PLATEAU_FLAT = 0.05
"""... changing by less than this share of its level (or than noise) ..."""

PLATEAU_LEVEL = 0.5
"""... at a level still at least this share of ln(C) (or of the starting loss): "plateaus at a
strangely low performance" (seed 002).  *trialwise*."""

OSC_LEVEL = 0.3
"""Loss oscillation is only judged while the loss stays above this share of its start (a curve
converged near its floor is noise, not bouncing).  *trialwise*."""

OSC_MIN_DECREASE = 0.1
"""... and when the second half does not fall by this share of its level, nor by twice its bounce
amplitude (seed 002 "loss bounces" means it is not decreasing)."""

OSC_REL = 0.2
"""Oscillation amplitude: robust spread of the (block-)averaged loss around its trend, relative to
its level, at least this.  AutoTrainer uses zeta = 0.03 on accuracy; on a loss a relative amplitude
is needed.  *trialwise*."""

OSC_NOISE_RATIO = 3.0
"""... and at least this multiple of the spread that per-step noise alone would give the block
medians (the bounces are slower than batch noise: "bounces over epochs")."""

OSC_FLIPS = 0.3
"""For per-epoch curves: at least this share of consecutive changes flip sign (AutoTrainer eta = 0.2
counts local maxima/minima pairs; *trialwise* 0.3 on flips)."""

SBN_CV = 0.4
"""Small-batch noise: per-step loss varies by at least this relative robust spread around its local
trend (a batch-mean cross-entropy has relative spread ~1/sqrt(batch); seed 002 "minibatch size is too
small"; Cockpit; McCandlish et al. 2018).  Measured on a digits MLP over the band of
:data:`SBN_BAND`: batch 2: 0.41-0.46, 4: 0.32-0.47, 8: 0.30, 16: 0.17-0.32, 32: 0.17-0.21, 64: 0.18,
so only the smallest batches are flagged.  *trialwise*, deliberately conservative."""

SBN_BAND = (0.15, 0.7)
"""... measured during the first descent of the trend from this upper to this lower share of its
start: at the start every example has the same loss and near 0 a few hard examples make any batch
size noisy, so only the middle levels tell batch sizes apart."""

SBN_WINDOW = 21
"""Width (steps) of the running median that serves as the local trend (Tukey 1977)."""

SBN_MIN_POINTS = 30
"""Fewest per-step points in the band for the spread to be judged."""

SBN_MAX_BATCH = 16
"""A run whose config says a larger batch size is never flagged."""

SBN_DECREASE = 0.7
"""... while the trend itself falls below this share of its start ("the epoch means decrease fine")."""

OVERFIT_RISE = 0.2
"""Overfitting: the validation loss ends at least this share above its minimum (or beyond noise,
whichever is larger) ... *trialwise*."""

OVERFIT_AFTER = 2
"""... on each of the last this many evaluations (a single bad epoch is not a trend)."""

OVERFIT_GAP_LOW = 0.1
"""Accuracy gap train - val that counts as overfitting when train accuracy <= 0.9 (AutoTrainer)."""

OVERFIT_GAP_HIGH = 0.07
"""... and when train accuracy > 0.9 (AutoTrainer)."""

OVERFIT_GAP_SWITCH = 0.9
"""Train accuracy at which AutoTrainer switches from :data:`OVERFIT_GAP_LOW` to :data:`OVERFIT_GAP_HIGH`."""

OVERFIT_TRAIN_FIT = 0.98
"""A train accuracy this high with a gap past the threshold is overfitting even when the gap did not
widen (it opened in the first epoch: a small training set memorised at once).  Seed 004: variance =
val error - train error, whatever its history.  *trialwise*."""

UNDERFIT_TOL = 0.02
"""Underfitting when the training metric misses the goal by more than this (accuracy units) or than
noise.  Seed 004's example calls a 1-point gap "okay"; *trialwise* draws the line at 2 points."""

NEAR_PERFECT = 0.995
"""Validation accuracy at or above this ... (seed 002 "suspiciously good performance") ..."""

EARLY_FRAC = 0.1
"""... within the first this share of training, or at the first evaluation, is suspicious and, with
nothing else, points at leakage.  *trialwise*: good MNIST CNNs reach 0.98-0.99 after one epoch, so
"near perfect" is set above that."""

SUSPICIOUS_MARGIN = 0.05
"""Validation accuracy above training accuracy by more than this (or noise) ..."""

SUSPICIOUS_LOSS_RATIO = 0.5
"""... or validation loss below this share of the training loss ..."""

SUSPICIOUS_CONSISTENT = 0.8
"""... in at least this share of the evaluations after the first :data:`SUSPICIOUS_SKIP` of
training, and still over the last third (an epoch-averaged training metric lags the model by half
an epoch and dropout is active in training: early epochs often look like this; Keras FAQ).
*trialwise*."""

SUSPICIOUS_SKIP = 0.2
"""See :data:`SUSPICIOUS_CONSISTENT`."""

RANDOM_LABELS_MEMO = 0.2
"""Random labels: while validation stays at chance, training accuracy climbs at least this share of
the way from chance to perfect (memorisation; Zhang et al., ICLR 2017).  *trialwise*."""

FORGET_PEAK = 0.5
"""Catastrophic forgetting: accuracy first reaches this share of the way from chance to perfect ..."""

FORGET_DROP = 0.3
"""... then loses at least this share of its gain over chance, on each of the last
:data:`OVERFIT_AFTER` evaluations, while the training loss keeps most of its progress.  *trialwise*."""

FORGET_BELOW_CHANCE = 0.5
"""Training accuracy below this share of chance and of validation accuracy (itself at least this share
of chance): the model systematically predicts the previous block's class - the trace of
class-sorted data.  *trialwise*."""

FORGET_ZERO_ACC = 0.01
"""Without a stated number of classes, a training accuracy at most this (below half the chance of 50
classes) counts as below chance for the class-sorted signature above.  *trialwise*."""

FORGET_HIT_HIGH = 0.9
"""Per-step accuracy >= this where its neighbours are at most 0.5, or ..."""

FORGET_HIT_LOW = 0.1
"""... <= this where its neighbours are at least 0.8: a block of one class learned or forgotten at
once, impossible for shuffled batches (binomial tail; *trialwise*)."""

FORGET_EXCESS = 10.0
"""Such steps must be this many times more frequent than the binomial model of shuffled batches
predicts ..."""

FORGET_MIN_EPISODES = 3
"""... and at least this many, in at least this many separate episodes (a fast rise at the start of
training is one episode)."""

FORGET_MIN_BATCH = 4
"""Per-step accuracy with fewer distinct levels (batch size < 4) cannot show it."""

GAP_TOL = 0.02
"""Test - validation accuracy gap above this (or noise) is validation overfitting (seed 004: val
overfitting = test - val error; its example calls 1 point okay).  *trialwise* 2 points."""

GAP_TOL_REL = 0.1
"""The same for losses, relative to the validation loss.  *trialwise*."""

SHIFT_MIN = 0.05
"""Distribution shift: the test - validation accuracy gap is at least this ..."""

SHIFT_MIN_REL = 0.25
"""(for losses, relative) ..."""

SHIFT_FACTOR = 2.0
"""... and this many times the validation - training gap (validation tracks training, the second
evaluation set does not: seed 004 "assumes training, validation, and test come from the same
distribution").  *trialwise*."""

# -- windows, minimum sizes and evidence weights (*trialwise* conventions) ------------------------------

HEAD = 0.05
"""A loss curve's start level is the median of its first this share of (block-median) points."""

TAIL = 0.1
"""... its end level the median of its last this share."""

FINAL = 0.2
"""An accuracy's final level is the median of its last this share of evaluations (at least one)."""

MIN_EVALS = 3
"""Comparisons between curves (validation vs training) need at least this many evaluations."""

MIN_SHAPE_POINTS = 8
"""Plateau and oscillation judge the second half or last 40% of a curve: they need this many points."""

MIN_FALL = 0.01
"""A loss "keeps falling" when it drops by more than this share of its level (and beyond noise)."""

STILL_FALLING_FROM = 0.75
""""Still falling at the end" is judged over the curve after this share of training (last quarter)."""

INITIAL_WINDOW = 0.01
"""The initial loss is only judged when logging starts within this share of the run."""

SUMMED_LOSS_TOL = 0.3
"""An initial loss within this relative distance of batch_size x ln(C) points at a summed loss."""

OVERFIT_MIN_POSITION = 0.8
"""Overfitting needs the validation minimum before this share of the evaluations."""

EARLY_MINIMUM = 0.5
"""A validation minimum before this share of training promotes "trained past the best epoch"."""

FORGET_KEEP = 0.5
"""Forgetting (not divergence) when the training loss keeps at least this share of its progress."""

FORGET_MIN_STEPS = 50
"""Per-step accuracy needs this many points to show class blocks."""

FORGET_NEIGHBOURS = 3
"""A step is compared with the median of this many steps on each side."""

FORGET_LOW_LEVEL = 0.5
"""Neighbours at or below this level make a near-perfect batch a block hit ..."""

FORGET_HIGH_LEVEL = 0.8
"""... and neighbours at or above this level make a near-zero batch one."""

BINOMIAL_CLIP = 0.02
"""Local accuracies are clipped to [this, 1 - this] in the binomial model of shuffled batches."""

MEDIAN_SE = 1.2533
"""sqrt(pi / 2): standard error of a median of b Gaussian values is this x sigma / sqrt(b)."""

STRENGTH_STRONG = 0.9
"""Evidence strength of signatures that shuffled, healthy training cannot produce (class blocks,
training accuracy below chance)."""

STRENGTH_MEDIUM = 0.8
"""... of qualitative signatures without a graded excess (a loss that climbed back; a loss at ln C;
validation consistently better than training)."""

STRENGTH_WEAK = 0.6
"""... of the same when the run's config explains part of it (dropout) or only a weaker signal was
seen (an accuracy gap without a rising validation loss)."""

DEFAULT_GOAL_DISCOUNT = 0.7
"""Underfitting judged against AutoTrainer's default accuracy instead of a user goal counts this much."""

# -- issue 15: evidence the curves alone do not give ---------------------------------------------------

SMALL_EVAL_HALFWIDTH = 0.1
"""The validation set is too small when the 95% Wilson interval of its final accuracy is at least
this wide on each side ("0.95 on 20 examples" is anything from 0.76 to 0.99): seed 002, "Suspiciously
good performance - Cause: Test dataset too small - Diagnostic: Is there stochasticity in test accuracy
between training runs?".  *trialwise* 10 points: the resolution at which an accuracy still ranks
configurations (seed 004 calls a 1-point gap okay, trialwise's other rules judge 2-5 points)."""

GRANULARITY_MAX_N = 200
"""The size of an evaluation set is read off its accuracies (every value a multiple of 1/n) only up
to this n: larger sets are never too small by :data:`SMALL_EVAL_HALFWIDTH`."""

GRANULARITY_TOL = 2e-4
"""... with this tolerance on ``value * n`` being whole (float32 accuracies printed with 4+ digits)."""

GRANULARITY_MIN_DISTINCT = 3
"""... and only from at least this many distinct values (two could share any denominator)."""

RANDOM_LABELS_LOSS = 0.8
"""Random labels without a training accuracy: the training loss ends below this share of ln C
(memorising) while the validation loss ends at or above ln C and the validation accuracy at chance
(Zhang et al., ICLR 2017: the training loss of random labels goes to 0, the test loss grows).
*trialwise*."""

LR_TINY = 1e-5
"""A learning rate that never exceeds this is too low for any optimizer: 30x below seed 004's
"sensible default" (Adam 3e-4) and 100-10,000x below the defaults of PyTorch's optimizers (Adam 1e-3,
SGD 1e-2..1e-1 in common recipes).  *trialwise*."""

LR_STILL_WARMING = 10.0
"""A learning rate that grew by this factor over the run and peaks in its last tenth never finished
its warm-up: the run trained at a fraction of the intended rate.  *trialwise*."""

EARLY_RISE = 2.0
"""Learning rate too high: within the first :data:`HEAD` of training the loss rises to this multiple
of its first logged value (at initialisation a classifier's loss should fall from ln C, not climb:
Smith, "Cyclical Learning Rates", WACV 2017, the LR range test reads a too-high rate where the loss
starts to climb; trialwise's ``lr_range_test``).  *trialwise* factor."""

HOCKEY_POINTS = 5
"""Bad initialisation without a stated number of classes is reported with what the loss falls to over
this many logged steps after the first three ("hockey stick": the first few iterations only undo the
initial scale; Karpathy, "A Recipe for Training Neural Networks", 2019)."""

PER_STEP_FACTOR = 3
"""A training loss counts as logged per step (not per epoch) when it has at least this many times the
points of the validation curves."""

STEADY_GROWTH = 0.9
"""Accumulating gradients: the gradient norm's block medians rise with the step with a Spearman
correlation of at least this (a steady climb, not spikes: the catalog's diagnostic for a missing
``zero_grad``).  *trialwise*."""

CONSTANT_REL = 1e-6
"""The weights never changed: the validation loss varies by less than this share of its level over
every evaluation (bit-identical evaluations up to float printing)."""

VAL_DIP = 0.05
"""Small-batch noise matters when a validation accuracy falls from one evaluation to the next by more
than this (or than 3 binomial standard errors of the evaluation set, when its size is known): seed
002, "Loss bounces ... Minibatch size is too small"; issue 15 item 4.  AutoTrainer's oscillation
amplitude on accuracy is zeta = 0.03; *trialwise* takes 5 points, above the dips of healthy digits runs
(<= 3 points on 360 examples)."""

MEMORISED = 0.98
"""Overfitting first blames too little data when the training accuracy reached this (the training
set is memorised): seed 004 lists "add more training data" first."""
