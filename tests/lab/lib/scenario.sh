# Scenario files (tests/lab/scenarios/NAME.scn): parsing and placeholders.
# The format is described in docs/lab.md.
# shellcheck shell=bash

SCEN_DIR=$LAB_DIR/scenarios

# parse_scenario FILE: sets S_* variables; returns 1 with S_ERROR on a bad file
parse_scenario() {
	local file=$1 line key val n=0
	S_DESC="" S_COMMAND="" S_EXPECT="" S_MUST="" S_MUST_NOT="" S_EXIT="" S_STATUS=""
	S_REQUIRES="" S_SKIP="" S_LABFLAGS="default" S_TIMEOUT="" S_ERROR="" S_MAXSECS="" S_HOSTILE=""
	S_FAULTS=() S_LABFLAG=() S_JSON="" S_FIX="" S_NEVER="" S_SUMMARY="" S_EVIDENCE=""
	while IFS= read -r line || [ -n "$line" ]; do
		n=$((n + 1))
		line=${line%$'\r'}
		[[ $line =~ ^[[:space:]]*(#|$) ]] && continue
		if [[ ! $line =~ ^([a-z_]+):[[:space:]]*(.*)$ ]]; then
			S_ERROR="line $n: not 'key: value'"
			return 1
		fi
		key=${BASH_REMATCH[1]} val=${BASH_REMATCH[2]}
		val=${val%"${val##*[![:space:]]}"}
		case $key in
		description) S_DESC=$val ;;
		fault) S_FAULTS+=("$val") ;;
		command) S_COMMAND=$val ;;
		expect) S_EXPECT=$val ;;
		must) S_MUST+=" $val" ;;
		must_not) S_MUST_NOT+=" $val" ;;
		exit) S_EXIT=$val ;;
		status) S_STATUS=$val ;;
		requires) S_REQUIRES+=" $val" ;;
		skip) S_SKIP=$val ;;
		lab_flags) S_LABFLAGS=$val ;;
		lab_flag) S_LABFLAG+=("$val") ;;
		max_seconds) S_MAXSECS=$val ;;
		timeout) S_TIMEOUT=$val ;;
		json) S_JSON+="$val"$'\n' ;;
		fix_contains) S_FIX+="$val"$'\n' ;;
		never_sent) S_NEVER+="$val"$'\n' ;;
		summary_contains) S_SUMMARY+="$val"$'\n' ;;
		evidence) S_EVIDENCE+="$val"$'\n' ;;
		hostile) S_HOSTILE=$val ;;
		*) S_ERROR="line $n: unknown key '$key'"; return 1 ;;
		esac
	done <"$file"
	[ -n "$S_DESC" ] || { S_ERROR="no description"; return 1; }
	[ -n "$S_COMMAND" ] || { S_ERROR="no command"; return 1; }
	[ -n "$S_EXPECT" ] || { S_ERROR="no expect"; return 1; }
	[[ -z $S_EXIT || $S_EXIT =~ ^[0-9]+$ ]] || { S_ERROR="exit is not a number"; return 1; }
	[[ -z $S_MAXSECS || $S_MAXSECS =~ ^[0-9]+(\.[0-9]+)?$ ]] || { S_ERROR="max_seconds is not a number"; return 1; }
	[[ -z $S_HOSTILE || $S_HOSTILE =~ ^(yes|no)$ ]] || { S_ERROR="hostile is yes or no"; return 1; }
	return 0
}

# expand TEXT: replace {NAME} by the lab's value of NAME
expand() {
	local s=$1 out="" name val
	while [[ $s =~ ^([^{]*)\{([A-Z0-9_]+)\}(.*)$ ]]; do
		out+=${BASH_REMATCH[1]}
		name=${BASH_REMATCH[2]}
		s=${BASH_REMATCH[3]}
		case $name in
		PASS_GOOD) val=$LAB_RUN/secrets/good ;;
		PASS_BAD) val=$LAB_RUN/secrets/bad ;;
		CA) val=$CERTS/ca.crt ;;
		RUN) val=$LAB_RUN ;;
		CONFIGS) prepare_configs || return 1; val=$LAB_RUN/configs ;;
		*)
			if [[ -v $name ]]; then val=${!name}; else
				echo "unknown placeholder {$name}" >&2
				return 1
			fi
			;;
		esac
		out+=$val
	done
	printf '%s' "$out$s"
}

