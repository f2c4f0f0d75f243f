/*
 * Arrival schedules: when each task of a run is released.
 *
 * Closed loop (-c N alone) has no schedule: a task starts when a slot frees.
 * Open loop (--rate R) releases tasks at R per second whatever the server
 * does, so a slow server builds a queue and every latency is also measured
 * from the scheduled start (no coordinated omission).
 *
 *   constant  arrival n at n / R seconds (the first at 0)
 *   poisson   exponential inter-arrival gaps with mean 1 / R, drawn from
 *             splitmix64 seeded by --seed: the same seed gives the same
 *             schedule on every machine and version (the formula is pinned
 *             by tests/test_load.c)
 *
 * The schedule is a pure generator: no clock, no I/O.
 */
#ifndef AP_SCHEDULE_H
#define AP_SCHEDULE_H

#include <stdint.h>

enum arrival { ARRIVAL_CLOSED = 0, ARRIVAL_CONSTANT, ARRIVAL_POISSON };

struct schedule {
	enum arrival kind;
	double rate;     /* tasks per second, > 0 for the open-loop kinds */
	uint64_t rng;    /* splitmix64 state */
	long n;          /* arrivals handed out */
	double t;        /* time of the last arrival, seconds since run start */
};

/* "constant" / "poisson" -> enum; -EINVAL for anything else. */
int arrival_parse(const char *s);
const char *arrival_name(enum arrival a);

/* 0, or -EINVAL for a rate that is not finite and > 0 (open-loop kinds). */
int schedule_init(struct schedule *s, enum arrival kind, double rate, uint64_t seed);

/* Seconds since the run's start of the next arrival (0 for the first of a
 * constant schedule). Closed loop: always 0 (release at once). */
double schedule_next(struct schedule *s);

/* The uniform draw behind poisson, exposed for tests: (0, 1]. */
double schedule_uniform(uint64_t *state);

#endif
