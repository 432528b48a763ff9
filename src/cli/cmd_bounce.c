/*
 * `smtpdoctor bounce [FILE|-]`: explains a message that came back.  Reads
 * the bounce (bounce/bounce.h), records it as facts, optionally runs the
 * probes that confirm the cause now (--recheck), and judges
 * (rules/bounce_rules.h).  Exit: 1 failed delivery, 0 delayed (warn) or
 * delivered, 3 cause not named, 2 not a message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounce/bounce.h"
#include "cli/cli.h"
#include "report/report.h"
#include "rules/bounce_rules.h"

int sd_cmd_bounce(sd_cli *cli)
{
	if (cli->n_positional > 1)
		return sd_cli_usage_error(cli, "bounce takes one FILE (or -)");
	const char *path = cli->n_positional ? cli->positional[0] : "-";
	size_t len = 0;
	char *text = sd_cli_read(path, SD_BOUNCE_MAX_INPUT, &len);
	int err = errno;
	if (!text)
		return sd_cli_usage_error(cli, "%s: %s", path, err == EFBIG ?
		    "larger than 64 MiB: not a bounce this tool reads" :
		    strerror(err));
	sd_bounce b;
	int rc = sd_bounce_parse(text, len, &b);
	if (rc == 0 && b.kind == SD_BOUNCE_NOT_MESSAGE) {
		int binary = b.binary;
		sd_bounce_free(&b);
		free(text);
		return sd_cli_usage_error(cli, "%s: not a message (%s)", path,
		    len == 0 ? "empty" : binary ? "binary data" :
		    "no mail header fields and no delivery report in it");
	}
	sd_report *r = rc == 0 ? sd_report_new("bounce") : NULL;
	if (r) {
		sd_bounce_facts(r, &b);
		sd_bounce_rules(r);
		r->elapsed_ms = sd_report_t_ms(r);
	}
	sd_bounce_free(&b);
	free(text);
	int ex = sd_cli_render(cli, r);
	sd_report_free(r);
	return ex;
}
