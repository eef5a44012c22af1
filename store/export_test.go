package store

// DieBeforeFanOut makes s a writer that is killed right after each write's MULTI, before it
// applies the fan-out job the MULTI recorded.
func DieBeforeFanOut(s *Store) { s.leaveFanOutJobs = true }

// FanOutGrace is how long a recorded fan-out job is left to its writer.
const FanOutGrace = fanOutGrace
