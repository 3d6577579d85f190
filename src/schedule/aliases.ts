/**
 * Longer names for the schedules whose short names say nothing of being schedules in descent's one
 * flat namespace (`linear` next to the `Linear` layer, `join`, `constant`, …). They are the same
 * functions; the short names stay. The convention is in docs/library.md, "Names".
 */
export {
  linear as linearSchedule,
  constant as constantSchedule,
  exponential as exponentialSchedule,
  cosine as cosineSchedule,
  polynomial as polynomialSchedule,
  join as joinSchedules,
  chain as chainSchedules,
} from './schedules.js';
