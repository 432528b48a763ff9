/*
 * The exporter's own lag (exporter.h): the largest of two windows, the
 * current one and the one before, so that a spike counts for one to two
 * windows and the lag of a machine whose CPU came back is forgotten.
 */
#include "exporter/exporter.h"

void sd_lag_add(sd_lag *l, int64_t now_ms, int64_t lag_ms)
{
	sd_lag_recent(l, now_ms);
	if (lag_ms > l->cur_ms)
		l->cur_ms = lag_ms;
}

int64_t sd_lag_recent(sd_lag *l, int64_t now_ms)
{
	if (now_ms - l->start_ms >= 2 * SD_LAG_WINDOW_MS) {
		/* nothing seen for two windows (or never) */
		l->start_ms = now_ms;
		l->cur_ms = l->prev_ms = 0;
	} else if (now_ms - l->start_ms >= SD_LAG_WINDOW_MS) {
		l->start_ms += SD_LAG_WINDOW_MS;
		l->prev_ms = l->cur_ms;
		l->cur_ms = 0;
	}
	return l->cur_ms > l->prev_ms ? l->cur_ms : l->prev_ms;
}

int64_t sd_lag_reserve_ms(int64_t lag_ms, int64_t offset_ms, int64_t cap_ms)
{
	int64_t r = 3 * lag_ms - offset_ms / 2;
	if (r > cap_ms)
		r = cap_ms;
	return r > 0 ? r : 0;
}
