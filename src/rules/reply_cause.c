/* What an SMTP reply means: the provider table (replies.c,
 * data/replies.def) first, then the generic rules of match.c. */
#include <stddef.h>

#include "rules/check_rules.h"
#include "rules/replies.h"
#include "rules/replies_glue.h"

const char *sd_rules_reply_cause(const char *stage, int code,
    const char *enhanced, const char *text, const char **provider,
    const char **explain, const char **hint)
{
	*provider = NULL;
	*explain = NULL;
	*hint = NULL;
	sd_smtp_stage st;
	if (sd_reply_stage_parse(stage, &st) == 0) {
		const sd_reply_rule *row = sd_reply_classify(st, code,
		    enhanced && *enhanced ? enhanced : NULL, text);
		if (row) {
			*provider = row->provider;
			*explain = row->explain;
			*hint = row->hint;
			return row->cause;
		}
	}
	char joined[SD_REPLY_SCAN_MAX];
	sd_reply_text_normalize(text, joined, sizeof joined);
	return sd_rules_generic_cause(stage, code, enhanced, joined);
}
