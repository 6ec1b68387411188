"""The simulator's world model: residents, routines, gait, walker signals, robots, truth.

Pure numpy/scipy, no networking. Everything is deterministic for a given seed: random
numbers come from generators derived from the seed and a key (:func:`derive_rng`), never
from global state. Timestamps are float seconds since 1970-01-01T00:00:00Z (``*_s``) or
timezone-aware UTC datetimes; days are local calendar days (Europe/Oslo by default).

Layers, from slow to fast:

* :mod:`.residents` -- stays and outcomes (:func:`simulate_stays`, :func:`expected_effect`);
* :mod:`.routine` -- a resident's day (:func:`plan_day`);
* :mod:`.gait` -- steps and walker motion;
* :mod:`.signals` -- walker sensor arrays (:func:`synthesize_day`, :func:`synthesize_bout`);
* :mod:`.robot` -- activation-robot sessions (:func:`plan_robot_sessions`);
* :mod:`.truth` -- ground truth and its JSON Lines writer (:func:`write_truth`);
* :mod:`.world` -- all of it together for the device layer (:class:`World`).

See ``docs/simulator.md``.
"""

from firmware_sim.world._rng import derive_rng, derive_seed, str_key
from firmware_sim.world._time import (
    DEFAULT_TZ,
    EPOCH,
    from_epoch_s,
    local_date_of,
    local_day_bounds_s,
    to_epoch_s,
)
from firmware_sim.world.devices import GRAVITY_MPS2, WalkerHardware, make_walker
from firmware_sim.world.gait import (
    Turn,
    WalkKinematics,
    cadence_spm,
    generate_steps,
    step_length_m,
    walk_kinematics,
)
from firmware_sim.world.residents import (
    DESTINATIONS,
    STAY_TYPES,
    Destination,
    EffectSummary,
    GaitTraits,
    RecoveryModel,
    Resident,
    Stay,
    expected_effect,
    simulate_stays,
)
from firmware_sim.world.robot import (
    EXERCISES,
    Exercise,
    ExerciseBlock,
    Repetition,
    RobotCandidate,
    RobotSession,
    SitToStandTest,
    five_times_sts_expected_s,
    plan_robot_sessions,
    rep_duration_expected_s,
)
from firmware_sim.world.routine import (
    BOUT_DURATION_MEDIAN_S,
    Activity,
    DayPlan,
    Excursion,
    Segment,
    expected_walking_min,
    plan_day,
)
from firmware_sim.world.signals import (
    DaySignals,
    ExcursionSignals,
    SignalChunk,
    excursion_truth,
    iter_day_signals,
    reference_resident,
    synthesize_bout,
    synthesize_day,
    synthesize_excursion,
    synthesize_parked,
)
from firmware_sim.world.truth import (
    AssignmentTruth,
    BoutTruth,
    ExcursionTruth,
    StepSequence,
    TransitionTruth,
    TruthLog,
    read_truth,
    write_truth,
)
from firmware_sim.world.world import WalkerDay, World, WorldConfig, assign_walkers

__all__ = [
    "BOUT_DURATION_MEDIAN_S",
    "DEFAULT_TZ",
    "DESTINATIONS",
    "EPOCH",
    "EXERCISES",
    "GRAVITY_MPS2",
    "STAY_TYPES",
    "Activity",
    "AssignmentTruth",
    "BoutTruth",
    "DayPlan",
    "DaySignals",
    "Destination",
    "EffectSummary",
    "Excursion",
    "ExcursionSignals",
    "ExcursionTruth",
    "Exercise",
    "ExerciseBlock",
    "GaitTraits",
    "RecoveryModel",
    "Repetition",
    "Resident",
    "RobotCandidate",
    "RobotSession",
    "Segment",
    "SignalChunk",
    "SitToStandTest",
    "Stay",
    "StepSequence",
    "TransitionTruth",
    "TruthLog",
    "Turn",
    "WalkKinematics",
    "WalkerDay",
    "WalkerHardware",
    "World",
    "WorldConfig",
    "assign_walkers",
    "cadence_spm",
    "derive_rng",
    "derive_seed",
    "excursion_truth",
    "expected_effect",
    "expected_walking_min",
    "five_times_sts_expected_s",
    "from_epoch_s",
    "generate_steps",
    "iter_day_signals",
    "local_date_of",
    "local_day_bounds_s",
    "make_walker",
    "plan_day",
    "plan_robot_sessions",
    "read_truth",
    "reference_resident",
    "rep_duration_expected_s",
    "simulate_stays",
    "step_length_m",
    "str_key",
    "synthesize_bout",
    "synthesize_day",
    "synthesize_excursion",
    "synthesize_parked",
    "to_epoch_s",
    "walk_kinematics",
    "write_truth",
]
