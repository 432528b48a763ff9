/*
 * `smtpdoctor completion bash|zsh|fish`: the shell completion scripts,
 * made from the option table so that they never miss an option.  The
 * build installs their output.
 */
#include <string.h>

#include "cli/options.h"

/* The words of an option, "--server" (or "-4" for a short-only one). */
static void opt_word(FILE *out, const sd_cli_option *o)
{
	if (o->name[0])
		fprintf(out, "--%s", o->name);
	else
		fprintf(out, "-%c", o->short_name);
}

/* Options of `bits` (exactly), as a space-separated word list. */
static void words_of(FILE *out, unsigned bits)
{
	for (const sd_cli_option *o = sd_cli_options; o->help[0]; o++) {
		if (!sd_cli_option_of(o, bits))
			continue;
		opt_word(out, o);
		fputc(' ', out);
	}
}

/* A string in single quotes for sh-like shells ('\'' for a quote). */
static void squote(FILE *out, const char *s)
{
	fputc('\'', out);
	for (; *s; s++)
		if (*s == '\'')
			fputs("'\\''", out);
		else
			fputc(*s, out);
	fputc('\'', out);
}

/*
 * The shell's way to complete an option's value; forms: [0] nothing to
 * offer, [1] a file, [2] an environment variable, [3] a command, [4] a
 * word list (its "%s").
 */
static void value_action(FILE *out, int id, const char *const forms[5])
{
	const char *v = sd_cli_value_words(id);
	int k = !v ? 0 : strcmp(v, "@file") == 0 ? 1 :
	    strcmp(v, "@var") == 0 ? 2 : strcmp(v, "@cmd") == 0 ? 3 : 4;
	fprintf(out, forms[k], v ? v : "");
}

static void bash(FILE *out)
{
	fprintf(out, "# bash completion for smtpdoctor "
	    "(made by: smtpdoctor completion bash)\n"
	    "_smtpdoctor() {\n"
	    "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
	    "\tlocal cmd= i w\n\tlocal valued=' ");
	for (const sd_cli_option *o = sd_cli_options; o->help[0]; o++)
		if (o->arg[0]) {
			opt_word(out, o);
			fputc(' ', out);
		}
	fprintf(out, "'\n"
	    "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	    "\t\tw=${COMP_WORDS[i]}\n"
	    "\t\tif [[ $valued == *\" $w \"* ]]; then ((i++)); continue; fi\n"
	    "\t\t[[ $w == -* ]] && continue\n"
	    "\t\tcmd=$w; break\n"
	    "\tdone\n"
	    "\tcase $prev in\n");
	for (const sd_cli_option *o = sd_cli_options; o->help[0]; o++) {
		if (!o->arg[0])
			continue;
		static const char *const forms[5] = {
			") return ;;\n",
			") COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n",
			") COMPREPLY=($(compgen -v -- \"$cur\")); return ;;\n",
			") COMPREPLY=($(compgen -c -- \"$cur\")); return ;;\n",
			") COMPREPLY=($(compgen -W '%s' -- \"$cur\")); return ;;\n",
		};
		fputc('\t', out);
		opt_word(out, o);
		value_action(out, o->id, forms);
	}
	fprintf(out, "\tesac\n\tlocal opts='");
	words_of(out, SD_CMD_ALL);
	fprintf(out, "'\n\tcase $cmd in\n");
	for (const sd_cli_command *c = sd_cli_commands; c->name[0]; c++) {
		if (!c->bit)
			continue;
		fprintf(out, "\t%s) opts+='", c->name);
		words_of(out, c->bit);
		fprintf(out, "' ;;\n");
	}
	fprintf(out, "\thelp) COMPREPLY=($(compgen -W '");
	for (const sd_cli_command *c = sd_cli_commands; c->name[0]; c++)
		fprintf(out, "%s ", c->name);
	fprintf(out, "' -- \"$cur\")); return ;;\n"
	    "\tcompletion) COMPREPLY=($(compgen -W 'bash zsh fish' -- "
	    "\"$cur\")); return ;;\n"
	    "\t'') if [[ $cur != -* ]]; then COMPREPLY=($(compgen -W '");
	for (const sd_cli_command *c = sd_cli_commands; c->name[0]; c++)
		fprintf(out, "%s ", c->name);
	fprintf(out, "' -- \"$cur\")); return; fi ;;\n"
	    "\tesac\n"
	    "\tif [[ $cur == -* ]]; then\n"
	    "\t\tCOMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
	    "\telse\n"
	    "\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
	    "\tfi\n"
	    "}\n"
	    "complete -F _smtpdoctor smtpdoctor\n");
}

