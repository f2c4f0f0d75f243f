/* The names of what records hold: call statuses and forms (record.h). */
#include "record.h"

#include <errno.h>
#include <string.h>

static const char *const form_names[AGG_SLOTS] = { "mono", "decomp", "mono-paired" };

const char *form_name(enum form f)
{
	return (unsigned)f < AGG_SLOTS ? form_names[f] : "?";
}

int form_parse(const char *s)
{
	for (int i = 0; i < FORM_COUNT; i++)
		if (!strcmp(s, form_names[i]))
			return i;
	return -EINVAL;
}

static const char *const status_names[CALL_STATUS_COUNT] = {
	[CALL_OK] = "ok",
	[CALL_ERR_CONNECT] = "connect",
	[CALL_ERR_TIMEOUT] = "timeout",
	[CALL_ERR_HTTP_429] = "http_429",
	[CALL_ERR_HTTP_4XX] = "http_4xx",
	[CALL_ERR_HTTP_5XX] = "http_5xx",
	[CALL_ERR_MALFORMED] = "malformed",
	[CALL_ERR_TRUNCATED] = "truncated",
	[CALL_ERR_TOO_LARGE] = "too_large",
	[CALL_ERR_TRANSPORT] = "transport",
	[CALL_ERR_INTERRUPTED] = "interrupted",
	[CALL_ERR_CLIENT] = "client",
};

const char *call_status_name(enum call_status s)
{
	return (unsigned)s < CALL_STATUS_COUNT ? status_names[s] : "unknown";
}

int call_status_parse(const char *s)
{
	for (int i = 0; i < CALL_STATUS_COUNT; i++)
		if (!strcmp(s, status_names[i]))
			return i;
	return -EINVAL;
}

