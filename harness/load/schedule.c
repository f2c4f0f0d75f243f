/* Arrival schedules (schedule.h). */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "schedule.h"

int arrival_parse(const char *s)
{
	if (!strcmp(s, "constant"))
		return ARRIVAL_CONSTANT;
	if (!strcmp(s, "poisson"))
		return ARRIVAL_POISSON;
	return -EINVAL;
}

const char *arrival_name(enum arrival a)
{
	switch (a) {
	case ARRIVAL_CONSTANT: return "constant";
	case ARRIVAL_POISSON: return "poisson";
	default: return "closed";
	}
}

/* splitmix64 (Steele, Lea, Flood 2014): tiny, well mixed, and its sequence
 * is fixed by its constants, so a seed names one schedule forever. */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

double schedule_uniform(uint64_t *state)
{
	/* 53 random bits, shifted into (0, 1] so that log() never sees 0 */
	return ((double)(splitmix64(state) >> 11) + 1.0) / 9007199254740992.0;
}

int schedule_init(struct schedule *s, enum arrival kind, double rate, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	if (kind != ARRIVAL_CLOSED && !(isfinite(rate) && rate > 0))
		return -EINVAL;
	s->rate = rate;
	s->rng = seed;
	return 0;
}

double schedule_next(struct schedule *s)
{
	switch (s->kind) {
	case ARRIVAL_CONSTANT:
		/* n / R, not a running sum, so no rounding drift over long runs */
		s->t = (double)s->n / s->rate;
		break;
	case ARRIVAL_POISSON:
		if (s->n > 0)
			s->t += -log(schedule_uniform(&s->rng)) / s->rate;
		break;
	default:
		s->t = 0;
		break;
	}
	s->n++;
	return s->t;
}