# prepare_configs: tests/lab/configs/* (client configuration files) copied
# to $LAB_RUN/configs, owned by the runner and readable by it alone (a
# passwordeval runs only from such a file), with {PASS_GOOD} / {PASS_BAD}
# (the password files) and {PASS_GOOD_TEXT} / {PASS_BAD_TEXT} (their
# contents) filled in
prepare_configs() {
	local f out good bad
	mkdir -p "$LAB_RUN/configs" || return 1
	good=$(cat "$LAB_RUN/secrets/good") bad=$(cat "$LAB_RUN/secrets/bad")
	for f in "$LAB_DIR"/configs/*; do
		out=$LAB_RUN/configs/${f##*/}
		(umask 077; sed -e "s|{PASS_GOOD}|$LAB_RUN/secrets/good|g" \
			-e "s|{PASS_BAD}|$LAB_RUN/secrets/bad|g" \
			-e "s|{PASS_GOOD_TEXT}|$good|g" -e "s|{PASS_BAD_TEXT}|$bad|g" \
			"$f" >"$out") || return 1
	done
}

# requirement_missing WORDS: prints what is missing, if anything
requirement_missing() {
	local r
	for r in $1; do
		case $r in
		alt-mta) [ "$ALTMTA_OK" = 1 ] || echo "second MTA not available" ;;
		smtp-peer) [ -x "$LAB_TOOLS/smtp-peer" ] || echo "tests/lab/tools/smtp-peer missing" ;;
		middlebox) [ -x "$LAB_TOOLS/middlebox" ] || echo "tests/lab/tools/middlebox missing" ;;
		lighttpd) [ -e /usr/lib/lighttpd/mod_openssl.so ] || echo "lighttpd with mod_openssl not installed" ;;
		dns-peer) [ -x "$LAB_TOOLS/dns-peer" ] || echo "tests/lab/tools/dns-peer missing" ;;
		*) echo "unknown requirement $r" ;;
		esac
	done
}


# run_fault_lines: apply S_FAULTS; on failure sets FAULT_ERROR, returns 1
apply_scenario_faults() {
	local f fx
	FAULT_ERROR=""
	for f in "${S_FAULTS[@]}"; do
		fx=$(expand "$f" 2>&1) || { FAULT_ERROR="fault '$f': $fx"; return 1; }
		# not in a subshell: a fault records what faults_clear must undo
		if ! apply_fault "$fx" >"$LAB_RUN/fault.out" 2>&1; then
			FAULT_ERROR="fault '$fx': $(tr '\n\t' '  ' <"$LAB_RUN/fault.out" | cut -c1-300)"
			return 1
		fi
	done
	return 0
}

# scenario_argv: the argument vector for smtpdoctor (without the binary) in
# ARGV; JSON=1 adds --json. Returns 1 with FAULT_ERROR on a bad placeholder.
scenario_argv() {
	local cmd words flags i line name val
	cmd=$(expand "$S_COMMAND" 2>&1) || { FAULT_ERROR="command: $cmd"; return 1; }
	read -ra words <<<"$cmd"
	flags=()
	[ "$S_LABFLAGS" = none ] || flags=("${LAB_FLAGS[@]}")
	# lab_flag: --NAME VALUE replaces that lab flag's value (or adds it)
	for line in "${S_LABFLAG[@]}"; do
		line=$(expand "$line" 2>&1) || { FAULT_ERROR="lab_flag: $line"; return 1; }
		read -r name val <<<"$line"
		for ((i = 0; i < ${#flags[@]}; i++)); do
			if [ "${flags[i]}" = "$name" ]; then flags[i + 1]=$val; continue 2; fi
		done
		flags+=("$name" "$val")
	done
	ARGV=("${words[0]}")
	[ "${JSON:-0}" = 1 ] && ARGV+=(--json)
	ARGV+=("${flags[@]}" "${words[@]:1}")
	SHOWN_COMMAND="smtpdoctor ${words[*]}"
}