/* One _arguments spec: '*--server[the outgoing server]:HOST: '. */
static void zsh_spec(FILE *out, const sd_cli_option *o)
{
	char help[300];
	size_t n = 0;
	/* [ ] and : are the spec's own syntax; the spec is single-quoted */
	for (const char *s = o->help; *s && n + 5 < sizeof help; s++) {
		if (*s == '\'') {
			memcpy(help + n, "'\\''", 4);
			n += 4;
			continue;
		}
		if (*s == '[' || *s == ']' || *s == ':' || *s == '\\')
			help[n++] = '\\';
		help[n++] = *s;
	}
	help[n] = '\0';
	static const char *const forms[5] = {
		": '", ":_files'", ":_parameters'", ":_command_names'", ":(%s)'",
	};
	fprintf(out, "\t\t'%s", o->arg[0] ? "*" : "");
	opt_word(out, o);
	fprintf(out, "[%s]", help);
	if (o->arg[0]) {
		fprintf(out, ":%s", o->arg);
		value_action(out, o->id, forms);
	} else {
		fputc('\'', out);
	}
	fputs(" \\\n", out);
}

static void zsh(FILE *out)
{
	fprintf(out, "#compdef smtpdoctor\n"
	    "# zsh completion for smtpdoctor "
	    "(made by: smtpdoctor completion zsh)\n"
	    "_smtpdoctor() {\n"
	    "\tlocal curcontext=$curcontext state line\n"
	    "\tlocal -a globals commands\n"
	    "\tglobals=(\n");
	for (const sd_cli_option *o = sd_cli_options; o->help[0]; o++)
		if (sd_cli_option_of(o, SD_CMD_ALL))
			zsh_spec(out, o);
	fprintf(out, "\t)\n\tcommands=(\n");
	for (const sd_cli_command *c = sd_cli_commands; c->name[0]; c++) {
		char item[300];
		snprintf(item, sizeof item, "%s:%s", c->name, c->summary);
		fputs("\t\t", out);
		squote(out, item);
		fputc('\n', out);
	}
	fprintf(out, "\t)\n"
	    "\t_arguments -C $globals '1:command:->command' '*::argument:->argument'\n"
	    "\tcase $state in\n"
	    "\tcommand) _describe command commands ;;\n"
	    "\targument)\n"
	    "\t\tcase $line[1] in\n");
	for (const sd_cli_command *c = sd_cli_commands; c->name[0]; c++) {
		if (!c->bit)
			continue;
		fprintf(out, "\t\t%s) _arguments $globals \\\n", c->name);
		for (const sd_cli_option *o = sd_cli_options; o->help[0]; o++)
			if (sd_cli_option_of(o, c->bit))
				zsh_spec(out, o);
		fprintf(out, "\t\t\t'*:file:_files' ;;\n");
	}
	fprintf(out, "\t\thelp) _describe command commands ;;\n"
	    "\t\tcompletion) _values shell bash zsh fish ;;\n"
	    "\t\tesac ;;\n"
	    "\tesac\n"
	    "}\n"
	    "_smtpdoctor \"$@\"\n");
}

static void fish_option(FILE *out, const sd_cli_option *o, const char *cond)
{
	fprintf(out, "complete -c smtpdoctor");
	if (cond)
		fprintf(out, " -n '__fish_seen_subcommand_from %s'", cond);
	if (o->name[0])
		fprintf(out, " -l %s", o->name);
	if (o->short_name)
		fprintf(out, " -s %c", o->short_name);
	static const char *const forms[5] = {
		" -x", " -r -F", " -x -a '(set -xn)'",
		" -x -a '(__fish_complete_command)'", " -x -a '%s'",
	};
	if (o->arg[0])
		value_action(out, o->id, forms);
	fprintf(out, " -d ");
	squote(out, o->help);
	fputc('\n', out);
}

static void fish(FILE *out)
{
	fprintf(out, "# fish completion for smtpdoctor "
	    "(made by: smtpdoctor completion fish)\n"
	    "complete -c smtpdoctor -f\n");
	for (const sd_cli_command *c = sd_cli_commands; c->name[0]; c++) {
		fprintf(out, "complete -c smtpdoctor -n __fish_use_subcommand "
		    "-a %s -d ", c->name);
		squote(out, c->summary);
		fputc('\n', out);
	}
	for (const sd_cli_option *o = sd_cli_options; o->help[0]; o++) {
		/* the commands it belongs to, or none for a global option */
		char owners[200] = "";
		for (const sd_cli_command *c = sd_cli_commands; c->name[0]; c++)
			if (c->bit && sd_cli_option_of(o, c->bit))
				snprintf(owners + strlen(owners), sizeof owners -
				    strlen(owners), "%s%s", *owners ? " " : "",
				    c->name);
		fish_option(out, o, *owners ? owners : NULL);
	}
	fprintf(out, "complete -c smtpdoctor -n '__fish_seen_subcommand_from "
	    "explain bounce' -F\n"
	    "complete -c smtpdoctor -n '__fish_seen_subcommand_from help' "
	    "-a '");
	for (const sd_cli_command *c = sd_cli_commands; c->name[0]; c++)
		fprintf(out, "%s ", c->name);
	fprintf(out, "'\ncomplete -c smtpdoctor -n "
	    "'__fish_seen_subcommand_from completion' -a 'bash zsh fish'\n");
}

int sd_cli_completion(FILE *out, const char *shell)
{
	if (strcmp(shell, "bash") == 0)
		bash(out);
	else if (strcmp(shell, "zsh") == 0)
		zsh(out);
	else if (strcmp(shell, "fish") == 0)
		fish(out);
	else
		return -1;
	return 0;
}
